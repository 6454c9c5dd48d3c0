"""PYON v2: the exact JSON written for every supported type, and that text read back.

Types JSON lacks are written ``{"__jsonclass__":[NAME,ARGS]}``; the table
drives both ``encode_v2(value) == text`` and ``decode(text)`` giving ``value``.
"""

from __future__ import annotations

import json
import math
import sys
from collections import OrderedDict
from fractions import Fraction

import numpy
import pytest
from support.pyon import assert_same, b64, case

from sipyco import pyon

if sys.byteorder != "little":  # pragma: no cover - the expected dtype strings say "<"
    pytest.skip("expected texts are written for a little-endian host", allow_module_level=True)

inf, nan = math.inf, math.nan


def jc(name, args_json):
    """The ``__jsonclass__`` wrapper, spelled out."""
    return '{"__jsonclass__":["' + name + '",' + args_json + "]}"


def arr(id_, a, shape_json, dtype_text):
    return case(id_, a, jc("nparray", f'[{shape_json},"{dtype_text}","{b64(a)}"]'))


def scalar(id_, s, dtype_text):
    return case(id_, s, jc("npscalar", f'["{dtype_text}","{b64(s)}"]'))


_matrix = numpy.arange(6, dtype="<i4").reshape(2, 3)

V2_CASES = [
    # plain JSON
    case("None", None, "null"),
    case("True", True, "true"),
    case("False", False, "false"),
    case("int", 42, "42"),
    case("negative-int", -7, "-7"),
    case("big-int", 10**30, "1" + "0" * 30),
    case("float", 1.5, "1.5"),
    case("float-exp", 1e100, "1e+100"),
    case("float-small", 1e-07, "1e-07"),
    case("-0.0", -0.0, "-0.0"),
    case("inf", inf, "Infinity"),
    case("-inf", -inf, "-Infinity"),
    case("nan", nan, "NaN"),
    case("str", "abc", '"abc"'),
    case("str-escapes", 'a"b\\c\n\x00', '"a\\"b\\\\c\\n\\u0000"'),
    case("str-latin", "\u00e9", '"\\u00e9"'),
    case("str-non-bmp", "\U0001F600", '"\\ud83d\\ude00"'),
    case("list-empty", [], "[]"),
    case("list", [1, "a", None, [2.5]], '[1,"a",null,[2.5]]'),
    case("dict-empty", {}, "{}"),
    case("dict-str", {"b": 1, "a": [2, {"c": None}]}, '{"b":1,"a":[2,{"c":null}]}'),
    # __jsonclass__ types
    case("complex-1j", 1j, jc("complex", "[0.0,1.0]")),
    case("complex", 1 - 9j, jc("complex", "[1.0,-9.0]")),
    case("complex-signed-zero", complex(-0.0, -1.0), jc("complex", "[-0.0,-1.0]")),
    case("complex-inf", complex(1, inf), jc("complex", "[1.0,Infinity]")),
    case("complex-nan", complex(nan, -inf), jc("complex", "[NaN,-Infinity]")),
    case("bytes", b"ab\x00", jc("bytes", '["YWIA"]')),
    case("bytes-empty", b"", jc("bytes", '[""]')),
    case("bytes-quote", b"it's", jc("bytes", '["aXQncw=="]')),
    case("tuple-empty", (), jc("tuple", "[[]]")),
    case("tuple-1", (1,), jc("tuple", "[[1]]")),
    case("tuple", (1, 2), jc("tuple", "[[1,2]]")),
    case("tuple-nested", ((1,), "a"), jc("tuple", "[[" + jc("tuple", "[[1]]") + ',"a"]]')),
    case("list-holding-tuple", [1, [2, (3,)]], "[1,[2," + jc("tuple", "[[3]]") + "]]"),
    case("set", {1, 2}, jc("set", "[[1,2]]")),
    case("set-empty", set(), jc("set", "[[]]")),
    case("dict-int-keys", {1: 2, 3: "x"}, jc("dict", '[[[1,2],[3,"x"]]]')),
    case("dict-tuple-key", {(1, 2): "x"}, jc("dict", "[[[" + jc("tuple", "[[1,2]]") + ',"x"]]]')),
    case("dict-mixed-keys", {"a": 1, 2: 3}, jc("dict", '[[["a",1],[2,3]]]')),
    case("dict-empty-in-str-dict", {"k": {}}, '{"k":{}}'),
    case("slice", slice(1, 2, None), jc("slice", "[1,2,null]")),
    case("slice-none", slice(None), jc("slice", "[null,null,null]")),
    case("fraction", Fraction(3, 4), jc("Fraction", "[3,4]")),
    case("fraction-negative", Fraction(-5, 2), jc("Fraction", "[-5,2]")),
    case("ordereddict", OrderedDict([("a", 0), ("b", 1)]),
         jc("OrderedDict", '[[["a",0],["b",1]]]')),
    case("ordereddict-empty", OrderedDict(), jc("OrderedDict", "[[]]")),
    arr("array-i8", numpy.array([1, 2, 3], dtype="<i8"), "[3]", "<i8"),
    arr("array-0d", numpy.array(2.5, dtype="<f8"), "[]", "<f8"),
    arr("array-2d", _matrix, "[2,3]", "<i4"),
    arr("array-big-endian", numpy.array([1, 513], dtype=">u2"), "[2]", ">u2"),
    arr("array-empty", numpy.zeros((2, 0), dtype="<f8"), "[2,0]", "<f8"),
    arr("array-bool", numpy.array([True, False, True]), "[3]", "|b1"),
    arr("array-transposed", _matrix.T, "[3,2]", "<i4"),
    scalar("int8", numpy.int8(-5), "|i1"),
    scalar("int16", numpy.int16(-300), "<i2"),
    scalar("int32", numpy.int32(70000), "<i4"),
    scalar("int64", numpy.int64(-(2**40)), "<i8"),
    scalar("uint8", numpy.uint8(255), "|u1"),
    scalar("uint16", numpy.uint16(65535), "<u2"),
    scalar("uint32", numpy.uint32(2**32 - 1), "<u4"),
    scalar("uint64", numpy.uint64(2**64 - 1), "<u8"),
    scalar("float16", numpy.float16(1.5), "<f2"),
    scalar("float32", numpy.float32(-0.25), "<f4"),
    scalar("float64", numpy.float64(1e300), "<f8"),
    scalar("complex64", numpy.complex64(1 - 2j), "<c8"),
    scalar("complex128", numpy.complex128(-1j), "<c16"),
    case("nested", {"a": [(1,), {2}], "b": {3: b"x"}},
         '{"a":[' + jc("tuple", "[[1]]") + "," + jc("set", "[[2]]") + '],"b":'
         + jc("dict", "[[[3," + jc("bytes", '["eA=="]') + "]]]") + "}"),
]


