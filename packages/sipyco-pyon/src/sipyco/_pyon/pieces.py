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
ASCII; or, with ``v1``, PYON v1's, whose tuples are containers too and whose
literals are quoted either way.  What a piece holds is ``decode_piece``'s
business: the v2 reader's JSON decoder, the v1 in-place rewriting to JSON,
or the v1 readers.

Refusals: the text as a whole reads exactly as ``decode_piece`` would read
it in one call, but errors are not reported from here: any piece that does
not read, where the cut is known to be right, raises :class:`NotInPieces`,
and the caller reads the whole text the ordinary way for the exact error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import chain
from typing import Any

import numpy

from .values import guard_hash_collisions

__all__ = ["PIECE", "NotInPieces", "inside_literals", "read_in_pieces"]

#: The most characters one call of the scanner reads (about: a single
#: literal or number longer than this is one call).
PIECE = 1 << 16
# Large containers nested deeper than this leave the text to the ordinary
# reader (no one sends that shape; the recursion here stays small).
_MAX_LEVEL = 64

_WS = re.compile(r"[ \t\n\r]*")
# A literal quoted either way, in a window whose escaped quotes are hidden
# (one running past the window's end has no closing quote).
_EITHER_LITERAL = re.compile(r"""('[^']*'?|"[^"]*"?)""")
_SCALAR = re.compile(r"[^,\])}\s]*")
# Per byte: its step in bracket depth.
_STEP = numpy.zeros(256, dtype=numpy.int8)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1
_STEP_V1 = _STEP.copy()  # tuples and calls too
_STEP_V1[ord("(")] = 1
_STEP_V1[ord(")")] = -1


def inside_literals(chars: numpy.ndarray, quote: str) -> numpy.ndarray:
    """Per byte of ``chars`` (a text as uint8, whose literals are all quoted
    with ``quote`` and hold no escaped quote), whether it is in a literal:
    True from an opening quote up to its closing quote, which is False (the
    parity of the quotes so far; a uint8 sum keeps its parity when it wraps,
    and costs a quarter of an int32 one)."""
    inside = numpy.cumsum(chars == ord(quote), dtype=numpy.uint8)
    inside &= 1
    return inside.view(bool)


