"""The fast path for long v1 texts reads exactly what the v1 reader reads.

``decode_fast`` rewrites v1 text as JSON for the C scanner; it may decline
any text (the v1 reader then reads it), but whenever it returns a value,
that value must be the v1 reader's, of the same types, and it must never
return one for a text the v1 reader refuses.  Checked on texts the writer
makes from generated values, on those texts damaged at random, and on the
hostile shapes it exists for.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from fractions import Fraction

import numpy
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sipyco import pyon
from sipyco._pyon import decode_v1 as exact_reader
from sipyco._pyon import v1_fast
from sipyco._pyon.decode_v1 import DEFAULT_MAX_DEPTH
from sipyco._pyon.pieces import PIECE
from sipyco._pyon.specials import V1_CALLS
from sipyco._pyon.v1_fast import (
    _NOT_IN_PLACE,
    DECLINED,
    FAST_OVER,
    _in_place,
    _one_quote_kind,
    decode_fast,
)
from sipyco.errors import DecodeError


def exact(text: str):
    return exact_reader.decode_v1(text, V1_CALLS, DEFAULT_MAX_DEPTH)


def fast(text: str):
    return decode_fast(text, V1_CALLS, DEFAULT_MAX_DEPTH)


def same(a, b) -> bool:
    """Equal values of the same types all the way down (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, numpy.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, complex):
        return same(a.real, b.real) and same(a.imag, b.imag)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (set, frozenset)):
        # (two NaNs are different members: compare what the members are)
        return sorted(map(repr, a)) == sorted(map(repr, b))
    return a == b


# ---- values the writer writes ----------------------------------------------

_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["", "'", '"', "it's", 'say "x"', "\\", "a\\nb", "(", ")", "{", ":", ",", "None",
     "inf", "null", "\x00", "\t", "é", "\u20ac", "\U0001F600", "\n"])
_hashable = st.recursive(
    st.none() | st.booleans() | st.integers() | _text | st.binary(max_size=8)
    | st.floats(allow_nan=False),
    lambda inner: st.tuples(inner, inner) | st.tuples(inner),
    max_leaves=4)
_leaf = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-2**70, max_value=2**70)
         | st.floats() | _text | st.binary(max_size=12)
         | st.complex_numbers(allow_nan=False, max_magnitude=1e10)
         | st.builds(Fraction, st.integers(), st.integers(min_value=1))
         | st.builds(slice, st.integers(0, 9), st.integers(0, 9), st.none())
         | st.builds(lambda n, t: numpy.arange(n, dtype=t), st.integers(0, 5),
                     st.sampled_from(["<i4", "<f8", "|u1", ">i2"])))
_values = st.recursive(
    _leaf,
    lambda inner: (st.lists(inner, max_size=5) | st.lists(inner, max_size=4).map(tuple)
                   | st.dictionaries(_hashable, inner, max_size=4)
                   | st.sets(_hashable, max_size=4)
                   | st.dictionaries(_text, inner, max_size=3).map(OrderedDict)),
    max_leaves=20)

# Values whose v1 text is JSON but for quotes and constants: read in place.
_plain_text = st.text(alphabet=st.characters(codec="ascii", exclude_characters="\\'\"\n"),
                      max_size=8) | st.sampled_from(["None", "nan", "True", "x:y", "[", "{}"])
_json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_infinity=False) | _plain_text,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_plain_text, inner, max_size=4),
    max_leaves=20)

_SETTINGS = settings(max_examples=400, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(_values, st.booleans())
def test_what_the_writer_writes_reads_the_same(value, pretty):
    text = pyon.encode_v1(value, pretty)
    got = fast(text)
    if got is not DECLINED:
        assert same(got, exact(text)), text


_DAMAGE = st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(
    list("()[]{},:'\"\\ bB*-+.0123456789jenaifNTFrux_\n\t") + ["None", "inf", "nan", ", )",
                                                             "{*()}", "b'", "\\x4", "1_0"]),
    st.sampled_from(["insert", "replace", "delete"])), min_size=1, max_size=4)


