"""Input strategies: PYON values, the valid texts they encode to, mutations
of those texts, and text that is merely PYON-shaped.

Every strategy here is plain hypothesis, so a failing input shrinks: a
mutation is a list of drawn edit operations (position, kind, inserted text),
and hypothesis makes each smaller in turn.
"""

from __future__ import annotations

import functools
import re
from collections import OrderedDict

import numpy
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sipyco import pyon

__all__ = [
    "ints", "values", "hashables", "valid_text", "mutated_text", "pyon_shaped_text",
    "arbitrary_text", "as_wire", "chunked", "INTERESTING_NUMBERS", "INTERESTING_STRINGS",
]

# ---------------------------------------------------------------- values ---

INTERESTING_INTS = [
    0, 1, -1, 2, 255, 256, 2**31 - 1, 2**31, -2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63,
    -2**63, -2**63 - 1, 2**64, 2**64 + 1, 10**18, 10**40, -10**40,
]

#: Integers: small ones, any, the interesting ones, and the longest the
#: interpreter converts to text (4300 digits).
ints = st.one_of(st.integers(-1000, 1000), st.integers(), st.sampled_from(
    INTERESTING_INTS + ["longest", "-longest"]).map(
        lambda v: v if isinstance(v, int) else (-1 if v[0] == "-" else 1) * 10**4299))
_ints = ints
_floats = st.floats(allow_nan=True, allow_infinity=True)
_text = st.one_of(
    st.text(max_size=20),
    st.text(st.characters(codec="ascii"), max_size=20),
    # lone surrogates: strings PYON must carry but UTF-8 cannot encode
    st.lists(st.one_of(st.characters(categories=["Cs"]), st.characters()),
             max_size=6).map("".join),
)

# dtypes numpy arrays and scalars are drawn from (what the writers write)
_SCALAR_DTYPES = [
    "|b1", "|i1", "<i2", ">i2", "<i4", "<i8", ">i8", "|u1", "<u2", "<u4", "<u8", "<f2",
    "<f4", ">f4", "<f8", "<c8", "<c16", "|S3", "<U2", "<M8[s]", "<m8[ms]",
]
_STRUCTURED = [numpy.dtype([("a", "<i4"), ("b", "<f8")]),
               numpy.dtype([("x", "|u1", (2,)), ("y", "<U1")])]


def _arrays() -> st.SearchStrategy:
    dtypes = st.sampled_from([numpy.dtype(d) for d in _SCALAR_DTYPES] + _STRUCTURED)
    shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
    return dtypes.flatmap(lambda d: hnp.arrays(d, shapes))


def _numpy_scalars() -> st.SearchStrategy:
    dtypes = st.sampled_from(["|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f2",
                              "<f4", "<f8", "<c8", "<c16"])
    return dtypes.flatmap(lambda d: hnp.arrays(numpy.dtype(d), ()).map(lambda a: a[()]))


# Strategies are built once per set of arguments (functools.cache): a
# recursive strategy built anew inside each draw makes hypothesis see
# "inconsistent data generation" when it replays an input.

@functools.cache
def hashables() -> st.SearchStrategy:
    """Values usable as dict keys and set elements."""
    leaves = st.one_of(st.none(), st.booleans(), _ints, _floats, _text, st.binary(max_size=8),
                       st.complex_numbers(), st.fractions())
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=3).map(tuple),
                        max_leaves=4)


@functools.cache
def values(max_leaves: int = 12) -> st.SearchStrategy:
    """Anything PYON v1 and v2 both write: the builtin types, OrderedDict,
    Fraction, complex, slice, bytes, sets, numpy arrays and scalars, nested."""
    opt_int = st.one_of(st.none(), _ints)
    leaves = st.one_of(
        st.none(), st.booleans(), _ints, _floats, _text, st.binary(max_size=16),
        st.complex_numbers(), st.fractions(), st.builds(slice, opt_int, opt_int, opt_int),
        _arrays(), _numpy_scalars(),
    )
    keys = hashables()

    def containers(inner):
        return st.one_of(
            st.lists(inner, max_size=5),
            st.lists(inner, max_size=5).map(tuple),
            st.dictionaries(keys, inner, max_size=4),
            st.dictionaries(_text, inner, max_size=4),
            st.dictionaries(_text, inner, max_size=4).map(lambda d: OrderedDict(d)),
            st.sets(keys, max_size=4),
        )

    return st.recursive(leaves, containers, max_leaves=max_leaves)


