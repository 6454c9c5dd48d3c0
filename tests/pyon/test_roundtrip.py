"""Every supported value survives encode -> decode, in both versions, with its
exact type (and for arrays dtype, shape and bytes) preserved."""

from __future__ import annotations

import json
import math
from collections import OrderedDict, namedtuple
from fractions import Fraction

import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from support.pyon import assert_same

from sipyco import pyon

inf, nan = math.inf, math.nan

Codec = namedtuple("Codec", "encode decode ordered")

CODECS = {
    "v1-decode": Codec(pyon.encode, pyon.decode, True),
    "v1-decode_v1": Codec(pyon.encode, pyon.decode_v1, True),
    "v1-pretty": Codec(lambda x: pyon.encode(x, pretty=True), pyon.decode, False),
    "v2-decode": Codec(pyon.encode_v2, pyon.decode, True),
    "v2-decode_v2": Codec(pyon.encode_v2, pyon.decode_v2, True),
}


@pytest.fixture(params=list(CODECS))
def codec(request):
    return CODECS[request.param]


def roundtrip(codec, value):
    text = codec.encode(value)
    assert isinstance(text, str) and text.isascii()
    return codec.decode(text)


_grid = numpy.arange(24, dtype="<f8").reshape(4, 6)
_struct_dtype = numpy.dtype([("name", "<U8"), ("pos", "<f8", (3,)), ("flag", "?")])
_nested_dtype = numpy.dtype([("a", [("x", "<i2"), ("y", ">f4")]), ("b", "|S3")])

VALUES = {
    # scalars
    "None": None, "True": True, "False": False,
    "int": 12345, "negative-int": -1, "big-int": -(3**200),
    "float": 0.1, "float-tiny": 5e-324, "float-huge": -1.7976931348623157e308,
    "inf": inf, "-inf": -inf, "nan": nan, "-0.0": -0.0,
    "complex": 1 - 9j, "complex-1j": 1j, "complex-signed-zeros": complex(-0.0, -0.0),
    "complex-inf": complex(1, inf), "complex-nan": complex(nan, -inf),
    "str": "hello", "str-empty": "", "str-controls": "\x00\x01\n\r\t\x7f\\\"'",
    "str-unicode": "\u00e9\u2028\uffff", "str-non-bmp": "\U0001F600", "str-non-bmp-mixed":
        "a\U0001F600b\U00010000\U0010FFFF",
    "bytes": b"ab\x00", "bytes-quotes": b"it's \"quoted\"", "bytes-all": bytes(range(256)),
    "bytes-empty": b"",
    # containers
    "tuple-empty": (), "tuple-1": (1,), "tuple": (1, "2", None),
    "tuple-nested": ((), ((1,),), [()]),
    "list-empty": [], "list": [1, [2, [3, []]]], "list-of-tuples": [(1,), (2, 3)],
    "set-empty": set(), "set": {1, 2, 3}, "set-mixed": {None, "a", b"b", (1, (2,)), 2.5},
    "set-of-empty-tuple": {()}, "empty-set-in-list": [set(), {1}],
    "empty-set-as-dict-value": {"s": set()},
    "dict-empty": {}, "dict-str": {"a": 1, "b": [2]}, "dict-int": {1: 2, -3: 4},
    "dict-tuple-key": {(1, 2): "x", (): "y"}, "dict-mixed-keys": {"a": 1, 2: "b", (3,): None},
    "dict-exotic-keys": {None: 0, True: 1, 2.5: 2, b"k": 3, -inf: 4, 1j: 5,
                         Fraction(1, 3): 6},
    "dict-nested": {"a": {"b": {"c": {}}}},
    # special types
    "slice": slice(1, 2, None), "slice-none": slice(None), "slice-all": slice(-1, 10, -2),
    "slice-odd-parts": slice("a", b"b", (1,)),
    "fraction": Fraction(3, 4), "fraction-negative": Fraction(-22, 7), "fraction-big":
        Fraction(10**40 + 1, 3**50),
    "ordereddict": OrderedDict([("b", 0), ("a", 1)]), "ordereddict-empty": OrderedDict(),
    "ordereddict-keys": OrderedDict([((1,), 2), (3, "x"), ("s", OrderedDict([(None, 1)]))]),
    # arrays
    "array-i8": numpy.arange(5), "array-i4-big-endian": numpy.arange(5, dtype=">i4"),
    "array-f8-big-endian": numpy.linspace(0, 1, 7).astype(">f8"),
    "array-fortran": numpy.asfortranarray(_grid),
    "array-strided": numpy.arange(10)[::2], "array-reversed": numpy.arange(6.0)[::-1],
    "array-transposed": _grid.T, "array-column": _grid[:, 1], "array-block": _grid[1:3, ::2],
    "array-empty": numpy.zeros((0,)), "array-empty-2d": numpy.zeros((2, 0), dtype="<i2"),
    "array-empty-3d": numpy.zeros((0, 3, 2), dtype="|u1"),
    "array-0d-int": numpy.array(7), "array-0d-float": numpy.array(-0.0),
    "array-3d": numpy.arange(24, dtype="<u2").reshape(2, 3, 4),
    "array-bool": numpy.array([[True, False], [False, True]]),
    "array-str": numpy.array(["ab", "\u00e9\U0001F600", ""]),
    "array-bytes": numpy.array([b"ab", b"\x00\xff"]),
    "array-complex128": numpy.array([1 + 2j, complex(nan, -inf)]),
    "array-complex64": numpy.array([1 - 1j], dtype="<c8"),
    "array-float16": numpy.array([0.5, -65504.0, inf], dtype="<f2"),
    "array-special-floats": numpy.array([nan, -0.0, inf, -inf, 5e-324]),
    "array-uint64": numpy.array([2**64 - 1, 0], dtype="<u8"),
    "array-int8": numpy.array([-128, 127], dtype="|i1"),
    "array-structured": numpy.array([("a", (1.0, 2.0, 3.0), True), ("bb", (0, 0, -1), False)],
                                    dtype=_struct_dtype),
    "array-structured-nested": numpy.zeros((2, 2), dtype=_nested_dtype),
    "array-structured-0d": numpy.zeros((), dtype=[("only", "<i4")]),
    "array-large": numpy.arange(100_000, dtype="<f4"),
    "arrays-in-containers": {"a": [numpy.arange(3)], "b": (numpy.zeros((1, 1)),)},
    # numpy scalars
    "int8": numpy.int8(-128), "int16": numpy.int16(12345), "int32": numpy.int32(-(2**31)),
    "int64": numpy.int64(2**63 - 1), "uint8": numpy.uint8(200), "uint16": numpy.uint16(60000),
    "uint32": numpy.uint32(2**32 - 1), "uint64": numpy.uint64(2**64 - 1),
    "float16": numpy.float16(-0.0), "float32": numpy.float32(nan),
    "float64": numpy.float64(-inf), "complex64": numpy.complex64(2 + 0.5j),
    "complex128": numpy.complex128(complex(nan, 1)),
    "datetime64-scalar": numpy.datetime64("2021-06-01T12:00"),
    "scalars-in-containers": [numpy.int8(1), {"k": numpy.float32(2.5)}, (numpy.uint64(3),)],
}


