"""PYON v1 reader: a tokenizer and a table-driven parser, never ``eval``.

PYON v1 looks like a Python expression.  This module accepts exactly the
subset of that syntax the format uses (literals, containers, the format's own
constructor calls and registered application types) and refuses everything
else with a :class:`~sipyco.errors.DecodeError` naming the offset.  Nothing in
the text is ever executed or computed: there are no operators except a sign on
a number and the ``a+bj`` form of a complex literal, so no text can make the
reader work harder than its length.

Tokenizing is done with one compiled regular expression.  Short texts are cut
in one ``findall`` call; long texts, which usually carry large base64
payloads, are walked token by token so string bodies can be skipped with
``str.find`` instead of being matched character by character.  The parser is
an explicit stack machine, so nesting is limited by an explicit bound rather
than by Python's recursion limit.
"""

from __future__ import annotations

import json.decoder
import re
import unicodedata
from operator import length_hint

import numpy

from ..errors import DecodeError, NestingTooDeep
from .specials import TAKES_VIEWS as _TAKES_VIEWS
from .specials import V1_CONSTANTS as _CONSTANTS
from .values import MAX_SHARED_HASH, guard_hash_collisions

__all__ = ["decode_v1", "DEFAULT_MAX_DEPTH"]

# Deep enough for any real data (upstream's eval-based reader stops at 200),
# shallow enough that the recursive writers can always write it back.
DEFAULT_MAX_DEPTH = 256

# Texts longer than this are tokenized in the long-text mode described above,
# where literals longer than _PREBUILD_OVER are converted by the tokenizer.
_LONG_TEXT = 1 << 16
_PREBUILD_OVER = 1 << 12
# A token the expression can never produce (a NUL is always a 1-char token).
_PREBUILT = "\x00L"

_NUMBER = (r"[-+]?(?:\d[\d_]*(?:\.[\d_]*)?(?:[eE][-+]?\d[\d_]*)?"
           r"|\.\d[\d_]*(?:[eE][-+]?\d[\d_]*)?)[jJ]?"
           r"|[-+](?:inf|nan)[jJ]?(?![A-Za-z0-9_])")
_EMPTY_SET = r"\{\s*\*\s*\(\s*\)\s*\}"
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_PUNCT = r"[][(){},:]"


def _body(q):
    # The closing quote is optional so that an unterminated literal is one
    # (refused) token, found in one linear scan.
    return f"{q}[^{q}\\\\\\n]*(?:\\\\.[^{q}\\\\\\n]*)*{q}?"


# Short-text tokenizer: string literals matched by the expression itself.
_TOKENS = re.compile(
    r"\s*(" + "|".join([
        _EMPTY_SET, _NUMBER,
        "[bB]" + _body('"'), "[bB]" + _body("'"), _body('"'), _body("'"),
        _NAME, _PUNCT, r"\S",
    ]) + ")")
# Long-text tokenizer: only the opening quote is matched; the body is found
# with str.find (or, when it has escapes, with the bodies below).
_TOKENS_LONG = re.compile(
    r"\s*(" + "|".join([_EMPTY_SET, _NUMBER, "[bB]?[\"']", _NAME, _PUNCT, r"\S"]) + ")")
_REST_OF_LITERAL = {
    '"': re.compile(r'[^"\\\n]*(?:\\.[^"\\\n]*)*(")?'),
    "'": re.compile(r"[^'\\\n]*(?:\\.[^'\\\n]*)*(')?"),
}

# Constants that can be the real part of the "a+bj" form of a complex literal.
_REAL_NAMES = frozenset(name for name, value in _CONSTANTS.items() if type(value) is float)

_ESCAPES = {
    "\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "f": "\f",
    "n": "\n", "r": "\r", "t": "\t", "v": "\v",
}
_STR_ESCAPE = re.compile(
    r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}]{1,100}\}|[0-7]{1,3}|.)")
