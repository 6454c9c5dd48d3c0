"""Reading long texts in pieces (sipyco/_pyon/pieces.py): the same values
and refusals as reading them whole, and no piece longer than it should be."""

from __future__ import annotations

import json

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sipyco import pyon
from sipyco._pyon.pieces import NotInPieces, read_in_pieces
from sipyco.errors import DecodeError

PLAIN = json.JSONDecoder()

# Strings full of what a cut could be fooled by: commas, brackets, quotes,
# backslashes, colons.
tricky_text = st.text(alphabet=',[]{}:"\\ ab\t', max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | tricky_text
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=8) | st.dictionaries(tricky_text, inner, max_size=6),
    max_leaves=60)


def pieces_of(text: str, piece: int, object_hook=None) -> tuple[object, list[str]]:
    """The value read in pieces, and every piece text the reader decoded."""
    seen: list[str] = []

    def decode_piece(s: str, level: int):
        seen.append(s)
        return PLAIN.decode(s)

    return read_in_pieces(text, decode_piece, piece=piece, object_hook=object_hook), seen


@settings(max_examples=300, deadline=None)
@given(st.lists(json_values, min_size=1, max_size=40), st.sampled_from([8, 16, 64, 256]),
       st.sampled_from([None, 1]))
def test_a_text_read_in_pieces_is_the_text_read_whole(values, piece, indent):
    text = json.dumps(values, indent=indent)
    try:
        got, _ = pieces_of(text, piece)
    except NotInPieces as exc:
        assert not exc.refused  # a valid text is never refused
        return
    assert got == values


@settings(max_examples=300, deadline=None)
@given(st.lists(json_values, min_size=1, max_size=40), st.sampled_from([8, 16, 64]),
       st.data())
def test_a_damaged_text_is_refused_or_read_as_json_reads_it(values, piece, data):
    text = json.dumps(values)
    at = data.draw(st.integers(0, len(text) - 1))
    put = data.draw(st.sampled_from(["", ",", "]", "}", '"', "\\", ":", "[", "{"]))
    damaged = text[:at] + put + text[at + 1:]
    try:
        expected = json.loads(damaged)
    except ValueError:
        expected = DecodeError
    try:
        got, _ = pieces_of(damaged, piece)
    except NotInPieces as exc:
        # refused only if JSON refuses it too; else left to the ordinary reader
        if exc.refused:
            assert expected is DecodeError, damaged
        return
    assert expected is not DecodeError, damaged
    assert got == expected


def test_no_piece_is_much_longer_than_a_piece():
    values = {"args": [[list(range(50)), "a,b", {"k": [1, 2]}] for _ in range(2000)],
              "kwargs": {f"key{i}": i for i in range(3000)}}
    text = json.dumps(values)
    got, seen = pieces_of(text, 1024)
    assert got == values
    assert len(seen) > len(text) // 1024
    # a run is at most a window (and the brackets around it)
    assert max(map(len, seen)) <= 1024 + 2


def test_a_long_literal_is_one_piece_whatever_its_length():
    values = ["x" * 5000, ["y" * 3000, 1]]
    got, seen = pieces_of(json.dumps(values), 256)
    assert got == values
    assert max(map(len, seen)) >= 5000


@pytest.mark.parametrize("text, refused", [
    ("[" + "1, " * 500 + "1,]", True),       # a trailing comma
    ("[" + "1, " * 500 + ", 1]", True),      # an empty item
    ("[" + "1, " * 500 + "1] x", True),      # text after the value
    ("[" + "1, " * 500 + "1", True),         # never closed
    ("[1, 2]", False),                       # short: left to the ordinary reader
    ('"' + "a" * 5000 + '"', False),         # not a container
    ("[" + "\u00e9, " * 500 + "]", False),   # not ASCII
])
def test_what_is_not_read_in_pieces(text, refused):
    with pytest.raises(NotInPieces) as info:
        pieces_of(text, 256)
    assert info.value.refused is refused