@functools.cache
def valid_text(version: int | None = None, max_leaves: int = 12) -> st.SearchStrategy:
    """Valid PYON text of a random value: v1 or v2 (or either, drawn)."""
    writers = {1: pyon.encode_v1, 2: pyon.encode_v2}
    versions = st.just(version) if version else st.sampled_from([1, 2])
    return st.tuples(versions, values(max_leaves), st.booleans()).map(
        lambda t: writers[t[0]](t[1], pretty=t[2]))


# ------------------------------------------------------------- mutations ---

#: Numbers worth putting where a number was (shapes, lengths, indices).
INTERESTING_NUMBERS = [
    "0", "-0", "-1", "1", "255", "256", "65536", "2147483647", "2147483648", "4294967296",
    "9223372036854775807", "9223372036854775808", "-9223372036854775809", "18446744073709551616",
    "99999999999999999999999999", "1e308", "1e309", "-1e309", "1e-400", "0.5", "1.5e3",
    "1_000", "0x10", "0o7", "1__0", "1e", "1e+", ".5", "5.", "1j", "-1j", "+inf", "-nan",
    "nan", "inf", "NaN", "Infinity", "-Infinity", "1+2j", "1-j", "0e0", "00", "01",
]

#: Strings worth putting where a string was (dtypes, jsonclass names, data).
INTERESTING_STRINGS = [
    "", "O", "|O", "<O8", "object", "V", "|V0", "V99999999999", "<U0", "<U2147483647",
    "|S0", "|S9223372036854775807", "<M8", "<M8[as]", "<m8[Y]", "<i8", ">f8", "<f16",
    "(2,)i4", "i4,i4", "(0,)i4", "(99999999,99999999)f8", "[('a','<i4')]", "<i4,<i4", "b1",
    "<c32", "nparray", "npscalar", "slice", "Fraction", "OrderedDict", "tuple", "set",
    "dict", "complex", "bytes", "list", "__jsonclass__", "AAAA", "AA==", "A===", "====",
    "\\u0000", "\\ud800", "\\udc00\\ud800", "\x00", "é", "\U0001f600",
]

# Text pieces a mutation inserts: the grammar's punctuation and names.
_SNIPPETS = [
    "[", "]", "(", ")", "{", "}", ",", ":", " ", "\n", "\t", '"', "'", "\\", "b'", 'b"',
    "*", "{*()}", "*()", "-", "+", ".", "e", "E", "j", "_", "0", "9", "null", "None",
    "true", "True", "false", "False", "inf", "nan", "infj", "nanj", "NaN", "Infinity",
    "nparray(", "npscalar(", "slice(", "Fraction(", "OrderedDict(", "OrderedDict([", "tuple(",
    "set(", "dict(", "bytes(", "list(", "eval(", "__import__(", "os", "lambda",
    '{"__jsonclass__":', '"__jsonclass__"', '["nparray",', '["npscalar",', '["set",[',
    '["dict",[', '["tuple",[', '["bytes",[', '["complex",[', '["Fraction",[', '["slice",[',
    '["OrderedDict",[', '["nope",[', '"<i8"', '"|O"', '"<U1"', "\\x", "\\u", "\\U", "\\N{",
    "\\ud800", "\\u00e9", "\\x00", "\x00", "\x7f", "\x80", "é", "\ud800", "\U0001f600",
    "\u2028", "\ufeff", "1e999", "-0.0", "(,)", "(1,)", "[,]", "{,}", "{:}", "[]", "{}",
    "()",
]

_BRACKETS = "[](){}"
_NEST = [("[", "]"), ("(", ",)"), ("{", "}"), ('{"a":', "}"), ("{1:", "}"), ("{(", ")}"),
         ("OrderedDict([(1,", ")])"), ('{"__jsonclass__":["tuple",[[', "]]]}"),
         ('{"__jsonclass__":["set",[[', "]]]}"), ("[1,", "]"), ("slice(", ",1,1)")]
_NUMBER = re.compile(r"-?\d[\d_.eE+-]*j?")
_STRING = re.compile(r"""b?"[^"\\]*(?:\\.[^"\\]*)*"|b?'[^'\\]*(?:\\.[^'\\]*)*'""")

_positions = st.integers(min_value=0, max_value=1 << 30)  # taken modulo the length


def _at(n: int, length: int) -> int:
    return n % (length + 1)


def _span(a: int, b: int, length: int) -> tuple[int, int]:
    i, j = _at(a, length), _at(b, length)
    return (i, j) if i <= j else (j, i)


# Lengths of digit runs and depths of nesting, the large ones rarer (a text
# of 100,000 levels is long, and one in a few hundred inputs is plenty).
_counts = st.sampled_from(list(range(1, 9)) * 4 + [17, 20, 40, 255, 256, 257, 309, 310, 1000,
                                                   4299, 4300, 4301, 6000, 50_000])