_BYTES_ESCAPE = re.compile(r"\\(?:x[0-9a-fA-F]{2}|[0-7]{1,3}|.)")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Long literals are read by the unicode_escape codec when every escape is one
# it surely reads as _str_escape does, without a warning: not an unknown one
# (both keep it as it is, the codec with a warning), nor an octal one that
# may pass 0o377 (one starting with 4-7).
_LONG_ESCAPED = 1 << 12
# Each byte as _sure_escapes sees it: 2 for a backslash, 1 for a character
# that makes a sure escape after one, 0 for any other.
_ESCAPE_CLASS = bytearray(256)
for _c in b"xuUN0123abfnrtv'\"":
    _ESCAPE_CLASS[_c] = 1
_ESCAPE_CLASS[0x5C] = 2
_ESCAPE_CLASS = bytes(_ESCAPE_CLASS)
# Long escaped literals are read in slices of this many characters, each cut
# at a backslash found within _ESCAPE_REACH characters of the slice's end,
# a reach longer than any escape (see _decode_escaped_span).
_SPAN_CHUNK = 1 << 16
# Escape checks of bodies longer than this are done in numpy.
_BY_NUMPY = 1 << 14
_ESCAPE_REACH = 256
# A literal whose end hides behind more escaped quotes than this is cut with
# the escapes of the whole text masked once (see _escaped_literal_end).
_ESCAPED_QUOTES = 16

# Parser states and frame kinds.
_VALUE, _SEP, _AFTER_COLON = 0, 1, 2
_ROOT, _LIST, _PAREN, _CALL, _BRACE = 0, 1, 2, 3, 4
_UNDECIDED, _DICT, _SET = 0, 1, 2
_OPENERS = {"[": _LIST, "(": _PAREN, "{": _BRACE}
_NUMBER_START = frozenset("0123456789.-+")
# _TAKES_VIEWS: constructors that accept a memoryview where the text has a
# bytes literal (see _tokens_long); everything else gets bytes.
_NOT_DIGIT = frozenset(".-+")
_CLOSER_OF = {"]": (_LIST,), ")": (_PAREN, _CALL), "}": (_BRACE,)}


class _Fail(Exception):
    """Internal: a refusal tied to the index of the offending token."""

    def __init__(self, reason: str, index: int, error: type = DecodeError, **extra):
        super().__init__(reason)
        self.reason = reason
        self.index = index
        self.error = error
        self.extra = extra


def _closed(tok: str, q: str, opening: int) -> bool:
    """Whether the literal token (its opening quote at ``opening``) ends with
    an unescaped closing quote."""
    if len(tok) < opening + 2 or tok[-1] != q:
        return False
    i = len(tok) - 2
    while i > opening and tok[i] == "\\":
        i -= 1
    return (len(tok) - 2 - i) % 2 == 0


def _join_surrogates(s: str) -> str:
    # JSON-style text writes characters outside the BMP as surrogate pairs;
    # put each pair back together (lone surrogates are kept as they are).
    if _SURROGATE.search(s) is None:
        return s
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _str_escape(m: re.Match) -> str:
    esc = m.group()
    c = esc[1]
    if c in "xuU":
        return chr(int(esc[2:], 16))
    if c == "N":
        try:
            return unicodedata.lookup(esc[3:-1])
        except KeyError:
            raise ValueError(f"unknown character name in {esc!r}") from None
    if c in "01234567":
        return chr(int(esc[1:], 8))
    return _ESCAPES.get(c, esc)


def _bytes_escape(m: re.Match) -> str:
    esc = m.group()
    c = esc[1]
    if c == "x":
        return chr(int(esc[2:], 16))
    if c in "01234567":
        code = int(esc[1:], 8)
        if code > 0o377:
            raise ValueError(f"octal escape {esc!r} is out of range for bytes")
        return chr(code)
    return _ESCAPES.get(c, esc)