def test_an_object_read_in_runs_meets_its_hook_once_and_whole():
    hooked = []

    def hook(obj):
        hooked.append(len(obj))
        return obj

    values = {f"k{i}": i for i in range(2000)}
    got, _ = pieces_of(json.dumps(values), 512, object_hook=hook)
    assert got == values
    assert hooked == [2000]


def big_request(payload) -> dict:
    return {"action": "call", "name": "echo", "args": [payload], "kwargs": {}}


@pytest.mark.parametrize("payload", [
    list(range(100_000)),
    [""] * 50_000,
    {f"key{i}": [i, str(i)] for i in range(20_000)},
    [(i, {i}) for i in range(5_000)],
    [numpy.arange(10), numpy.zeros((3, 4)), b"bytes", 1 + 2j] * 3_000,
])
@pytest.mark.parametrize("version", [1, 2])
def test_decode_in_pieces_reads_what_decode_reads(payload, version):
    text = pyon.encode_v1(big_request(payload)) if version == 1 \
        else pyon.encode_v2(big_request(payload))
    whole = pyon.decode(text)
    got = pyon.decode_in_pieces(text)
    assert pyon.encode_v2(got) == pyon.encode_v2(whole)
    if version == 2:
        assert pyon.encode_v2(pyon.decode_in_pieces(text, v2_only=True)) == pyon.encode_v2(whole)


@pytest.mark.parametrize("damage, exact", [
    (lambda t: t[:-1], False),                                       # never closed
    (lambda t: t.replace("12345", "12345,,", 1), False),             # an empty item
    (lambda t: t.replace("12345", "12345 12", 1), False),            # a missing comma
    (lambda t: t.replace('"nparray"', '"no_such_class"', 1), True),  # an unknown jsonclass
    (lambda t: t.replace("99999", '{"__jsonclass__": ["tuple"]}', 1), True),  # malformed
])
def test_decode_in_pieces_refuses_what_decode_refuses(damage, exact):
    """The same error, where it is a value refused; for broken syntax, the
    same kind of error at (about) the same place: the text is not read again
    whole for its exact words, which would hold the interpreter lock as
    long as the whole reading."""
    text = damage(pyon.encode_v2(big_request([numpy.arange(3)] + list(range(100_000)))))
    for read_whole, v2_only in ((pyon.decode_v2, True), (pyon.decode, False)):
        # (decode reads a text that is not JSON as v1: its error is v1's)
        with pytest.raises(DecodeError) as whole:
            read_whole(text)
        with pytest.raises(DecodeError) as pieces:
            pyon.decode_in_pieces(text, v2_only=v2_only)
        if exact:
            assert type(pieces.value) is type(whole.value)
            assert str(pieces.value) == str(whole.value)
        else:
            assert pieces.value.reason.split(":")[0] == whole.value.reason.split(":")[0]
            assert abs(pieces.value.offset - whole.value.offset) <= 64, (pieces.value, whole.value)


def test_a_refused_v1_text_is_not_read_again_whole():
    text = pyon.encode_v1(big_request(list(range(100_000)))).replace("12345", "12345 12", 1)
    with pytest.raises(DecodeError) as whole:
        pyon.decode(text)
    with pytest.raises(DecodeError) as pieces:
        pyon.decode_in_pieces(text)
    assert abs(pieces.value.offset - whole.value.offset) <= 64, (pieces.value, whole.value)


def test_decode_in_pieces_keeps_the_item_limit():
    text = pyon.encode_v2(list(range(1000)))
    with pytest.raises(DecodeError, match="max_items=100"):
        pyon.decode_in_pieces(text, max_items=100)


# ------------------------------------------------------------------ v1 ---

V1_CALLS = pyon._default._tables()._v1_calls


def v1_piece(text: str, level: int):
    from sipyco._pyon.decode_v1 import DEFAULT_MAX_DEPTH, decode_v1
    from sipyco._pyon.v1_fast import DECLINED, decode_fast

    value = decode_fast(text, V1_CALLS, DEFAULT_MAX_DEPTH - level)
    return decode_v1(text, V1_CALLS, DEFAULT_MAX_DEPTH - level) if value is DECLINED else value


