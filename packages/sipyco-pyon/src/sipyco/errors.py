"""The one exception hierarchy shared by every SiPyCo distribution.

Everything this library raises on its own account derives from
:class:`SipycoError`.  Each concrete class also derives from the builtin
exception that code written for upstream sipyco already catches in that
situation (``ValueError`` for undecodable text, ``TypeError`` for values that
cannot be encoded, and so on), so existing ``except`` clauses keep working.
"""

from __future__ import annotations

__all__ = [
    "SipycoError",
    "PyonError",
    "EncodeError",
    "DecodeError",
]


class SipycoError(Exception):
    """Root of every exception raised by SiPyCo itself."""


class PyonError(SipycoError):
    """A value or a text could not be converted by the PYON codec."""


class EncodeError(PyonError, TypeError):
    """A value cannot be written as PYON.

    ``path`` locates the offending value inside the structure handed to the
    encoder, written as Python indexing on ``x`` (for example ``x["a"][2]``);
    ``type_name`` is the qualified name of its type.
    """

    def __init__(self, reason: str, path: str = "x", type_name: str | None = None):
        self.reason = reason
        self.path = path
        self.type_name = type_name
        super().__init__(f"{reason} (at {path})")


class DecodeError(PyonError, ValueError):
    """A text is not valid PYON, or asks for something PYON refuses to build.

    ``offset`` is the 0-based character offset in the text where the problem
    was found, or ``None`` when it cannot be tied to one place.
    """

    def __init__(self, reason: str, offset: int | None = None):
        self.reason = reason
        self.offset = offset
        where = "" if offset is None else f" at offset {offset}"
        super().__init__(f"{reason}{where}")
