"""PYON v1: the exact text written for every supported type, and that text read back.

One table drives both directions: ``encode(value) == text`` and
``decode(text)`` gives ``value`` back with the same types.
"""

from __future__ import annotations

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


def arr(id_, a, shape_text, dtype_text):
    return case(id_, a, f'nparray({shape_text}, "{dtype_text}", b"{b64(a)}")')


def scalar(id_, s, dtype_text):
    return case(id_, s, f'npscalar("{dtype_text}", b"{b64(s)}")')


_matrix = numpy.arange(6, dtype="<i4").reshape(2, 3)
_long = numpy.arange(10, dtype="<i8")

V1_CASES = [
    # constants
    case("None", None, "null"),
    case("True", True, "true"),
    case("False", False, "false"),
    # ints
    case("zero", 0, "0"),
    case("int", 42, "42"),
    case("negative-int", -7, "-7"),
    case("big-int", 10**30, "1" + "0" * 30),
    case("big-negative-int", -(2**64), "-18446744073709551616"),
    # floats
    case("float", 1.5, "1.5"),
    case("float-0.1", 0.1, "0.1"),
    case("float-exp", 1e100, "1e+100"),
    case("float-small-exp", 1e-07, "1e-07"),
    case("float-negative", -2.5e-10, "-2.5e-10"),
    case("float-max", 1.7976931348623157e308, "1.7976931348623157e+308"),
    case("float-subnormal", 5e-324, "5e-324"),
    case("inf", inf, "inf"),
    case("-inf", -inf, "-inf"),
    case("nan", nan, "nan"),
    case("-0.0", -0.0, "-0.0"),
    case("0.0", 0.0, "0.0"),
    # complex
    case("1j", 1j, "1j"),
    case("1-9j", 1 - 9j, "(1-9j)"),
    case("-0-1j", complex(-0.0, -1.0), "(-0-1j)"),
    case("-0j", complex(0.0, -0.0), "-0j"),
    case("1+infj", complex(1, inf), "(1+infj)"),
    case("inf-infj", complex(inf, -inf), "(inf-infj)"),
    case("nan+nanj", complex(nan, nan), "(nan+nanj)"),
    case("complex-floats", complex(0.5, -0.25), "(0.5-0.25j)"),
    # str: JSON string literals, ASCII only
    case("str-empty", "", '""'),
    case("str", "abc", '"abc"'),
    case("str-quote", "it's", '"it\'s"'),
    case("str-escapes", 'a"b\\c\n\t\x00\x7f', '"a\\"b\\\\c\\n\\t\\u0000\\u007f"'),
    case("str-latin", "\u00e9", '"\\u00e9"'),
    case("str-line-separator", "\u2028", '"\\u2028"'),
    case("str-non-bmp", "\U0001F600", '"\\ud83d\\ude00"'),
    case("str-mixed", "x\u00e9\U0001F600y", '"x\\u00e9\\ud83d\\ude00y"'),
    # bytes: Python literals as repr() writes them
    case("bytes-empty", b"", "b''"),
    case("bytes-nul", b"ab\x00", "b'ab\\x00'"),
    case("bytes-single-quote", b"it's", 'b"it\'s"'),
    case("bytes-both-quotes", b"'\"", "b'\\'\"'"),
    case("bytes-backslash", b"\\", "b'\\\\'"),
    case("bytes-high", b"\xff\n\x7f", "b'\\xff\\n\\x7f'"),
    # tuples
    case("tuple-empty", (), "()"),
    case("tuple-1", (1,), "(1, )"),
    case("tuple-2", (1, 2), "(1, 2)"),
    case("tuple-nested", ((1,), ()), "((1, ), ())"),
    # lists
    case("list-empty", [], "[]"),
    case("list", [1, "a", None, 2.5], '[1, "a", null, 2.5]'),
    case("list-nested", [[], [[1]]], "[[], [[1]]]"),
    # sets
    case("set", {1, 2}, "{1, 2}"),
    case("set-one-str", {"only"}, '{"only"}'),
    case("set-of-tuple", {(1, 2)}, "{(1, 2)}"),
    case("set-null", {None}, "{null}"),
    case("set-empty", set(), "{*()}"),
    # dicts
    case("dict-empty", {}, "{}"),
    case("dict-str", {"b": 1, "a": 2}, '{"b": 1, "a": 2}'),
    case("dict-int-keys", {1: "x", 2: None}, '{1: "x", 2: null}'),
    case("dict-tuple-key", {(1, "a"): [2]}, '{(1, "a"): [2]}'),
    case("dict-mixed-keys", {None: 1, 2.5: 2, b"k": 3, (1, (2,)): 4, "s": 5, True: 6},
         "{null: 1, 2.5: 2, b'k': 3, (1, (2, )): 4, \"s\": 5, true: 6}"),
    case("containers-empty", [(), [], {}, set()], "[(), [], {}, {*()}]"),
    # slice, Fraction, OrderedDict
    case("slice", slice(1, 2, None), "slice(1, 2, None)"),
    case("slice-none", slice(None), "slice(None, None, None)"),
    case("slice-step", slice(None, -1, 2), "slice(None, -1, 2)"),
    case("slice-mixed", slice("a", b"b", 1.5), "slice('a', b'b', 1.5)"),
    case("fraction", Fraction(3, 4), "Fraction(3, 4)"),
    case("fraction-negative", Fraction(-5, 2), "Fraction(-5, 2)"),
    case("fraction-int", Fraction(7), "Fraction(7, 1)"),
    case("ordereddict", OrderedDict([("a", 0), ("b", 1)]), 'OrderedDict([("a", 0), ("b", 1)])'),
    case("ordereddict-empty", OrderedDict(), "OrderedDict([])"),
    case("ordereddict-tuple-key", OrderedDict([((1,), {2})]), "OrderedDict([((1, ), {2})])"),
    # numpy arrays: shape tuple, dtype.str, base64 of the C-contiguous buffer
    arr("array-i8", numpy.array([1, 2, 3], dtype="<i8"), "(3, )", "<i8"),
    arr("array-0d", numpy.array(2.5, dtype="<f8"), "()", "<f8"),
    arr("array-2d", _matrix, "(2, 3)", "<i4"),
    arr("array-3d", numpy.arange(4, dtype="|u1").reshape(2, 1, 2), "(2, 1, 2)", "|u1"),
    arr("array-big-endian", numpy.array([1, 513], dtype=">u2"), "(2, )", ">u2"),
    arr("array-bool", numpy.array([True, False]), "(2, )", "|b1"),
    arr("array-complex", numpy.array([1 + 2j, -1j], dtype="<c16"), "(2, )", "<c16"),
    arr("array-float16", numpy.array([1.5, -2.0], dtype="<f2"), "(2, )", "<f2"),
    arr("array-str", numpy.array(["ab", "c"]), "(2, )", "<U2"),
    arr("array-bytes", numpy.array([b"ab", b"c"]), "(2, )", "|S2"),
    arr("array-empty", numpy.zeros((0,), dtype="<f8"), "(0, )", "<f8"),
    arr("array-empty-2d", numpy.zeros((2, 0), dtype="<f8"), "(2, 0)", "<f8"),
    arr("array-transposed", _matrix.T, "(3, 2)", "<i4"),
    arr("array-fortran", numpy.asfortranarray(_matrix), "(2, 3)", "<i4"),
    arr("array-strided", _long[::3], "(4, )", "<i8"),
    # numpy scalars
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
    scalar("float64-nan", numpy.float64(nan), "<f8"),
    scalar("complex64", numpy.complex64(1 - 2j), "<c8"),
    scalar("complex128", numpy.complex128(-1j), "<c16"),
    # nesting
    case("nested", {"a": [1, (2.5, b"x")], "b": {3: {4}}},
         '{"a": [1, (2.5, b\'x\')], "b": {3: {4}}}'),
]