@_SETTINGS
@given(_json_like)
def test_json_shaped_text_is_read_in_place_exactly(value):
    text = pyon.encode_v1(value)
    quote = _one_quote_kind(text, bytes_too=True)
    if quote is None:
        return  # a literal ending in b, or both quote kinds: cut into pieces
    got = _in_place(text, quote, DEFAULT_MAX_DEPTH)
    assert got is not _NOT_IN_PLACE, text
    assert same(got, exact(text)), text


def damaged(text: str, damage) -> str:
    """``text`` with each ``(position, piece, how)`` of ``damage`` applied:
    ``piece`` inserted or written over the text there, or one character
    deleted."""
    for position, piece, how in damage:
        i = position % (len(text) + 1)
        text = text[:i] + (piece if how != "delete" else "") + text[i + (how != "insert"):]
    return text


@_SETTINGS
@given(_values | _json_like, _DAMAGE)
def test_a_damaged_text_is_never_read_differently(value, damage):
    text = pyon.encode_v1(value)
    for position, piece, how in damage:
        i = position % (len(text) + 1)
        if how == "insert":
            text = text[:i] + piece + text[i:]
        elif how == "replace":
            text = text[:i] + piece + text[i + len(piece):]
        else:
            text = text[:i] + text[i + 1:]
    try:
        expected = exact(text)
    except DecodeError:
        assert fast(text) is DECLINED, text
        return
    got = fast(text)
    if got is not DECLINED:
        assert same(got, expected), text


@_SETTINGS
@given(values=st.lists(_json_like, min_size=1, max_size=30), damage=_DAMAGE | st.just([]))
def test_in_place_in_pieces_reads_what_the_v1_reader_reads(values, damage, monkeypatch_pieces):
    # small pieces, so that short texts take the path long ones take
    text = pyon.encode_v1(values)
    text = damaged(text, damage)
    quote = _one_quote_kind(text, bytes_too=True)
    if quote is None:
        return
    got = _in_place(text, quote, DEFAULT_MAX_DEPTH)
    try:
        expected = exact(text)
    except DecodeError:
        assert got is _NOT_IN_PLACE or got is DECLINED, text
        return
    if got is not _NOT_IN_PLACE and got is not DECLINED:
        assert same(got, expected), text
    elif not damage:
        assert got is not _NOT_IN_PLACE, text  # an undamaged text is read


@pytest.fixture(scope="module")
def monkeypatch_pieces():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(v1_fast, "_PIECE", 24)
        patch.setattr(v1_fast, "_IN_PIECES_OVER", 48)
        yield


# ---- the shapes it is for are not declined ----------------------------------

N = 30_000

