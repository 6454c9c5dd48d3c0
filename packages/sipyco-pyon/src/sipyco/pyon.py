"""PYON: the text format SiPyCo uses on the wire and in files.

Two versions exist and both are read and written here:

* **v1** (upstream sipyco 1.8) is a Python-expression syntax:
  ``{"a": (1, 2), "b": nparray((3, ), "<i8", b"...")}``.  :func:`encode`
  writes it exactly as upstream does.
* **v2** (upstream sipyco 1.10) is JSON, with the types JSON lacks written as
  ``{"__jsonclass__": [NAME, ARGS]}``.  :func:`encode_v2` writes it.

:func:`decode` reads either version and works out which one it was given:
text that is valid JSON is read as v2 (any v1 text that is also JSON means
the same thing in v2), anything else as v1.  Decoding **never evaluates** the
text: v1 is read by a parser that only knows PYON's own literals and
constructors, so text from the network cannot run code, compute huge values or
exhaust the stack.  Refusals raise :class:`~sipyco.errors.DecodeError` (a
``ValueError``) that names the offset.

Differences from upstream, all deliberate:

* characters outside the Basic Multilingual Plane come back as themselves;
* an empty set is written ``{*()}`` in v1 (upstream writes ``{}``, which
  reads back as a dict); upstream's reader also evaluates it to a set;
* a 0-d array keeps its shape ``()``;
* arrays of object dtype are refused with :class:`~sipyco.errors.EncodeError`
  (a ``TypeError``) instead of being written as memory addresses; every
  encode error names the type and where it sits, e.g. ``x["a"][2]``;
* structured arrays are written with their field list (``dtype.descr``)
  rather than the lossy ``"|V12"`` form, which upstream readers accept too;
* :func:`register` adds application types.

Application types are written as a call ``Name(arg, ...)`` in v1 and as
``{"__jsonclass__": ["Name", [arg, ...]]}`` in v2::

    pyon.register(Point, to_args=lambda p: (p.x, p.y))

Each :class:`Codec` has its own registry and limits; the module-level
functions use a default codec whose registry :func:`register` extends.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ._pyon import decode_v1 as _reader_v1
from ._pyon import decode_v2 as _reader_v2
from ._pyon.b64 import ACCELERATED
from ._pyon.decode_v1 import DEFAULT_MAX_DEPTH
from ._pyon.decode_v2 import make_decoder
from ._pyon.encode_v1 import EMPTY_SET_V1, build_v1
from ._pyon.encode_v2 import build_v2, prettify_v2
from ._pyon.files import atomic_write
from ._pyon.locate import explain_failure
from ._pyon.registry import Registry
from ._pyon.specials import V1_CALLS, V2_CLASSES
from .errors import DecodeError, EncodeError, PyonError

__all__ = [
    "encode", "encode_v2", "decode", "decode_v1", "decode_v2", "writer",
    "store_file", "load_file", "register", "unregister",
    "Codec", "Registry", "DecodeError", "EncodeError", "PyonError",
    "EMPTY_SET_V1", "DEFAULT_MAX_DEPTH", "ACCELERATED", "DEFAULT_VERSION",
]

class Codec:
    """A PYON reader and writer with its own type registry and limits.

    ``registry``: application types (a new empty one by default);
    ``max_depth``: deepest container nesting accepted when reading v1, and
    reported when writing a structure too deep (or cyclic) to write.
    """

    def __init__(self, registry: Registry | None = None, *,
                 max_depth: int = DEFAULT_MAX_DEPTH):
        if not isinstance(max_depth, int) or max_depth < 1:
            raise ValueError("max_depth must be a positive int")
        self.registry = Registry() if registry is None else registry
        self.max_depth = max_depth
        self._built_for = None

    def _tables(self):
        version = self.registry.version
        if self._built_for != version:
            v1_calls = dict(V1_CALLS)
            v2_classes = dict(V2_CLASSES)
            for name, entry in self.registry.by_name().items():
                v1_calls[name] = entry.from_args
                v2_classes[name] = entry.from_args
            self._v1 = build_v1(self.registry, pretty=False)
            self._v2 = build_v2(self.registry)
            self._v1_calls = v1_calls
            self._v2_classes = v2_classes
            self._json = make_decoder(v2_classes)
            self._built_for = version
        return self

    def _run(self, writer, x) -> str:
        try:
            return writer(x)
        except Exception as exc:  # noqa: BLE001 - explained, with its path, below
            error = exc
        raise explain_failure(x, writer, self.max_depth, error)

    def writer(self, version: int) -> Callable[[Any], str]:
        """The bare compact writer of PYON ``version`` (1 or 2), for protocol
        code that composes messages from parts: ``writer(2)(x)`` is
        ``encode_v2(x)``, minus the explanation when ``x`` cannot be written
        (it then raises some exception: call :meth:`encode` or
        :meth:`encode_v2` to learn which value and why).  Fetch it for each
        message: registering a type makes a new one."""
        t = self._tables()
        if version == 1:
            return t._v1
        if version == 2:
            return t._v2
        raise ValueError(f"PYON version must be 1 or 2, not {version!r}")

    def encode(self, x: Any, pretty: bool = False) -> str:
        """PYON v1 text for ``x``; ``pretty`` spreads dicts over several lines.

        Raises :class:`EncodeError` (a ``TypeError``) naming the type and path
        of the first value it cannot write.
        """
        t = self._tables()
        writer = build_v1(self.registry, pretty=True) if pretty else t._v1
        return self._run(writer, x)

    def encode_v2(self, x: Any, pretty: bool = False) -> str:
        """PYON v2 (JSON) text for ``x``; compact unless ``pretty``."""
        text = self._run(self._tables()._v2, x)
        return prettify_v2(text) if pretty else text

    def decode(self, s: str | bytes) -> Any:
        """Read PYON v1 or v2 text (detected automatically)."""
        s = _as_text(s)
        t = self._tables()
        return _reader_v2.decode_v2(s, t._json, self._decode_v1_text)

    def decode_v1(self, s: str | bytes) -> Any:
        """Read PYON v1 text only (JSON ``__jsonclass__`` objects stay plain dicts)."""
        return self._decode_v1_text(_as_text(s))

    def decode_v2(self, s: str | bytes) -> Any:
        """Read PYON v2 (JSON) text only."""
        return _reader_v2.decode_v2(_as_text(s), self._tables()._json)

    def _decode_v1_text(self, s: str) -> Any:
        return _reader_v1.decode_v1(s, self._tables()._v1_calls, self.max_depth)

    def store_file(self, filename: str | os.PathLike, x: Any) -> None:
        """Write ``x`` as pretty PYON v1 to ``filename``, atomically (see :func:`store_file`)."""
        atomic_write(filename, (self.encode(x, pretty=True) + "\n").encode("utf-8"))

    def load_file(self, filename: str | os.PathLike) -> Any:
        """Read a PYON v1 or v2 file."""
        with open(filename, encoding="utf-8") as f:
            return self.decode(f.read())


def _as_text(s) -> str:
    if isinstance(s, str):
        return s
    if isinstance(s, (bytes, bytearray, memoryview)):
        try:
            return (s if isinstance(s, bytes) else bytes(s)).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"text is not UTF-8: {exc.reason}", exc.start) from None
    raise TypeError(f"PYON text must be str or bytes, not {type(s).__name__}")


def _version_from_environment() -> int:
    text = os.environ.get("SIPYCO_PYON_VERSION", "1").strip()
    if text not in ("1", "2"):
        raise ImportError(f"SIPYCO_PYON_VERSION must be 1 or 2, not {text!r}: it chooses "
                          "the PYON version sipyco.pyon writes (1 as sipyco 1.8, 2 as 1.10)")
    return int(text)


#: The PYON version this process writes where no one chose one: 1 (as
#: sipyco 1.8 does; the default) or 2 (as 1.10 does), read once, at import,
#: from the environment variable ``SIPYCO_PYON_VERSION``.
DEFAULT_VERSION = _version_from_environment()

_default_registry = Registry()
_default = Codec(_default_registry)


#: The default codec's bare writer of a PYON version (see :meth:`Codec.writer`).
writer = _default.writer


def encode(x: Any, pretty: bool = False) -> str:
    """Serialize ``x`` as PYON v1 text (ASCII, one line unless ``pretty``)."""
    return _default.encode(x, pretty)


def encode_v2(x: Any, pretty: bool = False) -> str:
    """Serialize ``x`` as PYON v2 (JSON) text, as upstream sipyco 1.10 writes it."""
    return _default.encode_v2(x, pretty)


def decode(s: str | bytes) -> Any:
    """Rebuild the value from PYON v1 or v2 text, never evaluating it.

    Raises :class:`DecodeError` (a ``ValueError``) naming the offset.
    """
    return _default.decode(s)


def decode_v1(s: str | bytes) -> Any:
    """Rebuild a value from PYON v1 text only."""
    return _default.decode_v1(s)


def decode_v2(s: str | bytes) -> Any:
    """Rebuild a value from PYON v2 (JSON) text only."""
    return _default.decode_v2(s)


def store_file(filename: str | os.PathLike, x: Any) -> None:
    """Write ``x`` to ``filename`` as pretty PYON v1, atomically.

    The value is encoded first, then written to a temporary file in the same
    directory, flushed and fsynced, and moved over ``filename`` with
    ``os.replace``: a crash at any point leaves either the old file or the new
    one, never a truncated one.
    """
    _default.store_file(filename, x)


def load_file(filename: str | os.PathLike) -> Any:
    """Read a file written as PYON v1 or v2."""
    return _default.load_file(filename)


def register(cls: type, *, name: str | None = None,
             to_args: Callable[[Any], tuple | list],
             from_args: Callable[..., Any] | None = None) -> type:
    """Add an application type to the default codec.

    ``to_args(obj)`` returns the encodable arguments that describe ``obj``;
    ``from_args(*args)`` (default: ``cls``) rebuilds it.  ``name`` (default:
    the class name) is what appears in the text.  Returns ``cls``.
    """
    return _default_registry.register(cls, name=name, to_args=to_args, from_args=from_args)


def unregister(cls: type) -> None:
    """Remove an application type from the default codec."""
    _default_registry.unregister(cls)