@pytest.mark.parametrize("value, text", V1_CASES)
def test_encode_writes_exact_text(value, text):
    assert pyon.encode(value) == text


@pytest.mark.parametrize("decode", [pyon.decode, pyon.decode_v1], ids=["decode", "decode_v1"])
@pytest.mark.parametrize("value, text", V1_CASES)
def test_text_decodes_to_value(value, text, decode):
    assert_same(decode(text), value)


@pytest.mark.parametrize("value, text", V1_CASES)
def test_bytes_input_decodes_like_str(value, text):
    assert_same(pyon.decode(text.encode("ascii")), value)


@pytest.mark.parametrize("value, text", V1_CASES)
def test_compact_output_is_ascii_on_one_line(value, text):
    out = pyon.encode(value)
    assert out.isascii()
    assert "\n" not in out and "\r" not in out


@pytest.mark.parametrize("value", [
    pytest.param("caf\u00e9 \U0001F600\u2028", id="str"),
    pytest.param({"\u00e9": ["\U0001F600"]}, id="dict"),
    pytest.param(OrderedDict([("\u00e9", "\u00ff")]), id="ordereddict"),
    pytest.param(numpy.array(["\u00e9\U0001F600"]), id="array-unicode"),
    # slice components are written with repr(), which leaves non-ASCII as it is
    pytest.param(slice("\u00e9", None, None), id="slice-non-ascii"),
    pytest.param(slice(None, "\U0001F600"), id="slice-non-bmp"),
])
def test_non_ascii_input_gives_ascii_text(value):
    for pretty in (False, True):
        out = pyon.encode(value, pretty=pretty)
        assert out.isascii(), out
        assert_same(pyon.decode(out), value)


