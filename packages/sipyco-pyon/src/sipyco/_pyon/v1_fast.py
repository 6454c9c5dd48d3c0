"""A fast path for long PYON v1 texts: rewrite them as JSON, at C speed,
and let the C JSON scanner build the values.

The v1 reader (:mod:`.decode_v1`) does Python work per token, which makes a
text of millions of small items (``([],[],...)``, ``[12,12,...,(1, )]``)
ten to forty times slower to read than the same shape as JSON.  Here the
text is rewritten with whole-text string operations (``re.split``,
``str.translate``, ``re.sub`` with templates, ``str.join``), so the Python
work left is per string literal and per container that JSON lacks (tuples,
sets, dicts with any keys, calls), not per token:

* string and bytes literals are cut out first; plain ones become JSON
  strings, the others (escapes, bytes) are converted by the v1 reader's own
  functions and stand in the JSON as ``{"'": N}``, an index into a list of
  values;
* in what is left, ``(`` becomes ``{"(":[`` and ``)`` ``],")":0}``,
  ``{`` becomes ``{"{":[`` and ``}`` ``],"}":0}`` (each closer names
  itself, so a bracket closed by the wrong kind is caught), ``:`` a marker
  object, ``NAME(`` the object ``{"NAME":[``, a trailing comma before ``)``
  a key of its own, and the v1 constants their JSON spellings;
* every JSON object is then one of those markers (the text's own dicts were
  all rewritten), so ``object_pairs_hook`` rebuilds tuples, sets, dicts and
  calls without ambiguity.

A text that is mostly literals (an array's payload, a long string) has few
tokens, which the v1 reader reads fast: the fast path declines it at once.
So does a text with a complex number (``j``), which JSON cannot spell.

This path declines rather than refuses: :func:`decode_fast` returns
:data:`DECLINED` for anything it is not sure to read exactly as the v1
reader would (escapes it does not know, a raw surrogate, numbers JSON does
not take, a marker left where it does not belong, nesting past
``max_depth``, any error at all), and the v1 reader then reads the text,
with its own exact errors and offsets.  The one refusal it makes itself is
a hash flood (a DecodeError with the v1 reader's words, without an offset),
so that such a text is not read twice.
"""

from __future__ import annotations

import json
import re
import string
from itertools import repeat
from json.encoder import encode_basestring_ascii
from operator import is_

import numpy

from ..errors import DecodeError
from .decode_v1 import _closed, _decode_bytes, _decode_str, _escapes_in_c, _join_surrogates
from .pieces import PIECE, NotInPieces, inside_literals, read_in_pieces
from .values import guard_hash_collisions

__all__ = ["DECLINED", "decode_fast", "FAST_OVER"]

#: Texts at least this long are offered to the fast path first (shorter
#: ones cost the v1 reader little whatever their shape).
FAST_OVER = 1 << 16
# A text whose code (what is outside its literals) is shorter than this
# fraction of it has few tokens: the v1 reader reads it fast (long literals
# are cheap for it), so the fast path declines at once.
_MOSTLY_LITERALS = 8
# Nor is it worth it for a text with fewer punctuation marks than one per
# this many characters, judged from a few slices of it (a guess that only
# chooses the faster reader: both read every text the same).
_SPARSE = 64
_SLICE = 4096

#: What :func:`decode_fast` returns when the v1 reader must read the text.
DECLINED = object()

# String and bytes literals, which cannot span lines.  The closing quote is
# optional, so that an unterminated literal is one match, found in one scan
# (else each quote inside it would start a new scan to the end of the line);
# _literal_values then declines the text.
_LITERAL = re.compile(r"([bB]?'[^'\\\n]*(?:\\.[^'\\\n]*)*'?"
                      r'|[bB]?"[^"\\\n]*(?:\\.[^"\\\n]*)*"?)')
# Characters the rewriting uses as markers of its own, in the code.
_RESERVED = "\x01\x02\x03\x04\x05\x06\x07"
_SURROGATE = re.compile("[\ud800-\udfff]")

_EMPTY_SET = re.compile(r"\{\s*\*\s*\(\s*\)\s*\}")
# A call as the writers write it, NAME( with no space (with one, the bare
# name is left for JSON to refuse, and the text is declined).
# The look-behind makes it linear: tried only where a name starts (found by
# fuzzing: without it, a long run of name characters was tried at each of
# its positions, each try running to its end).
_CALL = re.compile(r"(?<![A-Za-z0-9_])([A-Za-z_][A-Za-z0-9_]*)\x04")
# v1's constants, JSON's spellings, and a letter that only some names have:
# where that letter is absent, so is the name (a test in C, much cheaper
# than looking for the name).
_CONSTANT_NAMES = (("None", "null", "N"), ("True", "true", "T"), ("False", "false", "F"),
                   ("inf", "Infinity", "i"), ("nan", "NaN", "a"))