def _decode_str(tok: str) -> str:
    if tok[0] == '"':
        try:  # JSON escapes: the common case, done in C
            return json.decoder.scanstring(tok, 1, False)[0]
        except ValueError:
            pass
    body = tok[1:-1]
    if len(body) > _LONG_ESCAPED and body.isascii():
        value = _escapes_in_c(body.encode("ascii"))  # a long one: in C
        if value is not None:
            return _join_surrogates(value)
    return _join_surrogates(_STR_ESCAPE.sub(_str_escape, body))


def _escapes_in_c(body: bytes) -> str | None:
    """The ASCII ``body`` with its escapes read by the unicode_escape codec,
    if every escape is a sure one (see :func:`_sure_escapes`) and none is
    malformed; else None (the exact rules then read it, and refuse what
    they must, with the reason)."""
    if not _sure_escapes(body):
        return None
    try:
        return body.decode("unicode_escape")
    except UnicodeDecodeError:
        return None


def _sure_escapes(body: bytes) -> bool:
    """Whether every escape of the ASCII ``body`` is one the unicode_escape
    codec reads as :func:`_str_escape` does (without a warning).  A few
    passes in C: each byte classed (backslash, sure after one, other),
    escaped backslashes paired off (a run pairs from its first, as escapes
    do), then the character after each remaining backslash looked at."""
    end = len(body)
    while end and body[end - 1] == 0x5C:
        end -= 1
    if (len(body) - end) % 2:
        return False  # ends inside an escape
    classes = body.translate(_ESCAPE_CLASS)
    if len(classes) > _BY_NUMPY:
        # (a search for a two-byte needle whose last byte is frequent is
        # slow in C; numpy compares every neighbour pair faster)
        kinds = numpy.frombuffer(classes, dtype=numpy.uint8)
        escape = kinds[:-1] == 2
        if not (escape & (kinds[1:] == 2)).any():
            return not (escape & (kinds[1:] == 0)).any()
    if b"\x02\x02" in classes:  # escaped backslashes: runs pair from their first
        classes = classes.replace(b"\x02\x02", b"\x01\x01")
    return b"\x02\x00" not in classes


def _masked(text: str) -> str:
    """``text`` with every escaped backslash and escaped quote replaced by
    two NULs, the same length: an unescaped quote is then found with one
    ``str.find``.  (Runs of backslashes pair from their first, as escapes
    do; a backslash outside a literal is refused before this matters.)"""
    return text.replace("\\\\", "\0\0").replace("\\'", "\0\0").replace('\\"', "\0\0")


def _escaped_literal_end(text: str, pos: int, q: str, close: int,
                         masked: list) -> tuple[int, bool]:
    """Where the literal opened by the ``q`` just before ``pos`` ends (the
    index after its closing quote), when a backslash comes before the first
    ``q`` after ``pos`` (at ``close``, or -1): as the _REST_OF_LITERAL
    expression finds it, but with ``str.find`` (that expression steps
    through the escapes one by one); and whether a closing quote ends it.
    ``masked`` caches :func:`_masked`."""
    tries = 0
    while close >= 0:
        slashes = 0
        while text[close - 1 - slashes] == "\\":  # stops at the opening quote
            slashes += 1
        if slashes % 2 == 0:
            break
        tries += 1
        if tries > _ESCAPED_QUOTES:
            if not masked:
                masked.append(_masked(text))
            close = masked[0].find(q, close + 1)
            break
        close = text.find(q, close + 1)
    if close < 0 or text.find("\n", pos, close) >= 0:
        # unterminated, or spanning lines: the expression's own cut, which
        # the parser then refuses
        return _REST_OF_LITERAL[q].match(text, pos).end(), False
    return close + 1, True