@pytest.mark.parametrize("value, text", [
    pytest.param(numpy.bool_(True), "true", id="bool_-true"),
    pytest.param(numpy.bool_(False), "false", id="bool_-false"),
    pytest.param([numpy.bool_(True), {"k": numpy.bool_(False)}], '[true, {"k": false}]',
                 id="bool_-nested"),
])
def test_numpy_bool_is_written_as_json_bool(value, text):
    assert pyon.encode(value) == text
    decoded = pyon.decode(text)
    assert decoded == value
    assert type(pyon.decode(pyon.encode(numpy.bool_(True)))) is bool


# Texts other writers produce (upstream, hand-written files) that mean a
# value even though encode() would spell it differently.
READ_ONLY_CASES = [
    case("python-None", None, "None"),
    case("python-True", True, "True"),
    case("python-False", False, "False"),
    case("tuple-no-space", (1,), "(1,)"),
    case("trailing-comma-list", [1, 2], "[1, 2, ]"),
    case("trailing-comma-dict", {1: 2}, "{1: 2,}"),
    case("single-quoted-str", "it", "'it'"),
    case("single-quoted-surrogates", ("\U0001F600",), "('\\ud83d\\ude00', )"),
    case("raw-non-bmp", "\U0001F600", '"\U0001F600"'),
    case("upstream-empty-set-is-dict", {}, "{}"),
    case("spaced-empty-set", set(), "{ * ( ) }"),
    case("signed-int", 5, "+5"),
    case("signed-inf", inf, "+inf"),
    case("multi-line", {"a": [1, 2], "b": (3, )}, '{\n  "a": [1,\n 2],\n\t"b": (3, )\n}'),
    case("surrounding-whitespace", [1], "  \n [1] \n\t "),
    case("fraction-one-arg", Fraction(3), "Fraction(3)"),
    case("slice-one-arg", slice(5), "slice(5)"),
    case("ordereddict-no-arg", OrderedDict(), "OrderedDict()"),
    case("complex-uppercase-j", 2j, "2J"),
]


@pytest.mark.parametrize("value, text", READ_ONLY_CASES)
def test_other_spellings_decode(value, text):
    assert_same(pyon.decode_v1(text), value)
    assert_same(pyon.decode(text), value)


# ---------------------------------------------------------------------------
# pretty=True