_depths = st.sampled_from(list(range(1, 21)) * 5 + [255, 256, 257, 500, 999, 1000, 1001,
                                                    3000] * 2 + [10_000, 100_000])
_chars = st.one_of(st.sampled_from(list(_BRACKETS + ",:\"' \\.-+0123456789ejbn*\x00\n")),
                   st.characters())
_snippets = st.one_of(st.sampled_from(_SNIPPETS), st.text(max_size=4))


@st.composite
def _edit(draw, donor: st.SearchStrategy[str]):
    """One edit: a function text -> text, with everything it needs drawn."""
    kind = draw(st.sampled_from([
        "flip", "insert", "delete", "truncate", "splice", "duplicate", "bracket",
        "digits", "nest", "number", "string",
    ]))
    a, b = draw(_positions), draw(_positions)
    if kind == "flip":
        c = draw(_chars)
        return lambda t: t[:_at(a, len(t) - 1)] + c + t[_at(a, len(t) - 1) + 1:] if t else c
    if kind == "insert":
        s = draw(_snippets)
        return lambda t: t[:_at(a, len(t))] + s + t[_at(a, len(t)):]
    if kind == "delete":
        return lambda t: t[:_span(a, b, len(t))[0]] + t[_span(a, b, len(t))[1]:]
    if kind == "truncate":
        return lambda t: t[:_at(a, len(t))]
    if kind == "splice":
        other = draw(donor)
        c, d = draw(_positions), draw(_positions)

        def splice(t):
            i, j = _span(c, d, len(other))
            return t[:_at(a, len(t))] + other[i:j] + t[_at(a, len(t)):]
        return splice
    if kind == "duplicate":
        times = draw(st.integers(1, 3))

        def duplicate(t):
            i, j = _span(a, b, len(t))
            return t[:j] + t[i:j] * times + t[j:]
        return duplicate
    if kind == "bracket":
        action = draw(st.sampled_from(["remove", "double", "swap"]))
        swap_to = draw(st.sampled_from(list(_BRACKETS)))

        def bracket(t):
            where = [i for i, c in enumerate(t) if c in _BRACKETS]
            if not where:
                return t[:_at(a, len(t))] + swap_to + t[_at(a, len(t)):]
            i = where[a % len(where)]
            if action == "remove":
                return t[:i] + t[i + 1:]
            if action == "double":
                return t[:i + 1] + t[i] + t[i + 1:]
            return t[:i] + swap_to + t[i + 1:]
        return bracket
    if kind == "digits":
        n = draw(_counts)
        digit = draw(st.sampled_from("0123456789_"))
        prefix = draw(st.sampled_from(["", "-", "+", "1", "0.", "."]))
        suffix = draw(st.sampled_from(["", "j", ".5", "e9", "e-9999", "e" + "9" * 30, "_"]))
        run = prefix + ("1" if digit in "0_" else "") + digit * n + suffix
        return lambda t: t[:_at(a, len(t))] + run + t[_at(a, len(t)):]
    if kind == "nest":
        opener, closer = draw(st.sampled_from(_NEST))
        depth = draw(_depths)
        balanced = draw(st.sampled_from(["both", "open", "close"]))

        def nest(t):
            i, j = _span(a, b, len(t))
            left = opener * depth if balanced != "close" else ""
            right = closer * depth if balanced != "open" else ""
            return t[:i] + left + t[i:j] + right + t[j:]
        return nest
    if kind == "number":
        new = draw(st.one_of(st.sampled_from(INTERESTING_NUMBERS), _ints.map(str)))

        def number(t):
            found = list(_NUMBER.finditer(t))
            if not found:
                return t[:_at(a, len(t))] + new + t[_at(a, len(t)):]
            m = found[a % len(found)]
            return t[:m.start()] + new + t[m.end():]
        return number
    # string: replace a string literal's body
    new = draw(st.one_of(st.sampled_from(INTERESTING_STRINGS), st.text(max_size=6)))

    def string(t):
        found = list(_STRING.finditer(t))
        if not found:
            return t[:_at(a, len(t))] + '"' + new + '"' + t[_at(a, len(t)):]
        m = found[a % len(found)]
        quote_at = m.start() + (1 if t[m.start()] in "bB" else 0)
        q = t[quote_at]
        return t[:quote_at + 1] + new.replace(q, "\\" + q) + q + t[m.end():]
    return string


def mutated_text(base: st.SearchStrategy[str] | None = None,
                 max_edits: int = 5) -> st.SearchStrategy[str]:
    """A valid text (from ``base``, default: v1 or v2 of a random value) with
    1 to ``max_edits`` edits applied in turn."""
    base = valid_text() if base is None else base

    @st.composite
    def build(draw):
        text = draw(base)
        for edit in draw(st.lists(_edit(base), min_size=1, max_size=max_edits)):
            text = edit(text)
        return text
    return build()


