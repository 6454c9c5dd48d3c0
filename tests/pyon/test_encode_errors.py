"""Values PYON cannot write: EncodeError (a TypeError) naming the type and
where it sits, written as Python indexing on ``x``."""

from __future__ import annotations

import enum
from collections import OrderedDict, namedtuple

import numpy
import pytest

from sipyco import pyon
from sipyco.errors import EncodeError, PyonError


class Color(enum.IntEnum):
    RED = 1


class Flag(enum.Flag):
    A = 1


class MyInt(int):
    pass


class MyDict(dict):
    pass


class MyStr(str):
    pass


class MyFloat(float):
    pass


class MyList(list):
    pass


Pair = namedtuple("Pair", "a b")


class Opaque:
    pass


ENCODERS = [
    pytest.param(pyon.encode, id="v1"),
    pytest.param(lambda x: pyon.encode(x, pretty=True), id="v1-pretty"),
    pytest.param(pyon.encode_v2, id="v2"),
    pytest.param(lambda x: pyon.encode_v2(x, pretty=True), id="v2-pretty"),
]


def refuse(encode, value) -> EncodeError:
    with pytest.raises(EncodeError) as info:
        encode(value)
    exc = info.value
    assert isinstance(exc, TypeError) and isinstance(exc, PyonError)
    assert not isinstance(exc, RecursionError)
    return exc


@pytest.mark.parametrize("encode", ENCODERS)
@pytest.mark.parametrize("value, path, type_name", [
    ({"a": [1, 2, object()]}, 'x["a"][2]', "object"),
    (object(), "x", "object"),
    ([Opaque()], "x[0]", f"{__name__}.Opaque"),
    ((1, (2, (3, {4: {5, 6}, 7: [Opaque()]}))), "x[1][1][1][7][0]", f"{__name__}.Opaque"),
    ({"a\"b": object()}, 'x["a\\"b"]', "object"),
    ({"\u00e9": object()}, 'x["\\u00e9"]', "object"),
    (OrderedDict([("k", [None, object()])]), 'x["k"][1]', "object"),
    ({1: {(2, "t"): object()}}, 'x[1][(2, \'t\')]', "object"),
    ([1.5, frozenset({1})], "x[1]", "frozenset"),
    ([bytearray(b"x")], "x[0]", "bytearray"),
    ({"r": range(3)}, 'x["r"]', "range"),
    ([numpy.dtype("<f8")], "x[0]", None),
    ([Color.RED], "x[0]", f"{__name__}.Color"),
    ([Flag.A], "x[0]", f"{__name__}.Flag"),
    ({"n": MyInt(3)}, 'x["n"]', f"{__name__}.MyInt"),
    ([MyDict(a=1)], "x[0]", f"{__name__}.MyDict"),
    ({"s": MyStr("s")}, 'x["s"]', f"{__name__}.MyStr"),
    ([MyFloat(1.5)], "x[0]", f"{__name__}.MyFloat"),
    (MyList([1]), "x", f"{__name__}.MyList"),
    ([Pair(1, 2)], "x[0]", f"{__name__}.Pair"),
], ids=["dict-list", "root", "class", "deep", "key-with-quote", "non-ascii-key", "ordereddict",
        "tuple-key", "frozenset", "bytearray", "range", "dtype", "IntEnum", "Flag", "int-subclass",
        "dict-subclass", "str-subclass", "float-subclass", "list-subclass", "namedtuple"])
def test_unsupported_value_is_reported_with_type_and_path(encode, value, path, type_name):
    exc = refuse(encode, value)
    assert exc.path == path
    assert path in str(exc)
    if type_name is not None:
        assert exc.type_name == type_name
        assert type_name.rsplit(".", 1)[-1] in str(exc)


def test_example_from_the_docs():
    with pytest.raises(TypeError) as info:
        pyon.encode({"a": [1, 2, object()]})
    message = str(info.value)
    assert 'x["a"][2]' in message and "object" in message


@pytest.mark.parametrize("encode", ENCODERS)
@pytest.mark.parametrize("value, path", [
    (numpy.array([1, None], dtype=object), "x"),
    ({"k": [numpy.array(["a"], dtype=object)]}, 'x["k"][0]'),
    (numpy.array([1, "a"], dtype=object)[::2], "x"),
    (numpy.zeros(2, dtype=[("a", "<i4"), ("b", object)]), "x"),
    (numpy.empty((0,), dtype=object), "x"),
    (numpy.array(None, dtype=object), "x"),
], ids=["plain", "nested", "strided", "object-field", "empty", "0d"])
def test_object_dtype_arrays_are_refused(encode, value, path):
    exc = refuse(encode, value)
    assert exc.path == path
    assert exc.type_name == "numpy.ndarray"
    assert "object" in str(exc)
    assert "0x" not in str(exc)  # no memory address leaks into the message


@pytest.mark.parametrize("encode", ENCODERS)
def test_reference_cycle_is_reported(encode):
    a = [1]
    a.append(a)
    exc = refuse(encode, a)
    assert "cycle" in str(exc)
    assert exc.path == "x[1]"

    d = {"k": []}
    d["k"].append(d)
    exc = refuse(encode, {"root": d})
    assert "cycle" in str(exc)
    assert exc.path == 'x["root"]["k"][0]'

    t = ([],)
    t[0].append(t)
    assert "cycle" in str(refuse(encode, t))


@pytest.mark.parametrize("encode", ENCODERS)
def test_shared_but_acyclic_values_are_fine(encode):
    shared = [1, 2]
    value = {"a": shared, "b": [shared, shared]}
    assert pyon.decode(encode(value)) == value


@pytest.mark.parametrize("encode", ENCODERS)
def test_too_deep_structure_is_reported_not_recursion_error(encode):
    value = 1
    for _ in range(100_000):
        value = [value]
    exc = refuse(encode, value)
    assert "max_depth" in str(exc)
    assert exc.path.startswith("x[0][0][0]")


@pytest.mark.parametrize("encode", ENCODERS)
@pytest.mark.parametrize("value, path_start", [
    ({object(): 1}, "x["),
    ({"ok": 1, (1, Opaque()): 2}, "x[(1, "),
    ({frozenset(): 1}, "x[frozenset()]"),
    ({1: {MyStr("k"): 2}}, "x[1]['k']"),
], ids=["object", "tuple-with-object", "frozenset", "str-subclass"])
def test_unencodable_key_is_reported_as_the_key(encode, value, path_start):
    exc = refuse(encode, value)
    assert exc.path.startswith(path_start), exc.path
    assert "(the key)" in exc.path
    assert "key" in str(exc)


@pytest.mark.parametrize("encode", ENCODERS)
def test_unencodable_set_element_is_located(encode):
    exc = refuse(encode, {"s": {1, Pair(1, 2)}})
    assert exc.path.startswith('x["s"]')
    assert "set element" in exc.path
    assert "Pair" in str(exc)


@pytest.mark.parametrize("encode", ENCODERS)
def test_int_too_long_for_text_is_an_encode_error(encode):
    exc = refuse(encode, [1, 10**5000])
    assert exc.path == "x[1]"
    assert exc.type_name == "int"


def test_first_culprit_in_order_is_named():
    exc = refuse(pyon.encode, [1, [2, object()], Opaque()])
    assert exc.path == "x[1][1]"


def test_store_file_raises_encode_error(tmp_path):
    with pytest.raises(EncodeError) as info:
        pyon.store_file(tmp_path / "f.pyon", {"a": object()})
    assert info.value.path == 'x["a"]'