class NotInPieces(Exception):
    """The text was not read in pieces.  ``refused``: because it is not
    valid (a piece cut where it must be did not read, or the text between
    pieces is wrong): reading it whole fails too.  Otherwise its shape is
    one this reader leaves to the ordinary one.  The exception that made a
    piece fail, if one did, is the ``__cause__``; ``offset`` is where in the
    text, when known."""

    def __init__(self, reason: str, refused: bool = True, offset: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.refused = refused
        self.offset = offset  # in the text, where known


def read_in_pieces(text: str, decode_piece: Callable[[str, int], Any], *,
                   quote: str = '"', escapes: bool = True,
                   object_hook: Callable[[dict], Any] | None = None,
                   v1: bool = False, guess_piece: Callable[[str, int], Any] | None = None,
                   piece: int | None = None) -> Any:
    """The value of ``text``, read by ``decode_piece(piece_text, level)``
    on pieces of about ``piece`` characters (``level``: how many containers
    enclose the piece's own outer brackets, 0 at the top).  An object read in
    runs is put together as a dict and given to ``object_hook``, as the
    scanner gives it each object it reads.

    ``v1``: the text is PYON v1, whose tuples ``(...)`` are containers too
    (read as lists by ``decode_piece``, then made tuples) and whose literals
    may be quoted either way (``quote`` is then ignored: a window holding
    both kinds is left to the ordinary reader).  Its dicts read in runs are
    checked for hash floods as a whole before they are built.

    ``guess_piece``: what reads a piece cut on a guess, if not
    ``decode_piece`` (a cheaper reader, that may fail where
    ``decode_piece`` would not: the piece is then cut exactly and given to
    ``decode_piece``).

    ``piece``: :data:`PIECE` unless given (read when called, so that a
    test or the fuzzer can make pieces small enough for short texts).

    Raises :class:`NotInPieces`."""
    if piece is None:
        piece = PIECE
    if not text.isascii():
        raise NotInPieces("not ASCII", refused=False)
    start = _WS.match(text).end()
    end = len(text.rstrip(" \t\n\r"))
    if end - start <= piece or text[start] not in ("[{(" if v1 else "[{"):
        raise NotInPieces("not a container longer than a piece", refused=False)
    reader = _Reader(text, decode_piece, guess_piece or decode_piece, quote, escapes,
                     object_hook, v1, piece)
    value, after = reader.container(start, 0)
    if after != end:
        raise NotInPieces("text after the value", offset=after)
    return value


_CLOSERS = {"[": "]", "{": "}", "(": ")"}


class _Runs:
    """A container's items, put together run by run as they are read (each
    run freed once added), or, for a v1 dict, kept until all are read."""

    def __init__(self, keep_dicts: bool):
        self.kept: list[dict] | None = [] if keep_dicts else None
        self.items: Any = None

    def append(self, run: Any) -> None:
        if self.kept is not None:
            if self.items is None:
                self.items = {}
            self.kept.append(run)
        elif self.items is None:
            self.items = run
        elif type(run) is dict:
            self.items.update(run)
        else:
            self.items.extend(run)


class _Reader:

    def __init__(self, text, decode_piece, guess_piece, quote, escapes, object_hook, v1,
                 piece):
        self.text = text
        self.decode_piece = decode_piece
        self.guess_piece = guess_piece
        self.quote = quote
        self.escapes = escapes
        self.object_hook = object_hook
        self.v1 = v1
        self.piece = piece
        self.step = _STEP_V1 if v1 else _STEP
        self.openers = ("[", "{", "(") if v1 else ("[", "{")
        self.quotes = ("'", '"') if v1 else (quote,)

    def read(self, piece_text: str, level: int, at: int) -> Any:
        """``decode_piece`` on a piece cut where it must be, whose character
        ``i`` is the text's ``at + i``: a failure is the text's, at the
        offset the piece's error names (if it names one)."""
        try:
            return self.decode_piece(piece_text, level)
        except NotInPieces:
            raise
        except Exception as exc:
            where = getattr(exc, "pos", None)  # json.JSONDecodeError's
            if where is None:
                where = getattr(exc, "offset", None)  # DecodeError's
            offset = min(max(at + where, 0), len(self.text)) if type(where) is int else None
            raise NotInPieces(f"a piece does not read: {exc}", offset=offset) from exc

    def other_shape(self, reason: str, offset: int | None = None) -> NotInPieces:
        """A v1 text may be valid where a JSON one may not: then only the
        ordinary reader can tell."""
        return NotInPieces(reason, refused=not self.v1, offset=offset)

    def container(self, k: int, level: int) -> tuple[Any, int]:
        """The container whose opener is at ``k``, and the index after it."""
        text = self.text
        kind = text[k]
        is_object = kind == "{"
        closer = _CLOSERS[kind]
        # the pieces: a tuple's runs are read as lists
        opener, piece_closer = ("{", "}") if is_object else ("[", "]")
        runs = _Runs(is_object and self.v1)  # runs' values, and large items
        commas = 0
        a = k + 1
        guess = True  # try the last comma first, until that fails once
        while True:
            b = self.window_end(a)
            cut = end = -1
            if guess:
                c = text.rfind(",", a, b)
                # (a comma after a comma may be in a literal: the scan tells)
                if c > _WS.match(text, a).end() and not self.comma_before(c) \
                        and (self.object_hook is None or text.find("{", a, c) < 0):
                    try:
                        values = self.guess_piece(opener + text[a:c] + piece_closer, level)
                    except Exception:  # noqa: BLE001 - a wrong cut: scan instead
                        guess = False
                    else:
                        runs.append(self.checked_run(values, is_object))
                        commas += 1
                        a = c + 1
                        continue
                else:
                    guess = False
            cut, end = self.scan(a, b)
            if end >= 0:  # the container ends in this window: its last run
                if text[end] != closer:
                    raise NotInPieces(f"{kind} closed by {text[end]}", offset=end)
                run = text[a:end].rstrip(" \t\n\r")
                if kind == "(" and run.endswith(","):
                    run = run[:-1]  # (x,) and (x, y,): v1's trailing comma
                    commas += 1
                if run.strip(" \t\n\r"):
                    last = self.read(opener + run + piece_closer, level, a - 1)
                    if is_object and runs.items is None and not runs.kept:
                        # the whole object in one piece: its value is what
                        # the scanner (and its object hook) made of it
                        return last, end + 1
                    last = self.checked_run(last, is_object)
                    runs.append(last)
                    commas += len(last) - 1
                elif commas and kind != "(":
                    raise self.other_shape("a trailing comma", offset=end)
                break
            if cut >= 0:
                run = text[a:cut]
                if not run.strip(" \t\n\r") or self.comma_before(cut):
                    raise NotInPieces("an empty item", offset=cut)
                runs.append(self.checked_run(self.read(opener + run + piece_closer, level, a - 1),
                                             is_object))
                commas += 1
                a = cut + 1
                continue
            # No comma of this level in the window: the item at a is large.
            a = self.large_item(a, level, runs, is_object)
            if text.startswith(closer, a):
                end = a
                break
            if a >= len(text):
                raise NotInPieces("text ends inside an unclosed bracket", offset=a)
            if not text.startswith(",", a):
                raise NotInPieces("an item not followed by a comma", offset=a)
            commas += 1
            a += 1
        return self.built(kind, runs, commas), end + 1

    def comma_before(self, c: int) -> bool:
        """Whether the comma at ``c`` follows another with only white space
        between.  For a comma of the code (a cut), that is an empty item,
        which a piece ending in a trailing comma would hide (v1 allows one
        in a list); a literal ends with its quote, so the comma before is
        the code's too."""
        text = self.text
        j = c - 1
        while j >= 0 and text[j] in " \t\n\r":
            j -= 1
        return j >= 0 and text[j] == ","

    def checked_run(self, values: Any, is_object: bool) -> Any:
        if is_object and type(values) is not dict:
            # a v1 set, or a run of a larger JSON object that its object
            # hook made something else of (a "__jsonclass__" member among
            # others, which the hook refuses in the whole object): the
            # ordinary reader says which
            raise NotInPieces("a run of an object is not a dict", refused=False)
        return values

    def built(self, kind: str, runs: _Runs, commas: int) -> Any:
        """The container of kind ``kind`` from its runs."""
        if runs.items is None:
            runs.items = {} if kind == "{" else []  # no item at all
        if kind != "{":
            items = runs.items
            if kind == "[":
                return items
            if not items and commas:
                raise self.other_shape("(,)")
            if len(items) == 1 and not commas:
                return items[0]  # (x) is x
            return tuple(items)
        if runs.kept:
            # A v1 dict's keys may be anything hashable: no run of them held
            # too many of one hash, and neither may the whole, checked
            # before the dict is built.
            try:
                guard_hash_collisions(list(chain.from_iterable(runs.kept)), "dict")
            except (ValueError, TypeError) as exc:
                raise NotInPieces(f"cannot build dict: {exc}") from None
            for run in runs.kept:
                runs.items.update(run)
        items = runs.items
        if self.object_hook is not None:
            try:
                items = self.object_hook(items)
            except Exception as exc:
                raise NotInPieces(f"an object does not read: {exc}") from exc
        return items

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
        if self.escapes and "\\" in window:
            # Same length, with every escaped quote (and escaped backslash,
            # so that the pairing is right) hidden.
            window = window.replace("\\\\", "\0\0").replace("\\'", "\0\0") \
                .replace('\\"', "\0\0")
        q = self.quote
        if self.v1:
            q = "'" if "'" in window else '"'
        chars = numpy.frombuffer(window.encode("ascii"), dtype=numpy.uint8)
        steps = self.step[chars]
        if self.v1 and q == "'" and '"' in window:
            # Both kinds: which quotes open literals is found by cutting
            # the window at its literals (each quoted either way, escaped
            # quotes hidden above), then the lengths of the pieces.
            parts = _EITHER_LITERAL.split(window)
            lengths = numpy.fromiter(map(len, parts), dtype=numpy.intp, count=len(parts))
            inside = numpy.repeat((numpy.arange(len(parts)) & 1).astype(bool), lengths)
            steps[inside] = 0
            q = "'"  # (for the commas below: inside is what counts)
        elif q in window:
            inside = inside_literals(chars, q)
            steps[inside] = 0
        depth = numpy.cumsum(steps, dtype=numpy.int32)
        below = numpy.flatnonzero(depth < 0)
        end = int(below[0]) if len(below) else len(chars)
        commas = numpy.flatnonzero((chars[:end] == ord(",")) & (depth[:end] == 0))
        if len(commas) and q in window:
            # a comma inside a literal has depth 0 too: drop those
            commas = commas[~inside[commas]]
        cut = a + int(commas[-1]) if len(commas) else -1
        return cut, (a + end if len(below) else -1)

    def large_item(self, a: int, level: int, runs: list, is_object: bool) -> int:
        """Read the item at ``a`` (longer than a window) into ``runs`` (as a
        run of one); the index after it (and after any white space)."""
        text = self.text
        i = _WS.match(text, a).end()
        if is_object:
            if not text.startswith(self.quotes, i):
                raise self.other_shape("a key that is not a string")
            after_key = self.literal_end(i)
            key = self.read(text[i:after_key], level + 1, i)
            i = _WS.match(text, after_key).end()
            if not text.startswith(":", i):
                raise self.other_shape("a key without a colon", offset=i)
            i = _WS.match(text, i + 1).end()
        if text.startswith(self.openers, i):
            if level >= _MAX_LEVEL:
                raise NotInPieces("large containers nested too deeply", refused=False)
            value, after = self.container(i, level + 1)
        elif text.startswith(self.quotes, i):
            after = self.literal_end(i)
            value = self.read(text[i:after], level + 1, i)
        else:  # a number or a name: not as long as that, or a v1 call
            if self.v1:
                raise NotInPieces("a long item that is not a container", refused=False)
            after = _SCALAR.match(text, i).end()
            value = self.read(text[i:after], level + 1, i)
        runs.append({key: value} if is_object else [value])
        return _WS.match(text, after).end()

    def literal_end(self, i: int) -> int:
        """The index after the literal opened at ``i``."""
        text = self.text
        q = text[i]
        j = i
        while True:
            j = text.find(q, j + 1)
            if j < 0:
                raise NotInPieces("an unterminated string", offset=i)
            if not self.escapes:
                return j + 1
            slashes = 0
            while text[j - 1 - slashes] == "\\":
                slashes += 1
            if slashes % 2 == 0:
                return j + 1