# One character for one (str.translate's fast path for ASCII), then each
# marker character expanded with str.replace: both in C, one pass each.
# Each closer names itself, so that a bracket closed by the wrong kind is
# caught (by JSON, or by the hook comparing the two keys).
_MARK = str.maketrans({"(": "\x04", ")": "\x05", "{": "\x06", "}": "\x01", ":": "\x07"})
# The same, and True and False spelt as JSON spells them, in the same pass:
# for code without calls, where a T or an F can only be in a name, and the
# only names it can make JSON's are True and False.
_MARK_TF = {**_MARK, **str.maketrans("TF", "tf")}
_EXPAND = (("\x04", '{"(":['), ("\x05", '],")":0}'), ("\x06", '{"{":['),
           ("\x01", '],"}":0}'), ("\x07", ',{":":0},'), ("\x02", '],",":0,")":0}'),
           ("\x03", '{"*":0}'))
# Per byte of code: its step in bracket depth, and whether it may end a name.
_DEPTH_STEP = numpy.zeros(256, dtype=numpy.int8)
_DEPTH_STEP[[ord(c) for c in "([{"]] = 1
_DEPTH_STEP[[ord(c) for c in ")]}"]] = -1
# What bytes.translate deletes to leave what _survey counts.
_NOT_SURVEYED = bytes(c for c in range(256) if c not in b"\x00:([{")
_NAME_END = numpy.zeros(256, dtype=bool)
_NAME_END[[ord(c) for c in string.ascii_letters + string.digits + "_"]] = True


# Texts read in place (see _in_place): per byte, 1 if it may not be in a
# literal's body (a newline: literals do not span lines), 2 if it may not be
# in the code (what the in-place rewriting does not spell: parentheses, the
# '*' of an empty set, the markers, NUL, the 'j' of complex numbers, the 'i'
# of inf, the 'I' of JSON's Infinity, the prefix of a bytes literal).
_IN_PLACE_CLASS = bytearray(256)
_IN_PLACE_CLASS[ord("\n")] = 1
for _c in "()*jiIbB\x00\x01\x02\x03\x04\x05\x06\x07":
    _IN_PLACE_CLASS[ord(_c)] = 2
_IN_PLACE_CLASS = bytes(_IN_PLACE_CLASS)
# What bytes.translate deletes to leave only the bytes code may not hold.
_TRUE_FALSE = bytes.maketrans(b"TF", b"tf")
_NONE_AS_NULL = bytes.maketrans(b"None", b"null")
_NOT_LETTERS = bytes(c for c in range(256) if not chr(c).isascii() or not chr(c).isalpha())
# What bytes.translate deletes to leave the brackets, parentheses and one
# kind of quote (or none).
_NOT_BRACKET_OR_QUOTE = {q: bytes(c for c in range(256) if c not in b"[]{}()" + q)
                         for q in (b"'", b'"', b"")}
_TO_DOUBLE_QUOTES = bytes.maketrans(b"'", b'"')
_PLAIN_JSON = json.JSONDecoder(strict=False)
_NOT_IN_PLACE = object()
# What sends a text to the full rewriting of _as_json: the letters of the
# names respelt (True, False, None, nan) or refused (JSON's NaN, Infinity),
# and a newline (which a literal may not hold).
_RESPELT = (b"T", b"F", b"N", b"I", b"nan", b"\n")
# What _escaped_in_place leaves to the cutting: its placeholders, and what
# it would have to respell or check in the code alone.
# (one character each: a search for one is a memchr; nan is looked for
# where an n is)
_ESCAPED_REFUSED = ("\x01", "\x02", "\x03", "\n", "T", "F", "N", "I")
_ESCAPED_BACK = (("\x01", "\\\\"), ("\x03", '\\"'))
_PUT_BACK_SINGLE = str.maketrans("\x02", "'")
_SINGLE_TO_DOUBLE = str.maketrans("'\x02", "\"'")
# Texts longer than this are read in pieces of _PIECE (see _in_place).
_PIECE = PIECE
_IN_PIECES_OVER = 4 * PIECE


class _Decline(Exception):
    pass


_COLON = object()