@pytest.mark.parametrize("value, text", V2_CASES)
def test_encode_v2_writes_exact_text(value, text):
    assert pyon.encode_v2(value) == text


@pytest.mark.parametrize("decode", [pyon.decode, pyon.decode_v2], ids=["decode", "decode_v2"])
@pytest.mark.parametrize("value, text", V2_CASES)
def test_v2_text_decodes_to_value(value, text, decode):
    assert_same(decode(text), value)


@pytest.mark.parametrize("value, text", V2_CASES)
def test_v2_output_is_compact_ascii_json(value, text):
    out = pyon.encode_v2(value)
    assert out.isascii()
    assert "\n" not in out
    parsed = json.loads(out)  # NaN / Infinity are accepted by json.loads
    # compact: re-serialising what json read with (",", ":") gives the same text
    assert json.dumps(parsed, separators=(",", ":")) == out


@pytest.mark.parametrize("value, text", [
    pytest.param(numpy.bool_(True), "true", id="bool_-true"),
    pytest.param(numpy.bool_(False), "false", id="bool_-false"),
    pytest.param({"k": [numpy.bool_(True)]}, '{"k":[true]}', id="bool_-nested"),
])
def test_numpy_bool_is_written_as_json_bool(value, text):
    assert pyon.encode_v2(value) == text


def test_v2_spacing_and_key_order_do_not_matter_when_reading():
    text = '{ "b" : [ 1 , { "__jsonclass__" : [ "tuple" , [ [ 2 ] ] ] } ] ,\n "a" : 3 }'
    assert_same(pyon.decode(text), {"b": [1, (2,)], "a": 3})
    assert_same(pyon.decode_v2(text), {"b": [1, (2,)], "a": 3})


def test_str_dict_with_jsonclass_key_is_not_a_plain_object():
    # A plain object with that key would be read back as a __jsonclass__ value.
    value = {"__jsonclass__": ["tuple", [[1]]]}
    out = pyon.encode_v2(value)
    assert out == jc("dict", '[[["__jsonclass__",["tuple",[[1]]]]]]')
    assert_same(pyon.decode(out), value)


@pytest.mark.parametrize("value, text", V2_CASES)
def test_pretty_v2_is_json_for_the_same_value(value, text):
    out = pyon.encode_v2(value, pretty=True)
    assert out.isascii()
    json.loads(out)
    assert_same(pyon.decode(out), value, ordered=False)
    assert_same(pyon.decode_v2(out), value, ordered=False)


def test_pretty_v2_sorts_and_indents_plain_objects():
    out = pyon.encode_v2({"b": 1, "a": {"d": 2, "c": 3}}, pretty=True)
    assert out == '{\n    "a": {\n        "c": 3,\n        "d": 2\n    },\n    "b": 1\n}'