PRETTY_CASES = [
    case("scalar", 1, "1"),
    case("dict-empty", {}, "{}"),
    case("dict-one-item", {"a": 1}, '{"a": 1}'),
    case("dict-sorted", {"b": 1, "a": 2}, '{\n    "a": 2,\n    "b": 1\n}'),
    case("dict-sorted-by-codepoint", {"a": 1, "_": 2, "B": 3},
         '{\n    "B": 3,\n    "_": 2,\n    "a": 1\n}'),
    case("dict-nested", {"z": {"y": 1, "x": 2}, "a": 0},
         '{\n    "a": 0,\n    "z": {\n        "x": 2,\n        "y": 1\n    }\n}'),
    case("dict-three-levels", {"f": 1, "a": {"e": 0, "b": {"d": 1, "c": 2}}},
         "{\n"
         '    "a": {\n'
         '        "b": {\n'
         '            "c": 2,\n'
         '            "d": 1\n'
         "        },\n"
         '        "e": 0\n'
         "    },\n"
         '    "f": 1\n'
         "}"),
    case("dict-one-item-holding-two", {"k": {"b": 1, "a": 2}},
         '{"k": {\n    "a": 2,\n    "b": 1\n}}'),
    case("dict-int-keys-insertion-order", {2: "b", 1: "a"}, '{\n    2: "b",\n    1: "a"\n}'),
    case("dict-mixed-keys-insertion-order", {"b": 1, 0: 2, "a": 3},
         '{\n    "b": 1,\n    0: 2,\n    "a": 3\n}'),
    case("dict-tuple-keys", {(2,): 1, (1,): 2}, "{\n    (2, ): 1,\n    (1, ): 2\n}"),
    case("list-stays-on-one-line", [1, [2, 3], "x"], '[1, [2, 3], "x"]'),
    case("dict-in-list", [{"b": 1, "a": 2}, 3], '[{\n    "a": 2,\n    "b": 1\n}, 3]'),
    case("dict-in-list-in-dict", {"a": [1, {"d": 0, "c": 1}], "z": 2},
         '{\n    "a": [1, {\n        "c": 1,\n        "d": 0\n    }],\n    "z": 2\n}'),
    case("dicts-in-list-in-one-item-dict", {"z": [{"b": 1, "a": 2}, {"q": 1}]},
         '{"z": [{\n    "a": 2,\n    "b": 1\n}, {"q": 1}]}'),
    case("dict-in-tuple", {"k": (1, {"b": 1, "a": 2}), "j": None},
         '{\n    "j": null,\n    "k": (1, {\n        "a": 2,\n        "b": 1\n    })\n}'),
    case("other-containers-unchanged",
         {"t": (1, ), "o": OrderedDict([("b", 1), ("a", 2)]), "s": {1, 2}},
         '{\n    "o": OrderedDict([("b", 1), ("a", 2)]),\n    "s": {1, 2},\n    "t": (1, )\n}'),
    case("two-item-dict-in-one-item-dict", {"b": {3: {"y": 1, "x": 2}}, "a": 1},
         '{\n    "a": 1,\n    "b": {3: {\n        "x": 2,\n        "y": 1\n    }}\n}'),
]


@pytest.mark.parametrize("value, text", PRETTY_CASES)
def test_pretty_writes_exact_text(value, text):
    assert pyon.encode(value, pretty=True) == text


@pytest.mark.parametrize("decode", [pyon.decode, pyon.decode_v1], ids=["decode", "decode_v1"])
@pytest.mark.parametrize("value, text", PRETTY_CASES)
def test_pretty_text_decodes_to_value(value, text, decode):
    assert_same(decode(text), value, ordered=False)


@pytest.mark.parametrize("value, text", V1_CASES)
def test_pretty_without_multi_item_dicts_equals_compact(value, text):
    # Only dicts with two or more items are spread over lines.
    def has_big_dict(v):
        if type(v) is dict:
            return len(v) >= 2 or any(has_big_dict(x) for x in (*v.keys(), *v.values()))
        if type(v) in (list, tuple, set):
            return any(has_big_dict(x) for x in v)
        if type(v) is OrderedDict:
            return any(has_big_dict(x) for x in (*v.keys(), *v.values()))
        return False

    out = pyon.encode(value, pretty=True)
    assert out.isascii()
    if has_big_dict(value):
        assert "\n" in out
        assert_same(pyon.decode(out), value, ordered=False)
    else:
        assert out == text


def test_pretty_lines_carry_no_trailing_comma_or_space():
    value = {"a": {"c": [1, {"e": 1, "d": 2}], "b": 2}, "f": {1: 2, 3: 4}}
    lines = pyon.encode(value, pretty=True).split("\n")
    closers = 0
    for i, line in enumerate(lines):
        assert line == line.rstrip()
        if line.lstrip().startswith("}"):
            closers += 1
            assert not lines[i - 1].endswith(","), lines
    assert closers == 4, lines
    # every line is indented by a multiple of four spaces
    for line in lines:
        indent = len(line) - len(line.lstrip(" "))
        assert indent % 4 == 0, line
    assert lines[0] == "{" and lines[-1] == "}"