v1_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | tricky_text
    | st.text(alphabet="'\"(),", max_size=6) | st.binary(max_size=6) | st.complex_numbers(
        allow_nan=False, allow_infinity=False, max_magnitude=1e6),
    lambda inner: st.lists(inner, max_size=8) | st.lists(inner, max_size=8).map(tuple)
    | st.dictionaries(st.integers(0, 50) | tricky_text, inner, max_size=6)
    | st.frozensets(st.integers(0, 50), max_size=5).map(set),
    max_leaves=60)


@settings(max_examples=300, deadline=None)
@given(st.lists(v1_values, min_size=1, max_size=30).map(tuple) | st.lists(v1_values, max_size=30),
       st.sampled_from([16, 64, 256]))
def test_a_v1_text_read_in_pieces_is_the_text_read_whole(values, piece):
    text = pyon.encode_v1(values)
    try:
        got = read_in_pieces(text, v1_piece, v1=True, piece=piece)
    except NotInPieces as exc:
        assert not exc.refused, exc  # a valid text is never refused
        return
    assert pyon.encode_v1(got) == pyon.encode_v1(pyon.decode_v1(text))
    assert type(got) is type(values)


@pytest.mark.parametrize("text, value", [
    ("(" + "1, " * 300 + "2)", tuple([1] * 300 + [2])),
    ("(" + "1, " * 300 + "2,)", tuple([1] * 300 + [2])),
    ("(" + "1, " * 300 + "2, )", tuple([1] * 300 + [2])),
    ("([" + "1, " * 300 + "2])", [1] * 300 + [2]),    # (x) is x
    ("([" + "1, " * 300 + "2],)", ([1] * 300 + [2],)),
    ("{'k': (" + "'a', " * 300 + "'b',)}", {"k": tuple(["a"] * 300 + ["b"])}),
])
def test_v1_tuples_read_in_pieces(text, value):
    assert read_in_pieces(text, v1_piece, v1=True, piece=64) == value


def test_a_v1_dict_read_in_runs_is_checked_for_hash_floods_whole():
    # 200 int keys of one hash: no run of 64 characters holds 64 of them,
    # the dict does
    modulus = (1 << 61) - 1
    keys = [7 + j * modulus for j in range(200)]
    assert len({hash(k) for k in keys}) == 1
    text = "{" + ", ".join(f"{k}: 0" for k in keys) + "}"
    with pytest.raises(NotInPieces, match="share a hash value"):
        read_in_pieces(text, v1_piece, v1=True, piece=64)
    with pytest.raises(DecodeError, match="share a hash value"):
        pyon.decode_in_pieces(text)


def test_windows_with_both_quote_kinds_are_cut_where_they_must_be():
    text = "[" + ", ".join(["'a\"b, ]'", '"c\'d, ]"', "'\\', ]'"] * 100) + "]"
    value = ['a"b, ]', "c'd, ]", "', ]"] * 100
    seen = []

    def piece(s, level):
        seen.append(s)
        return v1_piece(s, level)

    assert read_in_pieces(text, piece, v1=True, piece=64) == value
    assert len(seen) > 10
    assert pyon.decode_in_pieces(text) == value


@pytest.mark.parametrize("v1", [False, True])
def test_an_empty_item_at_a_cut_is_refused(v1):
    """Found by the pyon-pieces fuzz target: a cut at the second of two
    commas left a run ending in a trailing comma, which v1 takes in a list."""
    text = "[" + "[]," * 64 + "," + "[]," * 60 + "[]]"
    read = v1_piece if v1 else (lambda s, level: PLAIN.decode(s))
    with pytest.raises(NotInPieces, match="an empty item") as info:
        read_in_pieces(text, read, v1=v1, piece=48)
    assert info.value.refused
    with pytest.raises(DecodeError):
        pyon.decode_in_pieces(text)