@pytest.mark.parametrize("value", list(VALUES.values()), ids=list(VALUES))
def test_value_round_trips(codec, value):
    assert_same(roundtrip(codec, value), value, ordered=codec.ordered)


@pytest.mark.parametrize("value", [v for v in VALUES.values() if isinstance(v, numpy.ndarray)],
                         ids=[k for k, v in VALUES.items() if isinstance(v, numpy.ndarray)])
def test_decoded_arrays_are_writable_and_independent(codec, value):
    text = codec.encode(value)
    first, second = codec.decode(text), codec.decode(text)
    assert first.flags.writeable and second.flags.writeable
    if first.size:
        first.reshape(-1)[0] = second.reshape(-1)[-1]  # must not raise
        flat = first.reshape(-1)
        flat[...] = flat[::-1].copy()
        assert_same(second, codec.decode(text))  # the other copy is untouched


@pytest.mark.parametrize("values", [
    [numpy.array(["2020-01-01", "1969-12-31"], dtype="datetime64[D]"),
     numpy.array([0, 1, -(2**62)], dtype="datetime64[ns]"),
     numpy.array([[1]], dtype=">M8[25s]")],
    [numpy.array([1, -5], dtype="timedelta64[s]"),
     numpy.array([], dtype="timedelta64[us]")],
], ids=["datetime64", "timedelta64"])
def test_time_arrays_round_trip(values):
    # Their scalars are written fine; the arrays' dtype strings ("<M8[D]") are
    # accepted by both readers.
    for value in values:
        for codec in CODECS.values():
            result = roundtrip(codec, value)
            assert_same(result, value)
            assert result.flags.writeable


@pytest.mark.parametrize("value", [
    numpy.array([nan, 1.0, nan]),
    numpy.array([[complex(nan, 0), 1j]]),
    numpy.array([nan], dtype="<f2"),
], ids=["f8", "c16", "f2"])
def test_nan_in_arrays(codec, value):
    result = roundtrip(codec, value)
    assert numpy.array_equal(result, value, equal_nan=True)
    assert result.dtype == value.dtype


