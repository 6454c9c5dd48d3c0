"""What we write must read back correctly in *upstream's* readers.

Upstream sipyco is not installable here, so its two readers are rebuilt from
the facts in WIRE.md: 1.8 ``eval``s v1 text in a namespace holding only
null/true/false/inf/nan and the five constructors; 1.10 reads v2 with
``json.loads`` and turns each ``__jsonclass__`` object into its value.  Both
stand-ins run only on text this library wrote (never on untrusted input).
"""

from __future__ import annotations

import base64
import json
import math
from collections import OrderedDict
from fractions import Fraction

import numpy
import pytest
from support.pyon import assert_same

from sipyco import pyon


def _array(shape, dtype, data):
    if isinstance(data, str):
        data = data.encode()
    return numpy.frombuffer(base64.b64decode(data), dtype=numpy.dtype(dtype)).copy().reshape(
        shape)


def _scalar(dtype, data):
    if isinstance(data, str):
        data = data.encode()
    return numpy.frombuffer(base64.b64decode(data), dtype=numpy.dtype(dtype))[0]


def upstream_18_read(text: str):
    namespace = {"__builtins__": {}, "null": None, "true": True, "false": False,
                 "inf": math.inf, "nan": math.nan, "slice": slice, "Fraction": Fraction,
                 "OrderedDict": OrderedDict, "nparray": _array, "npscalar": _scalar}
    return eval(text, namespace, {})


def _tuples(x):
    return tuple(_tuples(v) for v in x) if isinstance(x, list) else x


def upstream_110_read(text: str):
    def hook(obj):
        if "__jsonclass__" not in obj:
            return obj
        name, args = obj["__jsonclass__"]
        builders = {
            "tuple": lambda items: tuple(items),
            "set": lambda items: set(items),
            "dict": lambda pairs: {k: v for k, v in pairs},
            "OrderedDict": lambda pairs: OrderedDict((k, v) for k, v in pairs),
            "complex": complex, "slice": slice, "Fraction": Fraction,
            "bytes": lambda data: base64.b64decode(data),
            "nparray": lambda shape, dtype, data: _array(
                shape, dtype if isinstance(dtype, str) else _tuples(dtype), data),
            "npscalar": _scalar,
        }
        return builders[name](*args)
    return json.loads(text, object_hook=hook)


VALUES = {
    "scalars": [None, True, False, 0, -7, 10**30, 1.5, -0.0, math.inf, -math.inf, 1e-300],
    "complex": [1j, 1 - 9j, complex(-0.0, -1.0), complex(2.5, math.inf)],
    "strings": ["", "plain", "quote\" and \\ back", "h\u00e9 \u2192 \U0001F600", "\x00\n\t"],
    "bytes": [b"", b"ab\x00\xff", b"it's", b'"both\' quotes"'],
    "tuples": [(), (1,), (1, (2, (3,))), ("a", None)],
    "sets": [set(), {1, 2}, {(1, 2), "x"}, {3.5}],
    "dicts": [{}, {"a": 1, "b": [1, 2]}, {1: "a", (2, 3): "b", 2.5: None},
              {"__jsonclass__": ["tuple", [[1]]], "other": 1}],
    "misc": [slice(1, 2, None), slice("a", None, 3), slice(None, "\u00e9", None),
             Fraction(-3, 4), OrderedDict([("b", 1), ("a", 2)]), OrderedDict()],
    "arrays": [numpy.arange(6, dtype=">i4").reshape(2, 3), numpy.array(2.5),
               numpy.zeros((0, 3)), numpy.linspace(0, 1, 9)[::2],
               numpy.array(["ab", "c"]), numpy.array([1 + 2j], dtype=numpy.complex64),
               numpy.array(["2020-01-01"], dtype="datetime64[D]"),
               numpy.zeros(2, dtype=[("a", "<i4"), ("b", "<f8", (2,))])],
    "numpy scalars": [numpy.int8(-3), numpy.uint64(2**63), numpy.float16(1.5),
                      numpy.float32(0.1), numpy.complex128(1j)],
}
CASES = [pytest.param(v, id=f"{group}-{i}") for group, vs in VALUES.items()
         for i, v in enumerate(vs)]

# Values upstream 1.8's reader cannot get right whatever the writer does:
# eval() keeps a surrogate pair as two characters, turns "-1j" into
# complex(-0.0, -1.0) and does not know the name "infj".
_EVAL_DEFECTS = {"strings-3", "complex-2", "complex-3"}
# Upstream 1.10 hands a structured dtype's field list to numpy as JSON lists,
# which numpy refuses; only our readers take structured arrays over v2.
_JSONCLASS_DEFECTS = {"arrays-7"}


def _cases(defects, reason):
    return [pytest.param(*c.values, id=c.id,
                         marks=[pytest.mark.xfail(strict=True, reason=reason)]
                         if c.id in defects else []) for c in CASES]


@pytest.mark.parametrize("value", _cases(_EVAL_DEFECTS, "a defect of upstream's reader"))
def test_v1_text_reads_back_in_an_eval_reader(value):
    got = upstream_18_read(pyon.encode(value))
    if isinstance(value, slice):  # upstream's slice is the builtin: same fields
        assert (got.start, got.stop, got.step) == (value.start, value.stop, value.step)
    else:
        assert_same(got, value)


@pytest.mark.parametrize("value", _cases(_EVAL_DEFECTS, "a defect of upstream's reader"))
def test_pretty_v1_text_reads_back_in_an_eval_reader(value):
    assert_same(upstream_18_read(pyon.encode({"k": value, "j": [value]}, pretty=True)),
                {"k": value, "j": [value]}, ordered=False)


@pytest.mark.parametrize("value", _cases(_JSONCLASS_DEFECTS, "a defect of upstream's reader"))
def test_v2_text_reads_back_in_a_jsonclass_reader(value):
    got = upstream_110_read(pyon.encode_v2(value))
    if isinstance(value, slice):
        assert (got.start, got.stop, got.step) == (value.start, value.stop, value.step)
    else:
        assert_same(got, value)


def test_empty_set_is_a_set_for_upstream_too():
    assert upstream_18_read(pyon.encode(set())) == set()
    assert type(upstream_18_read(pyon.encode(set()))) is set
