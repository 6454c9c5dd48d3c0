"""PYON: the text format SiPyCo uses on the wire and in files.

Two versions exist and both are read and written here:

* **v1** (upstream sipyco 1.8) is a Python-expression syntax:
  ``{"a": (1, 2), "b": nparray((3, ), "<i8", b"...")}``.  :func:`encode_v1`
  writes it exactly as upstream does.
* **v2** (upstream sipyco 1.10) is JSON, with the types JSON lacks written as
  ``{"__jsonclass__": [NAME, ARGS]}``.  :func:`encode_v2` writes it, exactly
  as 1.10 does.

:func:`encode` and :func:`store_file` write the version :data:`DEFAULT_VERSION`
names: v1 (as sipyco 1.8 does, the default) unless the environment variable
``SIPYCO_PYON_VERSION`` was ``2`` when this module was imported, which makes
them write v2 as sipyco 1.10's do (for a lab whose other programs run 1.10).
:mod:`sipyco.pyon_v1` always writes v1.

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
    # or, in sipyco 1.10's form:
    pyon.register([Point], name="Point", encode=lambda p: [p.x, p.y],
                  decode=Point)

Each :class:`Codec` has its own registry and limits; the module-level
functions use a default codec whose registry :func:`register` extends.

Names and keywords of sipyco 1.10 that programs use:

* :func:`wrap`, which 1.10 encode functions of registered types call on the
  arguments they return: here it returns its argument unchanged, because
  whatever an encode function returns is written recursively anyway.
* ``_numpy_scalar``: the names of the numpy scalar types written as
  ``npscalar`` (``"int8"`` ... ``"complex128"``), each a ``numpy`` attribute;
  a dashboard builds an evaluation namespace from it.
* Extra keywords of :func:`encode`, :func:`store_file` (1.10 hands them to
  ``json.dumps``), :func:`decode` and :func:`load_file` (to ``json.loads``).
  The text is fixed by compatibility, so each is accepted only with a value
  that asks for what is done anyway: ``indent`` ``None`` or ``4`` (the
  compact or pretty layout), ``sort_keys`` true exactly when pretty,
  ``separators`` the pair the layout writes, ``ensure_ascii=True``,
  ``allow_nan=True``, ``skipkeys=False``, ``check_circular`` either,
  ``cls``/``default``/``object_hook``/``object_pairs_hook``/
  ``parse_constant`` ``None``, ``parse_float`` ``None``/``float``,
  ``parse_int`` ``None``/``int``, ``strict=True``.  Another value is a
  ``ValueError`` naming the keyword and the value; any other keyword is a
  ``TypeError`` naming it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from ._pyon import decode_v1 as _reader_v1
from ._pyon import decode_v2 as _reader_v2
from ._pyon.b64 import ACCELERATED
from ._pyon.budget import DEFAULT_MAX_ITEMS, check_items, check_max_items
from ._pyon.decode_v1 import DEFAULT_MAX_DEPTH
from ._pyon.decode_v2 import make_decoder
from ._pyon.encode_v1 import EMPTY_SET_V1, build_v1
from ._pyon.encode_v2 import build_v2, prettify_v2
from ._pyon.files import atomic_write
from ._pyon.gcpause import PAUSE_GC_OVER, paused_gc
from ._pyon.locate import explain_failure
from ._pyon.options import check_decode_options, check_encode_options
from ._pyon.pieces import NotInPieces, read_in_pieces
from ._pyon.registry import _UNSET, Registry
from ._pyon.specials import NPSCALAR_NAMES, V1_CALLS, V2_CLASSES
from ._pyon.v1_fast import DECLINED, FAST_OVER, decode_fast
from .errors import DecodeError, EncodeError, PyonError

__all__ = [
    "encode", "encode_v1", "encode_v2", "decode", "decode_v1", "decode_v2", "writer",
    "decode_in_pieces",
    "store_file", "load_file", "register", "unregister", "deregister", "wrap",
    "Codec", "Registry", "DecodeError", "EncodeError", "PyonError",
    "EMPTY_SET_V1", "DEFAULT_MAX_DEPTH", "DEFAULT_MAX_ITEMS", "ACCELERATED", "DEFAULT_VERSION",
]

def _refusal(exc: NotInPieces, text: str, as_json: bool = True) -> DecodeError | None:
    """The error of a text refused while read in pieces, without reading it
    again whole (which, for a long text, would hold the interpreter lock
    as long as the whole reading): the piece's own error, at its place in
    the text, or the reason the pieces did not fit together.  None for a
    failure the whole reading words otherwise (nesting past the scanner's
    recursion limit, numbers past the interpreter's digit limit): those
    fail early in a whole reading too."""
    cause = exc.__cause__
    if isinstance(cause, RecursionError) or (
            isinstance(cause, ValueError) and not isinstance(cause, (DecodeError,
                                                                      json.JSONDecodeError))):
        return None
    if isinstance(cause, _reader_v2.Refused):  # a __jsonclass__ refused
        return cause.error(str(cause), cause.offset_in(text))
    if isinstance(cause, json.JSONDecodeError):
        return DecodeError(f"invalid JSON: {cause.msg}", exc.offset)
    if isinstance(cause, DecodeError):
        return cause.moved_to(exc.offset)
    return DecodeError(f"invalid JSON: {exc.reason}" if as_json else exc.reason, exc.offset)


class Codec:
    """A PYON reader and writer with its own type registry and limits.

    ``registry``: application types (a new empty one by default);
    ``max_depth``: deepest container nesting accepted when reading v1, and
    reported when writing a structure too deep (or cyclic) to write;
    ``max_items``: most values one text may hold (default
    :data:`DEFAULT_MAX_ITEMS`, 2**22); a text over it is refused with
    :class:`~sipyco.errors.TooManyItems` before anything is built;
    ``version``: the PYON version :meth:`encode` and :meth:`store_file`
    write, 1 or 2 (default: :data:`DEFAULT_VERSION`).  Reading always
    accepts both; :meth:`encode_v1` and :meth:`encode_v2` write their own
    version whatever ``version`` is.
    """

    def __init__(self, registry: Registry | None = None, *,
                 max_depth: int = DEFAULT_MAX_DEPTH, version: int | None = None,
                 max_items: int = DEFAULT_MAX_ITEMS):
        if not isinstance(max_depth, int) or max_depth < 1:
            raise ValueError("max_depth must be a positive int")
        self.max_items = check_max_items(max_items)
        if version is None:
            version = DEFAULT_VERSION
        if version not in (1, 2) or type(version) is not int:
            raise ValueError(f"PYON version must be 1 or 2, not {version!r}")
        self.registry = Registry() if registry is None else registry
        self.max_depth = max_depth
        self.version = version
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

    def encode(self, x: Any, pretty: bool = False, **options: Any) -> str:
        """PYON text for ``x`` in this codec's ``version``: :meth:`encode_v1`
        when it is 1, :meth:`encode_v2` when it is 2.  ``pretty`` (default
        false) asks for the multi-line layout of that method.  ``options``:
        sipyco 1.10's ``json.dumps`` keywords, checked (see :func:`encode`).
        Raises :class:`EncodeError` (a ``TypeError``) for a value it cannot
        write."""
        if options:
            pretty = check_encode_options("encode", self.version, pretty, options)
        if self.version == 2:
            return self.encode_v2(x, pretty)
        return self.encode_v1(x, pretty)

    def encode_v1(self, x: Any, pretty: bool = False) -> str:
        """PYON v1 text for ``x``; ``pretty`` spreads dicts over several lines.

        Raises :class:`EncodeError` (a ``TypeError``) naming the type and path
        of the first value it cannot write.
        """
        t = self._tables()
        writer = build_v1(self.registry, pretty=True) if pretty else t._v1
        return self._run(writer, x)

    def encode_v2(self, x: Any, pretty: bool = False) -> str:
        """PYON v2 (JSON) text for ``x``; compact (byte for byte as sipyco
        1.10 writes it) unless ``pretty``, which indents four spaces per level
        and sorts the keys of plain JSON objects."""
        text = self._run(self._tables()._v2, x)
        return prettify_v2(text) if pretty else text

    def _text(self, s: str | bytes, max_items: int | None) -> str:
        s = _as_text(s)
        check_items(s, self.max_items if max_items is None else check_max_items(max_items))
        return s

    def decode(self, s: str | bytes, *, max_items: int | None = None, **options: Any) -> Any:
        """Read PYON v1 or v2 text (detected automatically).  ``max_items``:
        this call's limit instead of the codec's.  ``options``: sipyco 1.10's
        ``json.loads`` keywords, checked (see :func:`decode`)."""
        if options:
            check_decode_options("decode", options)
        return self._read(self._read_any, self._text(s, max_items))

    def decode_v1(self, s: str | bytes, *, max_items: int | None = None) -> Any:
        """Read PYON v1 text only (JSON ``__jsonclass__`` objects stay plain dicts).

        ``s`` is the text: a str, or UTF-8 ``bytes``, ``bytearray`` or
        ``memoryview``; ``max_items`` is this call's limit on the number of
        values (default ``None``: the codec's own).
        Raises :class:`DecodeError` (a ``ValueError``) naming the offset for
        a refused text, including bytes that are not UTF-8, and its subclass
        :class:`~sipyco.errors.TooManyItems` for one over ``max_items``;
        ``TypeError`` for any other type of ``s``; ``ValueError`` if
        ``max_items`` is not a positive int."""
        return self._read(self._decode_v1_text, self._text(s, max_items))

    def decode_v2(self, s: str | bytes, *, max_items: int | None = None) -> Any:
        """Read PYON v2 (JSON) text only.

        ``s`` and ``max_items`` (default ``None``: the codec's own limit) are
        as for :meth:`decode_v1`, and so are the errors raised."""
        return self._read(self._read_v2, self._text(s, max_items))

    def decode_in_pieces(self, s: str | bytes, *, max_items: int | None = None,
                         v2_only: bool = False) -> Any:
        """:meth:`decode` (or, with ``v2_only``, :meth:`decode_v2`) for a
        reader in a worker thread.  A long container is read in pieces of
        about 64 KiB, each one call into the C scanner, so that the other
        threads (an asyncio event loop) run between them instead of waiting
        for the whole text; see ``sipyco/_pyon/pieces.py``.  The same value
        as the ordinary readers, for a little more work.  A refused text
        raises the same kind of :class:`DecodeError` (for a refused value,
        word for word; for broken syntax, found by the piece that holds it,
        so its words and offset may differ slightly), without the text being
        read again whole.  ``s`` and ``max_items`` (default ``None``: the
        codec's own limit) are as for :meth:`decode_v1`, and so are the
        errors raised; ``v2_only`` defaults to false."""
        return self._read(self._read_v2_in_pieces if v2_only else self._read_any_in_pieces,
                          self._text(s, max_items))

    def _read_any_in_pieces(self, s: str) -> Any:
        if '"' not in s and ("(" in s or "'" in s):
            return self._v1_in_pieces(s)
        try:
            return self._json_in_pieces(s)
        except NotInPieces as exc:
            if not exc.refused:
                return self._read_any(s)  # a shape left to the ordinary readers
            if _refusal(exc, s) is None:
                return self._read_any(s)
            if isinstance(exc.__cause__, _reader_v2.Refused):
                raise _refusal(exc, s) from None  # valid JSON, refused: as decode_v2 does
        return self._v1_in_pieces(s)  # not JSON: v1, as _read_any would find

    def _read_v2_in_pieces(self, s: str) -> Any:
        try:
            return self._json_in_pieces(s)
        except NotInPieces as exc:
            error = _refusal(exc, s) if exc.refused else None
            if error is not None:
                raise error from None
        return self._read_v2(s)

    def _json_in_pieces(self, s: str) -> Any:
        decoder = self._tables()._json
        return read_in_pieces(s, lambda piece, level: decoder.decode(piece),
                              object_hook=decoder.object_hook)

    def _v1_in_pieces(self, s: str) -> Any:
        calls = self._tables()._v1_calls

        def piece(text: str, level: int) -> Any:
            depth = self.max_depth - level
            value = decode_fast(text, calls, depth)
            if value is DECLINED:
                value = _reader_v1.decode_v1(text, calls, depth)
            return value

        def guess(text: str, level: int) -> Any:
            value = decode_fast(text, calls, self.max_depth - level)
            if value is DECLINED:
                raise NotInPieces("left to the v1 reader")  # (which is slower)
            return value

        try:
            return read_in_pieces(s, piece, v1=True, guess_piece=guess)
        except NotInPieces as exc:
            error = _refusal(exc, s, as_json=False) if exc.refused else None
            if error is not None:
                raise error from None
        return self._decode_v1_text(s)  # a shape left to the ordinary reader

    @staticmethod
    def _read(reader: Callable[[str], Any], s: str) -> Any:
        if len(s) < PAUSE_GC_OVER:
            return reader(s)
        with paused_gc():  # a large text: see gcpause
            return reader(s)

    def _read_any(self, s: str) -> Any:
        if '"' not in s and ("(" in s or "'" in s):
            # no JSON string anywhere, yet a parenthesis or a quote: not JSON
            return self._decode_v1_text(s)
        return _reader_v2.decode_v2(s, self._tables()._json, self._decode_v1_text)

    def _read_v2(self, s: str) -> Any:
        return _reader_v2.decode_v2(s, self._tables()._json)

    def _decode_v1_text(self, s: str) -> Any:
        calls = self._tables()._v1_calls
        if len(s) >= FAST_OVER:
            value = decode_fast(s, calls, self.max_depth)
            if value is not DECLINED:
                return value
        return _reader_v1.decode_v1(s, calls, self.max_depth)

    def store_file(self, filename: str | os.PathLike, x: Any, **options: Any) -> None:
        """Write ``x`` to ``filename`` as pretty PYON of this codec's
        ``version``, atomically (see :func:`store_file`)."""
        if options:
            check_encode_options("store_file", self.version, True, options,
                                 always_pretty=True)
        self._store(filename, self.encode(x, pretty=True))

    def store_file_v1(self, filename: str | os.PathLike, x: Any) -> None:
        """Write ``x`` to ``filename`` as pretty PYON v1, whatever ``version`` is."""
        self._store(filename, self.encode_v1(x, pretty=True))

    @staticmethod
    def _store(filename, text: str) -> None:
        atomic_write(filename, (text + "\n").encode("utf-8"))

    def load_file(self, filename: str | os.PathLike, *, max_items: int | None = None,
                  **options: Any) -> Any:
        """Read a PYON v1 or v2 file (``options``: as for :meth:`decode`).

        ``filename`` is the path of the file, read as UTF-8 text;
        ``max_items`` (default ``None``: the codec's own limit) is as for
        :meth:`decode`.  Raises ``OSError`` if the file cannot be opened,
        ``UnicodeDecodeError`` if it is not UTF-8, and :class:`DecodeError`
        (a ``ValueError``) if its text is refused."""
        if options:
            check_decode_options("load_file", options)
        with open(filename, encoding="utf-8") as f:
            return self.decode(f.read(), max_items=max_items)


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


def encode(x: Any, pretty: bool = False, **options: Any) -> str:
    """Serialize ``x`` as PYON text (ASCII, one line unless ``pretty``).

    The version is :data:`DEFAULT_VERSION`: v1 (as sipyco 1.8 writes it,
    :func:`encode_v1`) by default; v2 when ``SIPYCO_PYON_VERSION=2`` was set
    at import, written exactly as sipyco 1.10's ``encode`` writes it
    (compact JSON, :func:`encode_v2`).  With ``pretty`` and v2 the text is
    ``encode_v2(x, pretty=True)``: indented JSON with sorted keys, this
    library's pretty form (1.10's own pretty layout could not be compared
    and may differ in whitespace or key order; the value is the same).

    Raises :class:`EncodeError` (a ``TypeError``) naming the type and path
    of the first value it cannot write.

    ``options`` are sipyco 1.10's keywords for ``json.dumps``, accepted only
    with a value that asks for what this writer does anyway (the text is
    fixed by compatibility): ``indent=None`` (the compact layout) or
    ``indent=4`` (the same as ``pretty=True``; it must not contradict an
    explicit ``pretty=True``); ``sort_keys`` true with the pretty layout
    (which sorts str keys), false with the compact one; ``separators`` the
    pair the layout writes (v1: ``(", ", ": ")``; v2: ``(",", ":")``
    compact, ``(",", ": ")`` pretty); ``ensure_ascii=True``;
    ``allow_nan=True``; ``skipkeys=False``; ``check_circular`` either (a
    cycle is always an ``EncodeError``); ``cls=None`` and ``default=None``
    (add types with :func:`register`).  Any other value raises
    ``ValueError`` naming the keyword and the value; any other keyword
    raises ``TypeError`` naming it.
    """
    return _default.encode(x, pretty, **options)


def encode_v1(x: Any, pretty: bool = False) -> str:
    """Serialize ``x`` as PYON v1 text, as sipyco 1.8 writes it, whatever
    :data:`DEFAULT_VERSION` is.

    With ``pretty`` (default false), every dict of two or more entries is
    written one entry per line, indented four spaces per level, with str
    keys sorted.  Raises :class:`EncodeError` (a ``TypeError``) naming the
    type and path of the first value it cannot write."""
    return _default.encode_v1(x, pretty)


def encode_v2(x: Any, pretty: bool = False) -> str:
    """Serialize ``x`` as PYON v2 (JSON) text, as upstream sipyco 1.10 writes
    it, whatever :data:`DEFAULT_VERSION` is (``pretty``: indented, sorted keys)."""
    return _default.encode_v2(x, pretty)


def decode(s: str | bytes, *, max_items: int | None = None, **options: Any) -> Any:
    """Rebuild the value from PYON v1 or v2 text, never evaluating it.

    Raises :class:`DecodeError` (a ``ValueError``) naming the offset.  A text
    that may hold more than ``max_items`` values (default
    :data:`DEFAULT_MAX_ITEMS`) is refused with its subclass
    :class:`~sipyco.errors.TooManyItems` before anything is built.

    ``options`` are sipyco 1.10's keywords for ``json.loads``, accepted only
    with a value that asks for what this reader does anyway: ``strict=True``;
    ``parse_float`` ``None`` or ``float``; ``parse_int`` ``None`` or
    ``int``; ``parse_constant=None``; ``object_hook``, ``object_pairs_hook``
    and ``cls`` ``None`` (the reader rebuilds ``__jsonclass__`` objects
    itself; add types with :func:`register`).  Any other value raises
    ``ValueError`` naming the keyword and the value; any other keyword
    raises ``TypeError`` naming it.
    """
    return _default.decode(s, max_items=max_items, **options)


def decode_in_pieces(s: str | bytes, *, max_items: int | None = None,
                     v2_only: bool = False) -> Any:
    """:func:`decode` (or :func:`decode_v2`, with ``v2_only``) for a reader
    in a worker thread: a long text is read in pieces of about 64 KiB, so
    that other threads run meanwhile (see :meth:`Codec.decode_in_pieces`).

    ``s`` and ``max_items`` (default ``None``: :data:`DEFAULT_MAX_ITEMS`)
    are as for :func:`decode_v1`, and so are the errors raised;
    ``v2_only`` defaults to false."""
    return _default.decode_in_pieces(s, max_items=max_items, v2_only=v2_only)


def decode_v1(s: str | bytes, *, max_items: int | None = None) -> Any:
    """Rebuild a value from PYON v1 text only, never evaluating it (JSON
    ``__jsonclass__`` objects stay plain dicts).

    ``s`` is the text: a str, or UTF-8 ``bytes``, ``bytearray`` or
    ``memoryview``; ``max_items`` is this call's limit on the number of
    values (default ``None``: :data:`DEFAULT_MAX_ITEMS`).  Raises
    :class:`DecodeError` (a ``ValueError``) naming the offset for a refused
    text, including bytes that are not UTF-8, and its subclass
    :class:`~sipyco.errors.TooManyItems` for one over ``max_items``;
    ``TypeError`` for any other type of ``s``; ``ValueError`` if
    ``max_items`` is not a positive int."""
    return _default.decode_v1(s, max_items=max_items)


def decode_v2(s: str | bytes, *, max_items: int | None = None) -> Any:
    """Rebuild a value from PYON v2 (JSON) text only.

    ``s`` and ``max_items`` (default ``None``: :data:`DEFAULT_MAX_ITEMS`)
    are as for :func:`decode_v1`, and so are the errors raised."""
    return _default.decode_v2(s, max_items=max_items)


def store_file(filename: str | os.PathLike, x: Any, **options: Any) -> None:
    """Write ``x`` to ``filename`` as pretty PYON, atomically, followed by a
    newline: v1 (``encode_v1(x, pretty=True)``) by default, v2
    (``encode_v2(x, pretty=True)``) when :data:`DEFAULT_VERSION` is 2.
    :func:`load_file` reads either.  :func:`sipyco.pyon_v1.store_file`
    always writes v1.

    The value is encoded first, then written to a temporary file in the same
    directory, flushed and fsynced, and moved over ``filename`` with
    ``os.replace``: a crash at any point leaves either the old file or the new
    one, never a truncated one.

    ``options``: sipyco 1.10's ``json.dumps`` keywords, checked as by
    :func:`encode` for the pretty layout (so ``indent`` may only be 4).
    """
    _default.store_file(filename, x, **options)


def load_file(filename: str | os.PathLike, **options: Any) -> Any:
    """Read a file written as PYON v1 or v2 (``options``: sipyco 1.10's
    ``json.loads`` keywords, checked as by :func:`decode`, and
    ``max_items``, as for :func:`decode`).

    ``filename`` is the path of the file, read as UTF-8 text.  Raises
    ``OSError`` if the file cannot be opened, ``UnicodeDecodeError`` if it
    is not UTF-8, and :class:`DecodeError` (a ``ValueError``) if its text
    is refused."""
    return _default.load_file(filename, **options)


def register(cls: Any = _UNSET, *, name: str | None = None,
             to_args: Callable[[Any], tuple | list] | None = None,
             from_args: Callable[..., Any] | None = None,
             encode: Callable[[Any], tuple | list] | None = None,
             decode: Callable[..., Any] | None = None,
             types: Any = _UNSET) -> Any:
    """Add application types to the default codec, in either of two forms
    (told apart by the keywords used):

    ``register(cls, *, name=None, to_args, from_args=None)``: ``to_args(obj)``
    returns the encodable arguments that describe ``obj``; ``from_args(*args)``
    (default: ``cls``) rebuilds it.  ``name`` (default: the class name) is
    what appears in the text.  Registering ``cls`` again replaces it.
    Returns ``cls``.

    ``register(types, *, name, encode, decode)``, sipyco 1.10's form:
    ``types`` is an iterable of classes (or one class) written under
    ``name``; ``encode(obj)`` returns the list of arguments and
    ``decode(*args)`` rebuilds the value.  Returns ``None``.

    A type or name already registered (or reserved by PYON) raises
    :class:`~sipyco.errors.AlreadyRegistered`, both a ``ValueError`` (as this
    library always raised) and an ``AssertionError`` (as 1.10 raises).
    See :meth:`Registry.register` for the details.
    """
    return _default_registry.register(cls, name=name, to_args=to_args, from_args=from_args,
                                      encode=encode, decode=decode, types=types)


def wrap(value: Any) -> Any:
    """Return ``value`` itself, unchanged.

    sipyco 1.10's encode functions of registered types call ``wrap`` on the
    arguments they return (``encode=lambda x: [pyon.wrap(x.data)]``).  This
    writer writes every argument an encode function returns recursively,
    whatever its type (tuples, sets, numpy arrays, dicts with any keys,
    other registered types, any nesting), so there is nothing to wrap.
    """
    return value


#: The names (``str``) of the numpy scalar types PYON writes as ``npscalar``:
#: ``"int8"`` ... ``"uint64"``, ``"float16"`` ... ``"float64"``,
#: ``"complex64"``, ``"complex128"``; each is an attribute of ``numpy``.  As
#: in upstream, programs build evaluation namespaces from it
#: (``{name: getattr(numpy, name) for name in pyon._numpy_scalar}``).
_numpy_scalar = NPSCALAR_NAMES


def unregister(cls: type) -> None:
    """Remove an application type from the default codec
    (:class:`~sipyco.errors.NotRegistered`, a ``KeyError``, if unknown)."""
    _default_registry.unregister(cls)


def deregister(types: Any, name: str) -> None:
    """sipyco 1.10's removal: forget ``types`` (an iterable of classes, or one
    class) registered under ``name``.  Unknown ones raise
    :class:`~sipyco.errors.NotRegistered` (a ``KeyError``) and nothing
    changes; afterwards encoding such a value is an ``EncodeError`` (a
    ``TypeError``)."""
    _default_registry.deregister(types, name)