def _decode_escaped_span(text: str, start: int, end: int, q: str) -> str | None:
    """The value of the long str literal whose body is ``text[start:end]``
    (escapes in it), read from ``text`` without a copy of the whole body:
    a double-quoted one by JSON's string scanner in place, if its escapes
    are JSON's; else in slices of _SPAN_CHUNK characters by the
    unicode_escape codec, each cut where no escape is (before the last
    backslash that starts one).  None when that is not sure to read as
    :func:`_decode_str` would (then the literal is read as a token)."""
    if q == '"':
        try:
            value, after = json.decoder.scanstring(text, start, False)
        except ValueError:
            pass
        else:
            if after == end + 1:
                return value
    cuts = [start]
    i = start
    while i < end:
        j = min(end, i + _SPAN_CHUNK)
        if j < end:
            # Cut before the last escape that starts near the end (an
            # escape is at most about a hundred characters long, and holds
            # no backslash); a pair of backslashes is one escape.
            k = text.rfind("\\", max(i + 1, j - _ESCAPE_REACH), j)
            if k >= 0:
                first = k
                while first > i and text[first - 1] == "\\":
                    first -= 1
                if (k - first) % 2:
                    k -= 1  # the second of a pair: cut before the pair
                if k > i:
                    j = k
        cuts.append(j)
        i = j
    # Each slice's value is appended to one string, which the interpreter
    # grows in place (a for loop, += on a local of its own): the value is
    # then built without a second copy of it, as a list of slices joined
    # at the end would need.
    value = ""
    for i, j in zip(cuts[:-1], cuts[1:], strict=True):
        piece = text[i:j]
        if not piece.isascii():
            return None
        piece = _escapes_in_c(piece.encode("ascii"))
        if piece is None:
            return None
        value += piece
    return _join_surrogates(value)


def _decode_bytes(tok: str) -> bytes:
    body = tok[2:-1]
    if not body.isascii():
        raise ValueError("bytes literals may only contain ASCII characters")
    if "\\" in body:
        return _BYTES_ESCAPE.sub(_bytes_escape, body).encode("latin-1")
    return body.encode("ascii")


def _tokens_long(text: str, offsets: list | None = None):
    """Tokenize ``text`` one token at a time (see the module docstring).

    Returns ``(tokens, prebuilt)``.  Long literals without escapes are
    converted here, straight from ``text``, to spare the copies a token would
    cost; each stands in the token list as the placeholder ``_PREBUILT`` and
    its value is the next item of ``prebuilt``.
    """
    toks = []
    prebuilt = []
    pos = 0
    end = len(text)
    match = _TOKENS_LONG.match
    raw = None  # the whole text as bytes, made once if a long bytes literal turns up
    masked: list = []  # the text with its escapes masked, made once if needed
    while pos < end:
        m = match(text, pos)
        if m is None:  # only trailing whitespace is left
            break
        tok = m.group(1)
        start = m.start(1)
        pos = m.end()
        q = tok[-1]
        if q == '"' or q == "'":
            close = text.find(q, pos)
            plain = (close >= 0 and text.find("\\", pos, close) < 0
                     and text.find("\n", pos, close) < 0)
            if plain:
                stop = close + 1
            else:  # escapes, or unterminated
                stop, closed = _escaped_literal_end(text, pos, q, close, masked)
            tok = None
            if not plain and closed and stop - pos > _PREBUILD_OVER and len(m.group(1)) == 1:
                value = _decode_escaped_span(text, pos, stop - 1, q)
                if value is not None:
                    tok = _PREBUILT
                    prebuilt.append(value)
            elif plain and close - pos > _PREBUILD_OVER:
                if len(m.group(1)) == 1:
                    tok = _PREBUILT
                    prebuilt.append(text[pos:close])
                elif text.isascii():
                    # a view into one ASCII copy of the text: array payloads
                    # are then decoded without any further copy
                    if raw is None:
                        raw = memoryview(text.encode("ascii"))
                    tok = _PREBUILT
                    prebuilt.append(raw[pos:close])
                elif text[pos:close].isascii():
                    tok = _PREBUILT
                    prebuilt.append(text[pos:close].encode("ascii"))
            if tok is None:
                tok = text[start:stop]
            pos = stop
        toks.append(tok)
        if offsets is not None:
            offsets.append(start)
    return toks, prebuilt


def _tokenize(text: str):
    if len(text) > _LONG_TEXT:
        return _tokens_long(text)
    return _TOKENS.findall(text), ()


