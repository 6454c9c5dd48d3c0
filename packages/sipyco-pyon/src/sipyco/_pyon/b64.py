"""Base64 for array payloads, using pybase64 when it is installed.

pybase64 is an optional accelerator (``pip install sipyco-pyon[fast]``): it
decodes about thirty times faster than :mod:`binascii` and can decode straight
into a ``bytearray``, which saves a copy when building writable arrays.
Without it the standard library is used and results are identical.
"""

from __future__ import annotations

import binascii
import sys

try:  # pragma: no cover - depends on the environment
    import pybase64 as _pybase64
except ImportError:  # pragma: no cover - depends on the environment
    _pybase64 = None

__all__ = ["ACCELERATED", "encode_ascii", "decode_writable"]

ACCELERATED = _pybase64 is not None


def _b2a(data) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


if _pybase64 is not None:

    def encode_ascii(data) -> str:
        """Base64 of a buffer, as an ASCII ``str``."""
        return _pybase64.b64encode(data).decode("ascii")

    def decode_writable(text: str | bytes) -> bytearray:
        """Strictly decode base64 into a fresh, writable buffer.

        Raises ``ValueError`` (``binascii.Error``) on characters outside the
        base64 alphabet or bad padding.
        """
        return _pybase64.b64decode_as_bytearray(text, validate=True)

else:
    encode_ascii = _b2a

    if sys.version_info >= (3, 11):

        def decode_writable(text: str | bytes) -> bytearray:
            """Strictly decode base64 into a fresh, writable buffer."""
            if isinstance(text, str):
                text = text.encode("ascii")
            return bytearray(binascii.a2b_base64(text, strict_mode=True))

    else:  # pragma: no cover - Python 3.10
        import base64 as _base64

        def decode_writable(text: str | bytes) -> bytearray:
            """Strictly decode base64 into a fresh, writable buffer."""
            return bytearray(_base64.b64decode(text, validate=True))
