"""Reading a long JSON-shaped text in pieces of bounded length.

The C JSON scanner reads a whole text in one call, holding the interpreter
lock throughout: a reader in a worker thread (the pc_rpc server decodes a
long request off its event loop) still stops every other thread for as long
as a 4 MiB text takes, up to a second for some shapes.  And a reader that
must rewrite a text before scanning it (PYON v1 read as JSON) holds the
rewritten copy for as long as the scan lasts.

:func:`read_in_pieces` reads the text through ``decode_piece`` called on
pieces of at most about ``piece`` characters each, and puts the values
together itself.  Each container larger than a piece is read item by item:
a run of its items that fits a piece is one call (``[`` + run + ``]``, or
``{`` + run + ``}`` for an object's members), and an item larger than a
piece is read the same way, one level down.  Between two calls other
threads run, and only one piece's rewriting is alive at a time.

Where a run ends: at a comma of the container's own level.  The last comma
before the piece's end is tried first (one ``str.rfind``); when the run up
to it does not read as a run of whole items (the comma was inside a nested
item or a literal, or the container ended before it), the window is
scanned with numpy for the exact bracket depth and literal extent of every
character, and the rest of that container is cut from scans.  A run that
reads is a run of whole items: any cut inside an item leaves a bracket or
a quote open, so a piece cut wrongly cannot be read.  With an
``object_hook`` (which may build values a program registered), a run with
an object in it is never tried on a guess: every builder runs once, on
values cut where they must be.

What the text must look like: JSON's brackets, braces, commas and colons,
string literals quoted with ``quote`` (with backslash escapes if
``escapes``: a quote after an odd run of backslashes is not a closing one),
ASCII.  What a piece holds is ``decode_piece``'s business: the v2 reader's
JSON decoder, or the v1 reader's rewriting to JSON.

Refusals: the text as a whole reads exactly as ``decode_piece`` would read
it in one call, but errors are not reported from here: any piece that does
not read, where the cut is known to be right, raises :class:`NotInPieces`,
and the caller reads the whole text the ordinary way for the exact error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy

__all__ = ["PIECE", "NotInPieces", "read_in_pieces"]

#: The most characters one call of the scanner reads (about: a single
#: literal or number longer than this is one call).
PIECE = 1 << 16
# Containers nested deeper than this are read in one call (deeper nesting
# of large containers is not a shape anyone sends; the recursion stays
# small).
_MAX_LEVEL = 64

_WS = re.compile(r"[ \t\n\r]*")
_SCALAR = re.compile(r"[^,\]}\s]*")
# Per byte: its step in bracket depth.
_STEP = numpy.zeros(256, dtype=numpy.int8)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1


class NotInPieces(Exception):
    """The text was not read in pieces.  ``refused``: because it is not
    valid (a piece cut where it must be did not read, or the text between
    pieces is wrong): reading it whole fails too.  Otherwise its shape is
    one this reader leaves to the ordinary one."""

    def __init__(self, reason: str, refused: bool = True):
        super().__init__(reason)
        self.refused = refused


def read_in_pieces(text: str, decode_piece: Callable[[str, int], Any], *,
                   quote: str = '"', escapes: bool = True,
                   object_hook: Callable[[dict], Any] | None = None,
                   piece: int = PIECE) -> Any:
    """The value of ``text``, read by ``decode_piece(piece_text, level)``
    on pieces of about ``piece`` characters (``level``: how many containers
    enclose the piece's own outer brackets, 0 at the top).  An object read in
    runs is put together as a dict and given to ``object_hook``, as the
    scanner gives it each object it reads.  Raises :class:`NotInPieces`."""
    if not text.isascii():
        raise NotInPieces("not ASCII", refused=False)
    start = _WS.match(text).end()
    end = len(text.rstrip(" \t\n\r"))
    if end - start <= piece or text[start] not in "[{":
        raise NotInPieces("not a container longer than a piece", refused=False)
    reader = _Reader(text, decode_piece, quote, escapes, object_hook, piece)
    value, after = reader.container(start, 0)
    if after != end:
        raise NotInPieces("text after the value")
    return value


class _Reader:

    def __init__(self, text, decode_piece, quote, escapes, object_hook, piece):
        self.text = text
        self.decode_piece = decode_piece
        self.quote = quote
        self.escapes = escapes
        self.object_hook = object_hook
        self.piece = piece

    def read(self, piece_text: str, level: int) -> Any:
        try:
            return self.decode_piece(piece_text, level)
        except NotInPieces:
            raise
        except Exception as exc:
            raise NotInPieces(f"a piece does not read: {exc}") from exc

    def container(self, k: int, level: int) -> tuple[Any, int]:
        """The container whose opener is at ``k``, and the index after it."""
        text = self.text
        is_object = text[k] == "{"
        opener, closer = ("{", "}") if is_object else ("[", "]")
        items: Any = {} if is_object else []
        put = items.update if is_object else items.extend
        a = k + 1
        guess = True  # try the last comma first, until that fails once
        while True:
            b = self.window_end(a)
            cut = end = -1
            if guess:
                c = text.rfind(",", a, b)
                if c > _WS.match(text, a).end() and (self.object_hook is None
                                                     or text.find("{", a, c) < 0):
                    try:
                        values = self.decode_piece(opener + text[a:c] + closer, level)
                    except Exception:  # noqa: BLE001 - a wrong cut: scan instead
                        guess = False
                    else:
                        if is_object and type(values) is not dict:
                            raise NotInPieces("an object hook took a run")
                        put(values)
                        a = c + 1
                        continue
                else:
                    guess = False
            cut, end = self.scan(a, b)
            if end >= 0:  # the container ends in this window: its last run
                if text[end] != closer:
                    raise NotInPieces(f"{opener} closed by {text[end]}")
                run = text[a:end]
                if run.strip(" \t\n\r"):
                    values = self.read(opener + run + closer, level)
                    if is_object and type(values) is not dict:
                        raise NotInPieces("an object hook took a run")
                    put(values)
                elif a != k + 1:
                    raise NotInPieces("a trailing comma")
                break
            if cut >= 0:
                run = text[a:cut]
                if not run.strip(" \t\n\r"):
                    raise NotInPieces("an empty item")
                values = self.read(opener + run + closer, level)
                if is_object and type(values) is not dict:
                    raise NotInPieces("an object hook took a run")
                put(values)
                a = cut + 1
                continue
            # No comma of this level in the window: the item at a is large.
            a = self.large_item(a, level, items, is_object)
            if text.startswith(closer, a):
                end = a
                break
            if not text.startswith(",", a):
                raise NotInPieces("an item not followed by a comma")
            a += 1
        if is_object and self.object_hook is not None:
            try:
                items = self.object_hook(items)
            except Exception as exc:
                raise NotInPieces(f"an object does not read: {exc}") from exc
        return items, end + 1

    def window_end(self, a: int) -> int:
        """The end of the window starting at ``a``: ``piece`` characters on,
        moved past a run of backslashes and the character it escapes."""
        text = self.text
        b = min(len(text), a + self.piece)
        if self.escapes:
            while b < len(text) and text[b - 1] == "\\":
                b += 1
            if b < len(text):
                b += 1  # the character the run escapes, or a harmless one
        return b

    def scan(self, a: int, b: int) -> tuple[int, int]:
        """In ``text[a:b]``, whose first character is outside any literal and
        at the level of the container's items: the last comma of that level
        before the container's end (or -1), and the container's closer (or
        -1)."""
        window = self.text[a:b]
        q = self.quote
        if self.escapes and "\\" in window:
            # Same length, with every escaped quote (and escaped backslash,
            # so that the pairing is right) hidden.
            window = window.replace("\\\\", "\0\0").replace("\\" + q, "\0\0")
        chars = numpy.frombuffer(window.encode("ascii"), dtype=numpy.uint8)
        steps = _STEP[chars]
        if q in window:
            inside = numpy.cumsum(chars == ord(q), dtype=numpy.int32) & 1
            steps[inside.astype(bool)] = 0
        depth = numpy.cumsum(steps, dtype=numpy.int32)
        below = numpy.flatnonzero(depth < 0)
        end = int(below[0]) if len(below) else len(chars)
        commas = numpy.flatnonzero((chars[:end] == ord(",")) & (depth[:end] == 0))
        if len(commas) and q in window:
            # a comma inside a literal has depth 0 too: drop those
            commas = commas[inside[commas] == 0]
        cut = a + int(commas[-1]) if len(commas) else -1
        return cut, (a + end if len(below) else -1)

    def large_item(self, a: int, level: int, items: Any, is_object: bool) -> int:
        """Read the item at ``a`` (longer than a window) into ``items``; the
        index after it (and after any white space)."""
        text = self.text
        i = _WS.match(text, a).end()
        if is_object:
            after_key = self.literal_end(i)
            key = self.read(text[i:after_key], level + 1)
            i = _WS.match(text, after_key).end()
            if not text.startswith(":", i):
                raise NotInPieces("a key without a colon")
            i = _WS.match(text, i + 1).end()
        if text.startswith(("[", "{"), i) and level < _MAX_LEVEL:
            value, after = self.container(i, level + 1)
        else:
            after = self.scalar_end(i)
            value = self.read(text[i:after], level + 1)
        if is_object:
            items[key] = value
        else:
            items.append(value)
        return _WS.match(text, after).end()

    def literal_end(self, i: int) -> int:
        """The index after the literal opened at ``i``."""
        text, q = self.text, self.quote
        if not text.startswith(q, i):
            raise NotInPieces("a key that is not a string")
        j = i
        while True:
            j = text.find(q, j + 1)
            if j < 0:
                raise NotInPieces("an unterminated string")
            if not self.escapes:
                return j + 1
            slashes = 0
            while text[j - 1 - slashes] == "\\":
                slashes += 1
            if slashes % 2 == 0:
                return j + 1

    def scalar_end(self, i: int) -> int:
        """The index after the long value at ``i``: a literal, or a number
        or name (which do not read as long as that)."""
        text = self.text
        if text.startswith(self.quote, i):
            return self.literal_end(i)
        if text.startswith(("[", "{"), i):
            raise NotInPieces("large containers nested too deeply", refused=False)
        return _SCALAR.match(text, i).end()