def _sparse(text: str) -> bool:
    n = len(text)
    sample = "".join(text[i:i + _SLICE] for i in range(0, n, max(_SLICE, n // 8)))
    marks = sum(map(sample.count, ",([{"))
    return marks * _SPARSE < len(sample)


def _one_quote_kind(text: str, bytes_too: bool = False) -> str | None:
    """The quote character when every literal is a plain str literal quoted
    with it (no backslash anywhere, no other quote, no bytes literal): the
    text can then be cut at each quote, in C.  None otherwise.
    ``bytes_too``: bytes literals are allowed (the caller checks for them
    in the code, as :func:`_in_place` does)."""
    if "\\" in text:
        return None
    if '"' not in text:
        q = "'"
    elif "'" not in text:
        q = '"'
    else:
        return None
    if not bytes_too and ("b" + q in text or "B" + q in text):
        return None
    return q


def _split_literals(text: str) -> list[str] | None:
    """``[code, literal, code, literal, ..., code]``; None for an
    unterminated literal.  Many literals: one regular-expression split.  A
    few, long ones (a long string of escapes): each literal's end is found
    with ``str.find``, skipping the quotes its escapes hide, in C."""
    quotes = text.count("'") + text.count('"')
    if quotes * 256 > len(text):
        return _LITERAL.split(text)
    parts = []
    start = 0  # of the current code piece
    end = len(text)
    while True:
        sq, dq = text.find("'", start), text.find('"', start)
        if sq < 0 and dq < 0:
            parts.append(text[start:])
            return parts
        opening = dq if sq < 0 or 0 <= dq < sq else sq
        q = text[opening]
        first = opening - 1 if opening > start and text[opening - 1] in "bB" else opening
        close = opening
        while True:
            close = text.find(q, close + 1)
            if close < 0:
                return None
            slashes = 0
            while text[close - 1 - slashes] == "\\":
                slashes += 1
            if slashes % 2 == 0:
                break
        if text.find("\n", opening, close) >= 0:
            return None
        parts.append(text[start:first])
        parts.append(text[first:close + 1])
        start = close + 1
        if start > end:
            return None


def _survey(code: str, max_depth: int) -> tuple[bool, int, int]:
    """Whether ``code`` has a call (a name right before a parenthesis), and
    its counts of NULs and colons; raises _Decline if it nests deeper than
    ``max_depth``.  The counting is one pass in C over the code (what is not
    counted deleted), then counts of the few bytes left."""
    raw = code.encode("ascii")
    marks = raw.translate(None, _NOT_SURVEYED)
    opens = marks.count(b"(")
    nesting = opens + marks.count(b"[") + marks.count(b"{")
    counts = marks.count(b"\x00"), marks.count(b":")
    if nesting > max_depth and _too_deep(raw, None, max_depth):
        raise _Decline
    if not opens:
        return False, *counts
    chars = numpy.frombuffer(raw, dtype=numpy.uint8)
    where = numpy.flatnonzero(chars[1:] == ord("("))
    return bool(_NAME_END[chars[where]].any()), *counts


def _str_literals_at_once(joined: str, count: int) -> list[str] | None:
    """The JSON piece of each of ``count`` str literals joined with NULs (none
    holding one), all read at once: numpy finds where each literal starts
    and ends, the unicode_escape codec reads all their bodies in one call,
    and the JSON writer writes them back, each a C call.  None when one of
    them is not sure to read so (a bytes literal, non-ASCII text, an
    unterminated literal or one whose closing quote follows a backslash, an
    escape the codec could read otherwise, an escaped NUL): they are then
    read one by one, as the v1 reader reads them."""
    if not joined.isascii():
        return None
    chars = numpy.frombuffer(joined.encode("ascii"), dtype=numpy.uint8)
    seps = numpy.flatnonzero(chars == 0)
    starts = numpy.empty(count, dtype=numpy.intp)
    starts[0] = 0
    starts[1:] = seps + 1
    ends = numpy.empty(count, dtype=numpy.intp)
    ends[:-1] = seps - 1
    ends[-1] = len(chars) - 1
    if (ends <= starts).any():
        return None  # a literal of one character: a quote alone
    opening = chars[starts]
    if not ((opening == ord("'")) | (opening == ord('"'))).all() \
            or (chars[ends] != opening).any() or (chars[ends - 1] == ord("\\")).any():
        return None
    keep = numpy.ones(len(chars), dtype=bool)
    keep[starts] = False
    keep[ends] = False
    text = _escapes_in_c(chars[keep].tobytes())
    if text is None or text.count("\x00") != count - 1:
        return None  # an escaped NUL: the bodies cannot be told apart
    return list(map(encode_basestring_ascii, _join_surrogates(text).split("\x00")))


def _literal_values(lits: list[str]) -> tuple[list[str], list]:
    """The JSON piece for each literal, and the values the ``{"'": N}``
    pieces point into."""
    values: list = []
    if not lits:
        return [], values
    joined = "\x00".join(lits)
    if joined.count("\x00") != len(lits) - 1:
        raise _Decline  # a NUL in a literal: the split below would be wrong
    if "\\" not in joined and "\x00b" not in "\x00" + joined.lower() \
            and '"' not in joined:
        # only plain single-quoted str literals: each is terminated if it
        # ends with a quote of its own; then swap the quotes, in C
        if min(map(len, lits)) < 2 or not all(map(str.endswith, lits, repeat("'"))):
            raise _Decline
        return joined.replace("'", '"').split("\x00"), values
    pieces = _str_literals_at_once(joined, len(lits))
    if pieces is not None:
        return pieces, values
    pieces = []
    for lit in lits:
        opening = 1 if lit[0] in "bB" else 0
        q = lit[opening]
        if not _closed(lit, q, opening):
            raise _Decline  # unterminated
        if not opening and q == '"' and "\\" not in lit:
            pieces.append(lit)
        elif not opening and "\\" not in lit:
            body = lit[1:-1]
            pieces.append('"' + (body.replace('"', '\\"') if '"' in body else body) + '"')
        else:
            value = _decode_bytes(lit) if opening else _decode_str(lit)
            pieces.append('{"\'":' + str(len(values)) + "}")
            values.append(value)
    return pieces, values


def _rewrite_code(code: str, pieces: int, max_depth: int) -> tuple[list[str], int]:
    """The JSON pieces for the code between literals (``pieces`` of them,
    joined with NULs), and its count of ':'."""
    if not code.isascii() or any(map(code.__contains__, _RESERVED)):
        raise _Decline  # (non-ASCII code is a name JSON would refuse anyway)
    if "j" in code or ("I" in code and "Infinity" in code) or ("a" in code and "NaN" in code):
        raise _Decline  # complex numbers; JSON's names for v1's inf and nan
    calls, nuls, colons = _survey(code, max_depth)
    if nuls != pieces - 1:
        raise _Decline
    if "*" in code:
        code = _EMPTY_SET.sub("\x03", code)
    if ")" in code:
        # a trailing comma as the writers write it (any other form is left
        # for JSON to refuse)
        code = code.replace(", )", "\x02").replace(",)", "\x02")
    code = code.translate(_MARK if calls else _MARK_TF)
    if calls:
        code = _CALL.sub(r'{"\1":[', code)
    for mark, expansion in _EXPAND:
        if mark in code:
            code = code.replace(mark, expansion)
    # Plain replacement is safe: inside a longer name it leaves a name JSON
    # refuses (or a call name nobody registered), so the text is declined.
    for name, spelling, letter in _CONSTANT_NAMES:
        if letter in code:
            code = code.replace(name, spelling)
    return code.split("\x00"), colons


class _Refused(Exception):
    """A refusal the v1 reader would make too (a hash flood): final, so
    that a hostile text is not read twice."""


def _guard(members: list, what: str) -> None:
    try:
        guard_hash_collisions(members, what)
    except ValueError as exc:
        raise _Refused(f"cannot build {what}: {exc}") from None


def _in_place(text: str, quote: str, max_depth: int):
    """The value of a v1 text that is JSON but for its quotes and constants,
    rewritten without being cut into literals and code; or _NOT_IN_PLACE
    (DECLINED for nesting past ``max_depth``).

    Cutting a text into code and literals costs a string per piece, which
    for a list of short strings is most of the reading.  Here the text is
    ASCII, its literals are str literals quoted with ``quote``, without a
    backslash (see :func:`_one_quote_kind`), and its code has nothing but
    what JSON spells alike or nearly: brackets, braces, colons, commas,
    numbers, and the names None, True, False, nan (and JSON's null, true,
    false, which v1 takes too).  Dicts are JSON objects then: a text with
    sets or dicts of other keys fails as JSON, and is cut after all.

    A long text is rewritten and read in pieces (see :mod:`.pieces`): only
    one piece's rewriting is alive at a time, and a reader in a worker
    thread lets the others run between pieces.
    """
    if not text or not text.isascii():
        return _NOT_IN_PLACE
    if "{" in text and ":" not in text and text.count("{") != text.count("{}") \
            and quote not in text:
        return _NOT_IN_PLACE  # sets: JSON would fail on them, after the work
    if len(text) > _IN_PIECES_OVER and "(" not in text \
            and text.count("[", 0, _PIECE) + text.count("{", 0, _PIECE) <= max_depth:
        # (a text with many brackets is read whole, judged by its first
        # piece: each piece would need its nesting measured; one with a
        # parenthesis is not JSON, and a piece would find that late)
        outcomes: list = []

        def piece(s: str, level: int):
            value = _in_place_whole(s, quote, max_depth - level)
            if value is _NOT_IN_PLACE or value is DECLINED:
                outcomes.append(value)
                raise _Decline
            return value

        try:
            return read_in_pieces(text, piece, quote=quote, escapes=False, piece=_PIECE)
        except NotInPieces as exc:
            if any(outcome is DECLINED for outcome in outcomes):
                return DECLINED  # too deep: the v1 reader says where
            if exc.refused:
                return _NOT_IN_PLACE
    return _in_place_whole(text, quote, max_depth)


def _flat_in_place(text: str, max_depth: int):
    """A long flat list of numbers and names, without literals, read in
    pieces cut at its commas; or _NOT_IN_PLACE.

    The general reading in pieces (:mod:`.pieces`) finds where a run of
    items may end; here every comma is one, so each piece ends at the last
    comma of its window, found with one ``str.rfind``, and what the pieces
    need (respelling True, False, None; refusing what JSON spells otherwise)
    is looked for once in the whole text.  The caller has seen no quote.
    What JSON reads and v1 does not (Infinity, NaN) is looked for, and so
    are v1's tuples, sets and trailing comma; what else v1 reads otherwise
    than JSON, or not at all (an empty item, a closing bracket too early, a
    name of v1's own, a number JSON does not take) fails a piece: the text
    is then left to the others."""
    start = len(text) - len(text.lstrip(" \t\r\n"))
    end = len(text.rstrip(" \t\r\n"))
    if max_depth < 1 or not text.startswith("[", start) or not text.endswith("]", 0, end) \
            or text.find("[", start + 1) >= 0 or "I" in text or "(" in text or "{" in text \
            or _last_before(text, end - 1) == ",":
        # (v1's tuples, sets and trailing comma would fail only the piece
        # that holds them, perhaps the last, after all the others were read)
        return _NOT_IN_PLACE
    # (single characters first: a memchr each, where a search for a longer
    # needle ending in a frequent letter is slow)
    none = "N" in text
    letter_a = "a" in text
    if none and letter_a and "Na" in text:
        return _NOT_IN_PLACE
    true_false = "T" in text or "F" in text
    nan = letter_a and "n" in text and "nan" in text
    values = None
    a = start + 1
    while a < end - 1:
        c = end - 1 if end - 1 - a <= _PIECE else text.rfind(",", a, a + _PIECE)
        if c < 0:
            return _NOT_IN_PLACE  # an item longer than a piece
        # the piece with the comma (or bracket) on each side, made brackets
        raw = bytearray(text[a - 1:c + 1], "ascii")
        raw[0], raw[-1] = 0x5B, 0x5D
        if true_false:
            raw = raw.translate(_TRUE_FALSE)
        if none and b"N" in raw:
            letters = raw.translate(None, _NOT_LETTERS)
            if letters == b"None" * (len(letters) >> 2):  # see _code_as_json
                raw = raw.translate(_NONE_AS_NULL)
            else:
                raw = raw.replace(b"None", b"null")
        if nan:
            raw = raw.replace(b"nan", b"NaN")
        try:
            run = _PLAIN_JSON.decode(raw.decode("ascii"))
        except ValueError:
            return _NOT_IN_PLACE
        if not run and (a > start + 1 or c < end - 1):
            return _NOT_IN_PLACE  # an empty item, between two commas made brackets
        if values is None:
            values = run
        else:
            values.extend(run)
        a = c + 1
    return values if values is not None else _NOT_IN_PLACE


def _last_before(text: str, i: int) -> str:
    """The last character before ``text[i]`` that is not white space."""
    i -= 1
    while i > 0 and text[i] in " \t\r\n":
        i -= 1
    return text[i]


def _set_in_place(text: str, quote: str, max_depth: int):
    """A text that is one set, ``{a, b, ...}`` (its braces the only ones,
    no colon, no parenthesis), read in place as the list ``[a, b, ...]``
    (see :func:`_in_place`) and checked for a hash flood before the set is
    built; or _NOT_IN_PLACE."""
    if "{" not in text or text.count("{") != 1 or text.count("}") != 1 or ":" in text \
            or "(" in text:
        return _NOT_IN_PLACE
    body = text.strip()
    if not (body.startswith("{") and body.endswith("}")) or not body[1:-1].strip():
        return _NOT_IN_PLACE  # ({} is a dict)
    members = _in_place("[" + body[1:-1] + "]", quote, max_depth)
    if type(members) is not list:
        return members  # _NOT_IN_PLACE, or DECLINED
    try:
        guard_hash_collisions(members, "set")
        return set(members)
    except ValueError as exc:
        raise DecodeError(f"cannot build set: {exc}") from None
    except TypeError:  # an unhashable member: the v1 reader says which
        return DECLINED


def _bytes_list_in_place(text: str, quote: str):
    """The value of a v1 text that is a flat list whose literals are all
    bytes literals quoted with ``quote``, without a backslash (see
    :func:`_one_quote_kind`): their prefixes dropped, the text is read as
    JSON, and each string of the list encoded, mapped in C; or
    _NOT_IN_PLACE.  (Cut into literals, each bytes literal would cost a
    string, a marker and a call of the hook.)

    Every quote of such a text opens or closes a literal (no escapes);
    numpy finds them, checks that each opening one has its prefix, and
    drops the prefixes.  Flat: one bracket, the first, no parenthesis or
    brace anywhere (a bracket in a literal declines it too, needlessly but
    safely), so every string of the value is one of the literals.  What v1
    spells otherwise than JSON (its names) makes JSON refuse the text."""
    start = len(text) - len(text.lstrip(" \t\r"))
    if not text.isascii() or not text.startswith("[", start) or "\n" in text \
            or text.find("[", start + 1) >= 0 or "{" in text or "(" in text:
        return _NOT_IN_PLACE
    chars = numpy.frombuffer(text.encode("ascii"), dtype=numpy.uint8)
    quotes = numpy.flatnonzero(chars == ord(quote))
    opening = quotes[0::2]
    if len(quotes) % 2 or not len(quotes) or opening[0] == 0:
        return _NOT_IN_PLACE
    prefix = chars[opening - 1] | 0x20  # (b or B: b)
    if not (prefix == ord("b")).all():
        return _NOT_IN_PLACE
    keep = numpy.ones(len(chars), dtype=bool)
    keep[opening - 1] = False
    json_text = chars[keep].tobytes()
    if quote == "'":
        json_text = json_text.translate(_TO_DOUBLE_QUOTES)
    try:
        value = _PLAIN_JSON.decode(json_text.decode("ascii"))
    except ValueError:
        return _NOT_IN_PLACE
    if type(value) is not list:
        return _NOT_IN_PLACE
    try:
        return list(map(str.encode, value, repeat("latin-1")))
    except TypeError:  # not only literals
        return [item.encode("latin-1") if type(item) is str else item for item in value]


def _in_place_whole(text: str, quote: str, max_depth: int):
    """:func:`_in_place` for the whole of ``text`` at once."""
    # The JSON text is made by a function of its own, so that everything
    # made on the way is freed before the values are (memory: the peak is
    # the JSON text and the values).
    json_text = _code_as_json(text, max_depth) if quote not in text \
        else _as_json(text, quote, max_depth)
    if type(json_text) is not str:
        return json_text  # _NOT_IN_PLACE, or DECLINED
    try:
        return _PLAIN_JSON.decode(json_text)
    except Exception:  # noqa: BLE001 - not JSON after all: cut it into pieces
        return _NOT_IN_PLACE


def _as_json(text: str, quote: str, max_depth: int):
    """The JSON text :func:`_in_place` reads, for a text with literals."""
    raw = text.encode("ascii")
    if b"(" not in raw and not any(map(raw.__contains__, _RESPELT)):
        return _plain_as_json(raw, quote, max_depth)
    chars = numpy.frombuffer(raw, dtype=numpy.uint8)
    classes = numpy.frombuffer(raw.translate(_IN_PLACE_CLASS), dtype=numpy.uint8)
    inside = inside_literals(chars, quote)
    if inside[-1]:
        return _NOT_IN_PLACE  # an unterminated literal
    code = ~inside
    if numpy.where(code, classes & 2, classes & 1).any():
        return _NOT_IN_PLACE
    if _too_deep(raw, quote, max_depth):
        return DECLINED  # the v1 reader refuses it, naming the offset
    out = bytearray(raw.translate(_TO_DOUBLE_QUOTES) if quote == "'" else raw)
    spelt = numpy.frombuffer(out, dtype=numpy.uint8)
    if b"T" in raw:
        spelt[(chars == ord("T")) & code] = ord("t")  # True -> true
    if b"F" in raw:
        spelt[(chars == ord("F")) & code] = ord("f")  # False -> false
    if b"N" in raw:
        head = code[:-1] & (chars[:-1] == ord("N"))
        if (head & (chars[1:] == ord("a"))).any():
            return _NOT_IN_PLACE  # JSON's NaN, which v1 does not have
        at = numpy.flatnonzero(head[:-2] & (chars[1:-2] == ord("o"))
                               & (chars[2:-1] == ord("n")) & (chars[3:] == ord("e")))
        spelt[at], spelt[at + 1], spelt[at + 2], spelt[at + 3] = b"null"
    if b"nan" in raw:
        at = numpy.flatnonzero(code[:-2] & (chars[:-2] == ord("n")) & (chars[1:-1] == ord("a"))
                               & (chars[2:] == ord("n")))
        spelt[at] = spelt[at + 2] = ord("N")  # nan -> NaN
    del spelt
    return out.decode("ascii")


# After escaped backslashes and quotes are set aside: an escape JSON does
# not read as v1 does (\u and \x are made alike; \t \n \r \b \f are).
_UNSURE_ESCAPE = re.compile(r"\\[^tnrbfux]")
_SURE_ESCAPED = frozenset("tnrbfux'\"")


def _escaped_in_place(text: str, max_depth: int):
    """The value of a v1 text whose str literals hold escapes, every one
    quoted the same way, read by rewriting it to JSON with whole-text
    replacements; or _NOT_IN_PLACE (DECLINED for nesting past
    ``max_depth``).

    Escaped backslashes and escaped quotes are set aside first (as
    placeholder characters, a run of backslashes pairing from its first as
    escapes do), so that every quote left opens or closes a literal and
    every backslash left starts an escape.  Then ``\\x41`` is spelt
    ``\\u0041``, the quotes become JSON's, and the placeholders come back as
    JSON spells them.  Only texts with nothing else to rewrite are taken:
    no v1 name JSON spells otherwise (the letters T, F, N, I, or nan
    anywhere), no raw newline (a literal may not hold one), no escape JSON
    reads otherwise (octal, \\a, \\v, \\N, \\U, a backslash-newline, an
    unknown one): those are cut into literals and code instead.
    """
    if not text.isascii() or any(map(text.__contains__, _ESCAPED_REFUSED)) \
            or ("n" in text and "nan" in text):
        return _NOT_IN_PLACE
    after = _escaped(text)
    if after is None:
        masked = text.replace("\\\\", "\x01").replace("\\'", "\x02").replace('\\"', "\x03")
    else:
        if not after <= _SURE_ESCAPED:
            return _NOT_IN_PLACE
        masked = text
        if "'" in after:
            masked = masked.replace("\\'", "\x02")
        if '"' in after:
            masked = masked.replace('\\"', "\x03")
    if "'" in masked:
        if '"' in masked:
            return _NOT_IN_PLACE  # which quotes open literals: cut to know
        quote = "'"
    else:
        quote = '"'
    if after is None and "\\" in masked and _UNSURE_ESCAPE.search(masked) is not None:
        return _NOT_IN_PLACE
    if _too_deep(masked.encode("ascii"), quote, max_depth):
        return DECLINED
    if (after is None or "x" in after) and "\\x" in masked:
        masked = masked.replace("\\x", "\\u00")
    # the quotes made JSON's and escaped single quotes put back, one pass
    masked = masked.translate(_SINGLE_TO_DOUBLE if quote == "'" else _PUT_BACK_SINGLE)
    for placeholder, spelling in _ESCAPED_BACK:
        if placeholder in masked:
            masked = masked.replace(placeholder, spelling)
    try:
        return _PLAIN_JSON.decode(masked)
    except Exception:  # noqa: BLE001 - not JSON after all: cut it into pieces
        return _NOT_IN_PLACE


def _escaped(text: str) -> frozenset | None:
    """The characters that follow a backslash in the ASCII ``text``, when
    no two backslashes are adjacent and none ends it (else None: escaped
    backslashes pair up, which the caller masks first).  In numpy: a search
    for a two-character escape whose second character is frequent (a
    quote) is slow in C, and this answers for every kind at once."""
    chars = numpy.frombuffer(text.encode("ascii"), dtype=numpy.uint8)
    at = numpy.flatnonzero(chars == ord("\\"))
    if len(at) and (at[-1] == len(chars) - 1 or (at[1:] - at[:-1] == 1).any()):
        return None
    return frozenset(map(chr, numpy.flatnonzero(numpy.bincount(chars[at + 1], minlength=256))))


def _plain_as_json(raw: bytes, quote: str, max_depth: int):
    """:func:`_as_json` for a text with nothing to respell (no name JSON
    spells otherwise, no newline that could be in a literal): its quotes
    made JSON's.  What else v1 has and JSON does not (calls, complex
    numbers, inf, bytes literals, markers, NUL) is left for JSON to refuse;
    what JSON has and v1 does not (NaN, Infinity) has a letter that sends
    the text to the full rewriting."""
    if _too_deep(raw, quote, max_depth):
        return DECLINED  # the v1 reader refuses it, naming the offset
    return (raw.translate(_TO_DOUBLE_QUOTES) if quote == "'" else raw).decode("ascii")


def _too_deep(raw: bytes, quote: str | None, max_depth: int) -> bool:
    """Whether the brackets and parentheses of ``raw`` outside its literals
    (quoted with ``quote``, no backslash; None: no literals at all) nest
    deeper than ``max_depth``: the one measure of nesting here.

    Cheapest first: a text with no opener but its first byte (a piece of a
    flat list) is found by two searches in C.  Else only brackets and
    quotes are kept (one pass), and when they open no more than
    ``max_depth`` containers, that is all.  Else every pair of adjacent
    quotes is dropped (a literal without a bracket in it): paired from the
    left, that drops every literal exactly when none holds a bracket (the
    opening quote of the first that does is never next to its closing one,
    and stays), and what is left is measured in numpy; or, when a literal
    holds a bracket, every byte is measured, literals masked."""
    if max_depth >= 1 and b"{" not in raw and raw.find(b"[", 1) < 0 and b"(" not in raw:
        return False
    q = quote.encode("ascii") if quote else b""
    marks = raw.translate(None, _NOT_BRACKET_OR_QUOTE[q])
    if marks.count(b"[") + marks.count(b"{") + marks.count(b"(") <= max_depth:
        return False
    if q:
        marks = marks.replace(q + q, b"")
    chars = numpy.frombuffer(raw if q and q in marks else marks, dtype=numpy.uint8)
    steps = _DEPTH_STEP[chars]
    if q and q in marks:
        steps[inside_literals(chars, q)] = 0
    return len(steps) > 0 and int(numpy.cumsum(steps, dtype=numpy.int32).max()) > max_depth


def _code_as_json(text: str, max_depth: int):
    """:func:`_as_json` for a text without literals, where every byte is
    code: the same respellings, by bytes methods alone.  What v1 has and
    JSON does not (calls, tuples, sets, complex numbers, inf, bytes
    literals, markers, NUL) is left for JSON to refuse; what JSON has and v1
    does not (NaN, Infinity) is looked for.  Each test looks for a single
    byte first (a memchr), so that a text without it costs next to
    nothing."""
    raw = text.encode("ascii")
    if b"(" in raw or b"I" in raw or b"i" in raw or b"j" in raw \
            or (b"N" in raw and b"a" in raw and b"Na" in raw):
        # (tuples, calls, inf, complex numbers: JSON would refuse them too,
        # but perhaps only at the end of a long text)
        return _NOT_IN_PLACE
    if _too_deep(raw, None, max_depth):
        return DECLINED
    if b"T" in raw or b"F" in raw:
        raw = raw.translate(_TRUE_FALSE)
    if b"N" in raw:
        # When the letters of the text, in order, are None's and nothing
        # else, each respelt letter by letter makes each None null, in one
        # translation (a search per None costs three times as much).  Any
        # other arrangement of those letters (None cut by a comma, or run
        # into another) makes a name JSON refuses (nu, ll, nullnull).
        letters = raw.translate(None, _NOT_LETTERS)
        if letters == b"None" * (len(letters) >> 2):
            raw = raw.translate(_NONE_AS_NULL)
        else:
            raw = raw.replace(b"None", b"null")
    if b"n" in raw and b"a" in raw and b"nan" in raw:
        raw = raw.replace(b"nan", b"NaN")
    return raw.decode("ascii")


def decode_fast(text: str, constructors: dict, max_depth: int):
    """The value of the PYON v1 ``text``, or :data:`DECLINED`."""
    if _sparse(text):
        return DECLINED  # few items for its length: cheap for the v1 reader
    if not text.isascii() and _SURROGATE.search(text) is not None:
        return DECLINED  # the v1 reader joins raw surrogate pairs
    quote = _one_quote_kind(text, bytes_too=True)
    if quote is None and "\\" in text:
        value = _escaped_in_place(text, max_depth)
        if value is not _NOT_IN_PLACE:
            return value
    if quote:
        value = _NOT_IN_PLACE
        if len(text) > _IN_PIECES_OVER and quote not in text:
            value = _flat_in_place(text, max_depth)
        if value is _NOT_IN_PLACE:
            value = _set_in_place(text, quote, max_depth)
        if value is _NOT_IN_PLACE:
            value = _in_place(text, quote, max_depth)
        if value is not _NOT_IN_PLACE:
            return value
        if "b" + quote in text or "B" + quote in text:
            value = _bytes_list_in_place(text, quote)
            if value is not _NOT_IN_PLACE:
                return value
            quote = None  # perhaps a bytes literal: cut as below
    if quote:
        parts = text.split(quote)
    else:
        parts = _split_literals(text)
        if parts is None:
            return DECLINED
    codes = parts[0::2]
    code = "\x00".join(codes)
    if len(code) * _MOSTLY_LITERALS < len(text):
        return DECLINED
    try:
        code_pieces, colons = _rewrite_code(code, len(codes), max_depth)
        if quote:
            if len(parts) % 2 == 0 or "\n" in "".join(parts[1::2]):
                return DECLINED  # an unterminated literal, or one spanning lines
            parts[0::2] = code_pieces
            json_text = '"'.join(parts)  # the bodies need nothing: see _one_quote_kind
            values: list = []
        else:
            lit_pieces, values = _literal_values(parts[1::2])
            parts[0::2] = code_pieces
            parts[1::2] = lit_pieces
            json_text = "".join(parts)
    except (_Decline, ValueError, UnicodeError):
        return DECLINED
    used = [0]

    def hook(pairs):
        key, items = pairs[0]
        if len(pairs) == 1:  # a marker of one value
            if key == ":":
                return _COLON
            if key == "'":
                return values[items]
            if key == "*":
                return set()
            raise _Decline
        # a container: its opener's key first, its closer's key last, and a
        # trailing comma's key between them
        closer = pairs[-1][0]
        trailing = len(pairs) == 3
        if len(pairs) > 3 or (trailing and pairs[1][0] != ","):
            raise _Decline
        if key == "(":
            if closer != ")" or (trailing and not items):
                raise _Decline  # (], (,)
            if len(items) == 1 and not trailing:
                return items[0]  # (x) is x
            return tuple(items)
        if key == "{":
            if closer != "}" or trailing:
                raise _Decline
            if not items:
                return {}
            if len(items) >= 3 and items[1] is _COLON:
                keys, colon_marks, vals = items[0::3], items[1::3], items[2::3]
                if len(items) % 3 or not all(map(is_, colon_marks, repeat(_COLON))) \
                        or any(map(is_, keys, repeat(_COLON))) \
                        or any(map(is_, vals, repeat(_COLON))):
                    raise _Decline
                used[0] += len(colon_marks)
                _guard(keys, "dict")
                return dict(zip(keys, vals, strict=True))
            _guard(items, "set")
            return set(items)
        build = constructors.get(key)
        if build is None or closer != ")" or (trailing and not items):
            raise _Decline
        return build(*items)

    try:
        value = json.JSONDecoder(object_pairs_hook=hook, strict=False).decode(json_text)
    except _Refused as exc:
        raise DecodeError(str(exc)) from None
    except Exception:  # noqa: BLE001 - anything at all: the v1 reader decides
        return DECLINED
    if used[0] != colons:
        return DECLINED  # a ':' outside a dict
    return value