SHAPES = {
    "a tuple of empty lists": "(" + ",".join(["[]"] * N) + ")",
    "ints, then a tuple": "[" + "12," * N + "(1,)]",
    "many tuples": "[" + ", ".join(["(1, 2)"] * N) + "]",
    "single-quoted strings": "[" + ", ".join(["'abc'"] * N) + "]",
    "None, True, False, nan": "[" + ", ".join(["None", "True", "False", "nan"] * (N // 4)) + "]",
    "dicts of str keys": "[" + ", ".join(["{'a': 'None', 'b': [True, 1.5], 'c': {}}"] * N) + "]",
    "strings holding code": "[" + ", ".join(["'(x): {None} [nan] *j'"] * N) + "]",
    "double-quoted strings": '[' + ", ".join(['"it\'s"'] * N) + "]",
    "both quotes": "[" + ", ".join(["'a'", '"b\'"'] * (N // 2)) + "]",
    "escaped strings": "[" + ", ".join(["'a\\tb'"] * N) + "]",
    "dict with int keys": "{" + ", ".join(f"{i}: ({i}, )" for i in range(N)) + "}",
    "constants": "[" + ", ".join(["None", "True", "False", "inf", "-inf", "nan"] * (N // 6)) + "]",
    "sets": "[" + ", ".join(["{1, 2}", "{*()}"] * (N // 2)) + "]",
    "arrays": "[" + ", ".join([pyon.encode_v1(numpy.arange(3))] * (N // 10)) + "]",
    "bytes": "[" + ", ".join(["b'abc'", "b'\\x00\\n'"] * (N // 2)) + "]",
    "pretty dicts": pyon.encode_v1({f"k{i}": {"a": (i, ), "b": [i]} for i in range(N // 10)},
                                   pretty=True),
    "deep but legal": "[" + ", ".join(["[" * (DEFAULT_MAX_DEPTH - 2) + "(1, )"
                                       + "]" * (DEFAULT_MAX_DEPTH - 2)] * 150) + "]",
}


@pytest.mark.parametrize("text", list(SHAPES.values()), ids=list(SHAPES))
def test_the_long_shapes_are_read_by_the_fast_path(text):
    assert len(text) >= FAST_OVER
    got = fast(text)
    assert got is not DECLINED
    assert same(got, exact(text))
    assert same(pyon.decode(text), got)


@pytest.mark.parametrize("text, in_place", [
    ("[" + ", ".join(["'abc'"] * 100) + "]", True),
    ("[" + ", ".join(["None", "True", "False", "nan", "null", "true"] * 10) + "]", True),
    ("{'a': [1, {'b': None}], 'c': 'x'}", True),
    ("['(x): {None} [nan] *j', 'Infinity']", True),   # in literals: left alone
    ("[1, 2, 3]", True),
    ("{1: 2}", False), ("{'a', 'b'}", False), ("[(1, 2)]", False), ("[inf]", False),
    ("[NaN]", False), ("[Infinity]", False), ("[1j]", False), ("['abc]", False),
    ("['a\nb']", False), ("[b'x']", False), ("[{*()}]", False),
])
def test_in_place_takes_json_shaped_texts_only(text, in_place):
    quote = _one_quote_kind(text, bytes_too=True)
    got = _NOT_IN_PLACE if quote is None else _in_place(text, quote, DEFAULT_MAX_DEPTH)
    assert (got is not _NOT_IN_PLACE) == in_place
    if in_place:
        assert same(got, exact(text))


def test_in_place_refuses_nesting_too_deep_in_code_not_in_literals():
    deep = "[" * (DEFAULT_MAX_DEPTH + 1) + "]" * (DEFAULT_MAX_DEPTH + 1)
    assert _in_place(deep, "'", DEFAULT_MAX_DEPTH) is DECLINED
    brackets = "['" + "[" * 1000 + "']"
    assert _in_place(brackets, "'", DEFAULT_MAX_DEPTH) == ["[" * 1000]


@pytest.mark.parametrize("text", [
    "[1: 2]", "(1: 2)", "{1: 2: 3}", "{1, 2: 3}", "{1: 2, 3}", "(,)", "Fraction(, )",
    "f(1)", "None(1)", "[1, 2] [3]", "'a' 'b'", "[Infinity]", "[NaN]", "[infj]", "[1_0]",
    "[.5]", "[5.]", "[+1]", "[0x10]", "[b'\\777']", "['\ud800']",
    "[" * DEFAULT_MAX_DEPTH + "(1, )" + "]" * DEFAULT_MAX_DEPTH,
    "['a\nb']", "['abc]", "[1, ]", "{1, }",
    # a bracket closed by another kind (found by the damage test above)
    "[{)]", "[(}]", "([}", "{(})", "Fraction(1, 2}", "{1: 2)", "(1, }", "[(]", "([)]",
])
def test_what_it_cannot_be_sure_of_it_declines(text):
    # (some of these the v1 reader accepts, with its own rules: then it reads them)
    assert fast(text) is DECLINED


def test_pyon_decode_uses_it_for_long_texts_only():
    short = "[(1, ), 'a']"
    assert len(short) < FAST_OVER
    assert pyon.decode(short) == [(1,), "a"]
    long = "[" + ", ".join(["(1, )"] * 20000) + "]"
    assert len(long) >= FAST_OVER
    assert pyon.decode(long) == [(1,)] * 20000


@pytest.mark.parametrize("text", [
    "'" + "\\x41" * N + "'",                                   # one long string of escapes
    pyon.encode_v1(numpy.arange(100_000)),                     # an array
    pyon.encode_v1({"a": "x" * 100_000, "b": (1, 2)}),         # a long string among a few
], ids=["escapes", "array", "long string"])
def test_a_text_of_few_long_literals_is_left_to_the_v1_reader(text):
    # few tokens: the v1 reader is fast on it (long escaped strings are
    # decoded by the unicode_escape codec there)
    assert fast(text) is DECLINED
    assert same(pyon.decode(text), exact(text))


def test_a_complex_number_is_left_to_the_v1_reader():
    text = "[" + ", ".join(["(1.5+2j)", "(1, 2)"] * 10000) + "]"
    assert fast(text) is DECLINED
    assert pyon.decode(text) == [(1.5 + 2j), (1, 2)] * 10000


def test_a_refusal_is_still_the_v1_readers_own():
    text = "[" + ", ".join(["(1, )"] * 20000) + ", (1: 2)]"
    with pytest.raises(DecodeError, match=r"unexpected ':'") as info:
        pyon.decode(text)
    assert info.value.offset == text.index(":")


@pytest.mark.parametrize("value", [
    set(range(5000)), {"a", "b,c", "x y"} | {str(i) for i in range(3000)},
    {None, True, 1.5, "nan"} | set(range(10, 3000)),
])
def test_a_set_alone_is_read_in_place(value):
    text = pyon.encode_v1(value)
    assert same(v1_fast._set_in_place(text, _one_quote_kind(text, bytes_too=True),
                                      DEFAULT_MAX_DEPTH), exact(text))
    assert same(pyon.decode(text), value)


@pytest.mark.parametrize("text", ["{}", "{1: 2, 3: 4}", "{(1, 2), 3}", "[{1, 2}]", "{1, 2} x",
                                  "{'{x}', 'y'}"])  # (a brace in a literal: not sure)
def test_what_is_not_a_set_alone_is_left_to_the_others(text):
    assert v1_fast._set_in_place(text, "'", DEFAULT_MAX_DEPTH) is _NOT_IN_PLACE


def test_a_set_alone_is_checked_for_a_hash_flood():
    modulus = (1 << 61) - 1
    text = "{" + ", ".join(str(7 + j * modulus) for j in range(200)) + "}"
    with pytest.raises(DecodeError, match="cannot build set: more than 64"):
        v1_fast._set_in_place(text, "'", DEFAULT_MAX_DEPTH)
    with pytest.raises(DecodeError, match="more than 64"):
        exact(text)


def read_as_exactly(got, text: str) -> bool:
    """Assert that an in-place path's answer ``got`` for ``text`` is the v1
    reader's value, or _NOT_IN_PLACE (always so for a text the v1 reader
    refuses); whether the v1 reader takes the text."""
    try:
        expected = exact(text)
    except DecodeError:
        assert got is _NOT_IN_PLACE, text
        return False
    if got is not _NOT_IN_PLACE:
        assert same(got, expected), text
    return True


_flat_bytes_items = st.lists(
    st.binary(max_size=12).filter(lambda b: b.isascii() and b"\\" not in b and b"'" not in b
                                  and b"\n" not in b)
    | st.integers() | st.none() | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False),
    min_size=1, max_size=40)


@_SETTINGS
@given(_flat_bytes_items, _DAMAGE | st.just([]))
@example([b"["], [])  # found by a longer run: a bracket in a literal
def test_a_flat_list_of_bytes_is_read_in_place_exactly(items, damage):
    text = pyon.encode_v1(items)
    text = damaged(text, damage)
    quote = _one_quote_kind(text, bytes_too=True)
    if quote is None:
        return
    got = v1_fast._bytes_list_in_place(text, quote)
    if not read_as_exactly(got, text):
        return
    if not damage and any(type(item) is bytes for item in items) \
            and not any(type(item) is bool or item is None for item in items) \
            and not any(type(item) is bytes and any(c in item for c in b"[{(")
                        for item in items):
        # (v1's names are not JSON's; a bracket in a literal is declined,
        # needlessly but safely: see _bytes_list_in_place)
        assert got is not _NOT_IN_PLACE, text


@pytest.mark.parametrize("text", [
    "[b'a', 'b']",        # a str literal among them
    "['b', b'a']",
    "[b'a'b'c']",         # two literals without a comma
    "[xb'a']",            # a name before the quote
    "[b'a', [b'b']]",     # not flat
    "[b'(', b'x']",       # (a parenthesis in a literal: not sure)
    "[b'a\n']",           # a literal spanning lines
    "[b'a', b'b",         # unterminated
    "(b'a', b'b')",       # a tuple
    "b'ab'",              # not a list
    "[b'a', None]",       # v1's name, not JSON's
    "[b'\u00e9']",        # not ASCII
])
def test_what_is_not_a_flat_list_of_bytes_is_left_to_the_others(text):
    assert v1_fast._bytes_list_in_place(text, "'") is _NOT_IN_PLACE


def test_a_long_list_of_bytes_is_read_in_place():
    value = [b"abc", b"", b"x y", b"B"] * 20000 + [1, 2.5]
    text = pyon.encode_v1(value)
    assert same(v1_fast._bytes_list_in_place(text, "'"), value)
    assert same(pyon.decode(text), value)


_flat_items = st.lists(st.none() | st.booleans() | st.integers()
                       | st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=40)


@_SETTINGS
@given(items=_flat_items, damage=_DAMAGE | st.just([]))
def test_a_flat_list_of_numbers_and_names_is_read_in_pieces_exactly(items, damage,
                                                                     monkeypatch_pieces):
    text = pyon.encode_v1(items)
    text = damaged(text, damage)
    if not text.isascii() or "'" in text or '"' in text:
        return  # (the caller's cases)
    got = v1_fast._flat_in_place(text, DEFAULT_MAX_DEPTH)
    if not read_as_exactly(got, text):
        return
    if not damage and len(text) > 2 * v1_fast._PIECE and "e" not in text.replace("None", "") \
            and "-" not in text:
        assert got is not _NOT_IN_PLACE, text


@pytest.mark.parametrize("text", [
    "[None, Nonn, 1]", "[None, Noen]", "[None, Noee]", "[Null, None]",  # None's letters, moved
    "[No,ne, None]", "[NoneNone, 1]", "[None, 1, nan, NaN]", "[Infinity, 1]", "[1, 2,]",
    "[1,, 2]", "[, 1]", "[1, 2], [3]", "[1, 2]]", "[1, (2, 3)]", "[1, {}, 2]", "[1 2]", "[1_0, 2]",
    "[inf, 1]", "[1j, 2]", "[True, Talse]", "[0x1F, 2]", "[01, 2]",
])
def test_a_flat_list_is_read_as_the_v1_reader_reads_it_or_left_to_it(text, monkeypatch_pieces):
    text = text[:-1] + ", 1" * 20 + "]"  # (past a few pieces)
    got = v1_fast._flat_in_place(text, DEFAULT_MAX_DEPTH)
    read_as_exactly(got, text)


def test_a_long_flat_list_takes_the_flat_path():
    value = [None, True, False, 1, -2.5, None, 10**30] * 50_000
    text = pyon.encode_v1(value)
    only_none = "[" + ", ".join(["None"] * 100_000) + "]"
    with pytest.MonkeyPatch.context() as patch:  # (the module's fixture makes them small)
        patch.setattr(v1_fast, "_PIECE", PIECE)
        patch.setattr(v1_fast, "_IN_PIECES_OVER", 4 * PIECE)
        assert same(v1_fast._flat_in_place(text, DEFAULT_MAX_DEPTH), value)
        assert same(v1_fast._flat_in_place(only_none, DEFAULT_MAX_DEPTH), [None] * 100_000)
        assert same(pyon.decode(text), value)