# ------------------------------------------------ the hostile shapes ---

_MODULUS = 2**61 - 1  # ints k * _MODULUS + c all hash to c


def _colliding(n: int, distinct: int) -> list[int]:
    return [k * _MODULUS + 7 for k in range(1, n + 1)] + list(range(100, 100 + distinct))


@functools.cache
def hostile_text(version: int) -> st.SearchStrategy[str]:
    """The hostile requests of issue 17's tables, at sizes drawn small
    enough for a fuzz input: zero-size dtypes with huge shapes, hash floods
    mixed with distinct keys, tuples of lists, ints ending in a tuple,
    strings of escapes, long lists of empty lists, escaped quotes that never
    close, deep nesting."""
    n = st.integers(1, 3000)
    big = st.sampled_from([1, 1000, 100000, 10**9, 10**18])
    if version == 1:
        shapes = [
            st.builds(lambda a, b: f'nparray(({a}, {b}), "|S0", b"")', big, big),
            st.builds(lambda a, b: f'nparray(({a}, {b}), [("a", "<i4", (0,))], b"")', big, big),
            st.builds(lambda a, b: "{" + ", ".join(f"{k}: 0" for k in _colliding(a, b)) + "}",
                      st.integers(0, 200), st.integers(0, 200)),
            st.builds(lambda a, b: "{" + ", ".join(map(str, _colliding(a, b))) + "}",
                      st.integers(0, 200), st.integers(0, 200)),
            n.map(lambda k: "(" + "[]," * k + ")"),
            n.map(lambda k: "[" + "12," * k + "(1,)]"),
            n.map(lambda k: "'" + "\\x41" * k + "'"),
            n.map(lambda k: '"' + '\\"' * k),
            st.integers(1, 400).map(lambda k: "(" * k + ")" * k),
        ]
    else:
        shapes = [
            st.builds(lambda a, b: '{"__jsonclass__": ["nparray", [['
                      + f'{a}, {b}' + '], "|S0", ""]]}', big, big),
            st.builds(lambda a, b: '{"__jsonclass__": ["set", [[' + ", ".join(
                map(str, _colliding(a, b))) + "]]]}", st.integers(0, 200), st.integers(0, 200)),
            n.map(lambda k: "[" + "[]," * k + "[]]"),
            n.map(lambda k: '"' + "\\u0041" * k + '"'),
            st.integers(1, 1200).map(lambda k: "[" * k + "]" * k),
        ]
    return st.one_of(shapes)


# ----------------------------------------------------- not-quite-PYON text ---

_TOKENS = _SNIPPETS + INTERESTING_NUMBERS + ['"' + s + '"' for s in INTERESTING_STRINGS]


@functools.cache
def pyon_shaped_text() -> st.SearchStrategy[str]:
    """Text made of PYON's tokens in random order (deeper coverage than
    random characters, which the tokenizer refuses at once)."""
    token = st.one_of(st.sampled_from(_TOKENS), st.text(max_size=3))
    return st.lists(token, max_size=40).map("".join)


@functools.cache
def arbitrary_text() -> st.SearchStrategy[str]:
    """Any text: random characters (surrogates included), PYON's alphabet,
    or its tokens."""
    alphabet = st.sampled_from(list(_BRACKETS + ",:\"'\\ .-+0123456789abejnluxNTFI*_\n"))
    return st.one_of(
        hostile_text(1),
        hostile_text(2),
        st.text(),
        st.text(st.characters(codec="ascii")),
        st.text(alphabet, max_size=60),
        st.lists(st.one_of(st.characters(categories=["Cs"]), st.characters()),
                 max_size=12).map("".join),
        pyon_shaped_text(),
    )


# ------------------------------------------------------------- the wire ---

@st.composite
def as_wire(draw, text: str) -> str | bytes:
    """``text`` as a reader may be handed it: the str itself, its UTF-8
    bytes (lone surrogates encoded as they are, so not valid UTF-8), or
    those bytes with a few of them replaced by arbitrary ones."""
    form = draw(st.sampled_from(["str", "bytes", "raw"]))
    if form == "str":
        return text
    data = text.encode("utf-8", "surrogatepass")
    if form == "raw":
        flips = draw(st.lists(st.tuples(_positions, st.integers(0, 255)), max_size=3))
        buf = bytearray(data)
        for at, byte in flips:
            if buf:
                buf[at % len(buf)] = byte
            else:
                buf.append(byte)
        data = bytes(buf)
    return data


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` split at the given positions (taken modulo its length)."""
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[i:j] for i, j in zip(points, points[1:], strict=False) if j > i]