@pytest.mark.parametrize("value", [nan, [nan], {"k": (nan,)}], ids=["bare", "list", "nested"])
def test_nan_floats(codec, value):
    result = roundtrip(codec, value)
    while not isinstance(result, float):
        result = result["k"] if isinstance(result, dict) else result[0]
    assert math.isnan(result)


@pytest.mark.parametrize("value", [
    "\U0001F600",
    ("\U0001F600",),
    {"\U0001F600": "\U0001F600"},
    {"\U0001F600"},
    {(1,): "x\U0001F600y"},
], ids=["str", "in-tuple", "dict-key", "in-set", "in-non-str-dict"])
def test_non_bmp_comes_back_as_one_character(codec, value):
    result = roundtrip(codec, value)
    assert_same(result, value)
    if isinstance(result, str):
        assert len(result) == 1 and ord(result) == 0x1F600


def test_empty_set_stays_a_set_in_both_versions():
    for encode in (pyon.encode, pyon.encode_v2):
        for decode in (pyon.decode, pyon.decode_v1 if encode is pyon.encode else pyon.decode_v2):
            result = decode(encode(set()))
            assert type(result) is set and not result


def test_str_dict_with_jsonclass_key_round_trips_through_v1():
    # encode() writes these as text that is also JSON, and decode() reads
    # JSON as v2, where "__jsonclass__" has a meaning.
    for value in ({"__jsonclass__": 1},
                  {"__jsonclass__": ["tuple", [[1]]]},
                  [{"__jsonclass__": "x", "y": 2}]):
        assert_same(pyon.decode_v1(pyon.encode(value)), value)
        assert_same(pyon.decode(pyon.encode(value)), value)


def test_nesting_up_to_max_depth_round_trips():
    depth = pyon.DEFAULT_MAX_DEPTH - 12
    text = "[" * depth + "(1, )" + "]" * depth
    value = pyon.decode_v1(text)  # the reader accepts this nesting
    assert pyon.encode(value) == text
    assert_same(pyon.decode(pyon.encode_v2(value)), value)
    mixed = 0
    for i in range(depth):
        mixed = [mixed] if i % 3 == 0 else {"k": mixed} if i % 3 == 1 else (mixed,)
    for encode in (pyon.encode, pyon.encode_v2):
        assert_same(pyon.decode(encode(mixed)), mixed)


# ---------------------------------------------------------------------------
# generated structures

_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(), st.binary(),
)
_hashable_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(), st.binary(),
)
_hashables = st.recursive(
    _hashable_leaves, lambda inner: st.lists(inner, max_size=3).map(tuple), max_leaves=6)
_keys = st.one_of(
    st.text(), st.integers(), st.lists(_hashable_leaves, max_size=3).map(tuple))
_values = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(), inner, max_size=4),
        st.dictionaries(_keys, inner, max_size=4),
        st.sets(_hashables, max_size=4),
    ),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_values)
def test_generated_values_round_trip(value):
    v1 = pyon.encode(value)
    assert v1.isascii() and "\n" not in v1
    assert_same(pyon.decode(v1), value)
    assert_same(pyon.decode_v1(v1), value)
    assert_same(pyon.decode(pyon.encode(value, pretty=True)), value, ordered=False)
    v2 = pyon.encode_v2(value)
    assert v2.isascii() and "\n" not in v2
    json.loads(v2)
    assert_same(pyon.decode(v2), value)
    assert_same(pyon.decode_v2(v2), value)


_array_dtypes = st.one_of(
    hnp.integer_dtypes(endianness="?"),
    hnp.unsigned_integer_dtypes(endianness="?"),
    hnp.floating_dtypes(endianness="?", sizes=(16, 32, 64)),
    hnp.complex_number_dtypes(endianness="?", sizes=(64, 128)),
    hnp.boolean_dtypes(),
    hnp.byte_string_dtypes(min_len=1, max_len=4),
    hnp.unicode_string_dtypes(min_len=1, max_len=4),
)
_views = st.sampled_from([
    lambda a: a,
    lambda a: a.T,
    lambda a: a[::2] if a.ndim else a,
    lambda a: a[..., ::-1] if a.ndim else a,
    numpy.asfortranarray,
])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hnp.arrays(_array_dtypes, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0,
                                                   max_side=4)), _views)
def test_generated_arrays_round_trip(array, view):
    value = view(array)
    for encode, decodes in ((pyon.encode, (pyon.decode, pyon.decode_v1)),
                            (pyon.encode_v2, (pyon.decode, pyon.decode_v2))):
        text = encode(value)
        for decode in decodes:
            result = decode(text)
            assert_same(result, numpy.ascontiguousarray(value).reshape(value.shape))
            assert result.flags.writeable