def _offset_of(text: str, index: int) -> int:
    """Character offset of token number ``index`` (on the error path only)."""
    offsets: list = []
    _tokens_long(text, offsets)
    if index < len(offsets):
        return offsets[index]
    return len(text)


def _describe(tok: str) -> str:
    if len(tok) > 24:
        tok = tok[:20] + "..."
    return repr(tok)


def _parse(toks: list, prebuilt, constructors: dict, max_depth: int):
    stack = []
    next_prebuilt = iter(prebuilt).__next__
    ck, cur, cmode, ccomma, cname, cstart = _ROOT, [], _UNDECIDED, False, None, 0
    expect = _VALUE
    prev_real = None   # text of the real number just read, for "a+bj"
    pending = None     # a name read just before, which must be a call
    it = iter(toks)
    ntoks = len(toks)
    lh = length_hint

    def here():
        return ntoks - lh(it) - 1

    # The branches are ordered by how often each token kind occurs in
    # typical data; every branch either stores a value below or continues.
    for tok in it:
        c = tok[0]
        if pending is not None and c != "(":
            raise _Fail(f"unknown name {pending!r}", here() - 1)

        if c == ",":
            if expect != _SEP:
                raise _Fail("unexpected ','", here())
            if ck == _BRACE:
                if cmode == _DICT:
                    if len(cur) & 1:
                        raise _Fail("expected ':' after a dict key", here())
                elif cmode == _UNDECIDED:
                    cmode = _SET
            elif ck == _PAREN:
                ccomma = True
            elif ck == _ROOT:
                raise _Fail("unexpected ',' after a complete value", here())
            expect = _VALUE
            prev_real = None
            continue
        elif c == '"':
            if tok[-1] != c or tok == c or (tok[-2] == "\\" and not _closed(tok, c, 0)):
                raise _Fail("unterminated string literal", here())
            if "\\" in tok:
                try:
                    value = _decode_str(tok)
                except ValueError as exc:
                    raise _Fail(f"bad escape in string literal: {exc}", here()) from None
            else:
                value = tok[1:-1]
            prev_real = None
        elif c == ":":
            if expect != _SEP or ck != _BRACE or cmode == _SET or not len(cur) & 1:
                raise _Fail("unexpected ':'", here())
            cmode = _DICT
            expect = _AFTER_COLON
            prev_real = None
            continue
        elif c in _NUMBER_START:
            last = tok[-1]
            if last == "j" or last == "J":
                try:
                    value = complex(tok)
                except ValueError:  # e.g. "10_.5j": misplaced digit separators
                    raise _Fail(f"bad number {_describe(tok)}", here()) from None
                if prev_real is not None and expect == _SEP and (c == "-" or c == "+"):
                    # the "a+bj" form of a complex literal
                    cur[-1] = complex(float(prev_real), value.imag)
                    prev_real = None
                    continue
                prev_real = None
            else:
                try:
                    if "." in tok or "e" in tok or "E" in tok or "n" in tok:
                        value = float(tok)
                    else:
                        value = int(tok)
                except ValueError as exc:
                    if last in _NOT_DIGIT:  # a lone sign or dot
                        raise _Fail(f"unexpected {tok!r}", here()) from None
                    raise _Fail(f"bad number {_describe(tok)}: {exc}", here()) from None
                prev_real = tok
        elif c in "[({":
            if tok != c:  # "{*()}", the empty set
                value = set()
                prev_real = None
            else:
                if expect == _SEP:
                    raise _Fail(f"expected ',' before {tok!r}", here())
                if len(stack) >= max_depth:
                    raise _Fail(f"nesting deeper than max_depth={max_depth}", here(),
                                NestingTooDeep, limit=max_depth)
                stack.append((ck, cur, cmode, ccomma, cname, cstart))
                if pending is not None:
                    ck, cname, pending = _CALL, pending, None
                else:
                    ck = _OPENERS[c]
                cur, cmode, ccomma, cstart = [], _UNDECIDED, False, ntoks - lh(it) - 1
                expect = _VALUE
                prev_real = None
                continue
        elif c in "])}":
            if ck not in _CLOSER_OF[c]:
                raise _Fail(f"unexpected {tok!r}", here())
            if expect == _AFTER_COLON:
                raise _Fail("missing value after ':'", here())
            if ck == _LIST:
                value = cur
            elif ck == _PAREN:
                if ccomma:
                    value = tuple(cur)
                elif cur:
                    value = cur[0]
                else:
                    value = ()
            elif ck == _BRACE:
                try:
                    if cmode == _DICT:
                        if len(cur) & 1:
                            raise _Fail("expected ':' after a dict key", here())
                        if len(cur) > 2 * MAX_SHARED_HASH:
                            guard_hash_collisions(cur[::2], "dict")
                        pairs = iter(cur)
                        value = dict(zip(pairs, pairs, strict=False))
                    elif cur:
                        if len(cur) > MAX_SHARED_HASH:
                            guard_hash_collisions(cur, "set")
                        value = set(cur)
                    else:
                        value = {}
                except (TypeError, ValueError) as exc:  # unhashable key, hash flooding
                    kind = "dict" if cmode == _DICT else "set"
                    raise _Fail(f"cannot build {kind}: {exc}", cstart) from None
            else:
                try:
                    value = constructors[cname](*cur)
                except Exception as exc:  # noqa: BLE001 - any refusal by a builder
                    raise _Fail(f"invalid {cname}(...): {exc}", cstart - 1) from None
            ck, cur, cmode, ccomma, cname, cstart = stack.pop()
            expect = _VALUE  # the parent was waiting for this value when it opened
            prev_real = None
        elif c == "'":
            if tok[-1] != c or tok == c or (tok[-2] == "\\" and not _closed(tok, c, 0)):
                raise _Fail("unterminated string literal", here())
            try:
                value = _decode_str(tok)
            except ValueError as exc:
                raise _Fail(f"bad escape in string literal: {exc}", here()) from None
            prev_real = None
        elif (c == "b" or c == "B") and tok != c and tok[1] in "\"'":
            if not _closed(tok, tok[1], 1):
                raise _Fail("unterminated bytes literal", here())
            try:
                value = _decode_bytes(tok)
            except ValueError as exc:
                raise _Fail(f"bad bytes literal: {exc}", here()) from None
            prev_real = None
        elif c.isalpha() or c == "_":
            try:
                value = _CONSTANTS[tok]
            except KeyError:
                if tok not in constructors:
                    raise _Fail(f"unknown name {_describe(tok)}", here()) from None
                if expect == _SEP:
                    raise _Fail(f"expected ',' before {_describe(tok)}", here()) from None
                pending = tok
                continue
            prev_real = tok if tok in _REAL_NAMES else None
        elif tok == _PREBUILT:
            value = next_prebuilt()
            if type(value) is memoryview and not (ck == _CALL and cname in _TAKES_VIEWS):
                value = value.tobytes()
            prev_real = None
        else:
            raise _Fail(f"unexpected {_describe(tok)}", here())

        # ---- a complete value: store it in the enclosing container ----
        if expect == _SEP:
            raise _Fail(f"expected ',' before {_describe(tok)}", here())
        cur.append(value)
        expect = _SEP

    if pending is not None:
        raise _Fail(f"unknown name {pending!r}", ntoks - 1)
    if stack:
        raise _Fail("text ends inside an unclosed bracket", ntoks)
    if not cur:
        raise _Fail("no value in text", 0)
    return cur[0]


def decode_v1(text: str, constructors: dict, max_depth: int = DEFAULT_MAX_DEPTH):
    """Parse one PYON v1 value.  ``constructors`` maps call names to builders."""
    stripped = text.strip()
    try:
        toks, prebuilt = _tokenize(stripped)
        return _parse(toks, prebuilt, constructors, max_depth)
    except _Fail as fail:
        lead = len(text) - len(text.lstrip())
        raise fail.error(fail.reason, lead + _offset_of(stripped, fail.index),
                         **fail.extra) from None
