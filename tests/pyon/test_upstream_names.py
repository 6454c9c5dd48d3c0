"""Names of sipyco.pyon that programs written for upstream touch: the
``_numpy_scalar`` names a dashboard builds its evaluation namespace from,
1.10's ``wrap`` in encode functions of registered types, and 1.10's extra
keywords on encode/decode/store_file/load_file (checked, never ignored)."""

from __future__ import annotations

import inspect
import math
from collections import OrderedDict
from fractions import Fraction

import numpy
import pytest
from support.pyon import assert_same

from sipyco import pyon

# The numpy scalar types WIRE.md lists as written npscalar(...).
WIRE_SCALARS = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                "float16", "float32", "float64", "complex64", "complex128"}


# ----------------------------------------------------------- _numpy_scalar --

def test_numpy_scalar_is_a_frozenset_of_the_npscalar_type_names():
    assert isinstance(pyon._numpy_scalar, frozenset)
    assert all(type(name) is str for name in pyon._numpy_scalar)
    assert pyon._numpy_scalar == WIRE_SCALARS


def test_a_dashboard_namespace_built_from_numpy_scalar_evaluates_and_encodes():
    # As a dashboard does: every name looked up on numpy, the namespace then
    # used to evaluate what a user typed.
    namespace = {name: getattr(numpy, name) for name in pyon._numpy_scalar}
    assert len(namespace) == len(WIRE_SCALARS)
    for name, scalar_type in namespace.items():
        assert isinstance(scalar_type, type) and issubclass(scalar_type, numpy.generic), name
        value = eval(f"{name}(3)", {"__builtins__": {}}, namespace)
        assert type(value) is scalar_type
        assert numpy.dtype(scalar_type).name == name
        # ... and each is a type PYON writes as npscalar, in both versions
        assert pyon.encode_v1(value).startswith('npscalar("'), name
        assert pyon.encode_v2(value).startswith('{"__jsonclass__":["npscalar",'), name
        assert_same(pyon.decode(pyon.encode_v1(value)), value)
        assert_same(pyon.decode(pyon.encode_v2(value)), value)
    assert_same(eval("float32(1.5)", {"__builtins__": {}}, namespace), numpy.float32(1.5))


def test_numpy_bool_is_not_a_npscalar_name():
    assert "bool_" not in pyon._numpy_scalar and "bool" not in pyon._numpy_scalar
    assert pyon.encode_v1(numpy.bool_(True)) == "true"


# -------------------------------------------------------------------- wrap --

class Custom:
    """An application type registered the 1.10 way."""

    def __init__(self, data):
        self.data = data


@pytest.fixture
def custom_registered():
    pyon.register([Custom], name="custom", encode=lambda x: [pyon.wrap(x.data)],
                  decode=Custom)
    try:
        yield
    finally:
        pyon.deregister([Custom], "custom")


def test_wrap_returns_its_argument_itself():
    for value in (None, (1, 2), {1: {2}}, numpy.arange(3), Custom(1)):
        assert pyon.wrap(value) is value


def rich_data():
    return {
        "tuples": ((1, 2), (), ("a", (None, 2.5))),
        "array": numpy.arange(12, dtype=">i4").reshape(3, 4),
        "scalars": [numpy.float32(0.25), numpy.uint8(7)],
        "sets": [{1, 2, 3}, set(), {(1, "x")}],
        "nested": {"a": {1: {"b": (1, {2: [3, {4}]})}}, (5, 6): "tuple key"},
        "misc": [Fraction(1, 3), OrderedDict([("z", 1), ("a", 2)]), slice(1, None, 2),
                 b"\x00\xff", 1 - 2j, -math.inf],
    }


def check_custom(actual, expected):
    assert type(actual) is Custom
    if isinstance(expected.data, Custom):
        check_custom(actual.data, expected.data)
    else:
        assert_same(actual.data, expected.data)


@pytest.mark.parametrize("version", [1, 2])
def test_an_encoder_using_wrap_round_trips_rich_values(custom_registered, version):
    write = pyon.encode_v1 if version == 1 else pyon.encode_v2
    value = Custom(rich_data())
    text = write(value)
    assert text.startswith("custom(" if version == 1 else '{"__jsonclass__":["custom",[')
    check_custom(pyon.decode(text), value)
    # inside containers, and a registered value inside another
    nested = Custom(Custom((1, numpy.zeros(2))))
    check_custom(pyon.decode(write(nested)), nested)
    many = pyon.decode(write({"k": [Custom({1: (2, 3)}), Custom({4})]}))
    check_custom(many["k"][0], Custom({1: (2, 3)}))
    check_custom(many["k"][1], Custom({4}))


@pytest.mark.parametrize("version", [1, 2])
def test_an_encoder_using_wrap_round_trips_through_the_default_writer(custom_registered,
                                                                      version):
    codec = pyon.Codec(pyon._default_registry, version=version)
    value = Custom(rich_data())
    check_custom(codec.decode(codec.encode(value)), value)
    check_custom(pyon.decode(pyon.encode(value)), value)


# ---------------------------------------------------- 1.10's keywords: API --

def positional(function) -> list[str]:
    return [p.name for p in inspect.signature(function).parameters.values()
            if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]


def test_positional_parameters_are_unchanged():
    assert positional(pyon.encode) == ["x", "pretty"]
    assert positional(pyon.decode) == ["s"]
    assert positional(pyon.store_file) == ["filename", "x"]
    assert positional(pyon.load_file) == ["filename"]
    assert pyon.encode((1, 2), True) == pyon.encode((1, 2), pretty=True)


VALUE = {"b": (1, 2), "a": [1.5, math.nan, math.inf], "c": {"y": 1, "x": numpy.int8(2)}}


def default_separators(pretty: bool) -> tuple[str, str]:
    if pyon.DEFAULT_VERSION == 1:
        return (", ", ": ")
    return (",", ": ") if pretty else (",", ":")


def accepted_encode_options():
    """(pretty given, keywords, the layout they ask for: pretty or not)."""
    compact, pretty = default_separators(False), default_separators(True)
    return [
        pytest.param(False, {"indent": None}, False, id="indent-None"),
        pytest.param(False, {"indent": 4}, True, id="indent-4"),
        pytest.param(False, {"indent": "    "}, True, id="indent-4-spaces"),
        pytest.param(True, {"indent": 4}, True, id="indent-4-and-pretty"),
        pytest.param(False, {"sort_keys": False}, False, id="sort_keys-compact"),
        pytest.param(True, {"sort_keys": True}, True, id="sort_keys-pretty"),
        pytest.param(False, {"separators": compact}, False, id="separators-compact"),
        pytest.param(False, {"separators": list(compact)}, False, id="separators-list"),
        pytest.param(True, {"separators": pretty}, True, id="separators-pretty"),
        pytest.param(False, {"ensure_ascii": True, "allow_nan": True, "skipkeys": False},
                     False, id="json-defaults"),
        pytest.param(True, {"ensure_ascii": 1, "allow_nan": True, "skipkeys": 0},
                     True, id="json-defaults-pretty"),
        pytest.param(False, {"check_circular": True}, False, id="check_circular-True"),
        pytest.param(False, {"check_circular": False}, False, id="check_circular-False"),
        pytest.param(False, {"cls": None, "default": None}, False, id="no-hooks"),
        pytest.param(False, {"indent": 4, "sort_keys": True, "separators": pretty,
                             "ensure_ascii": True}, True, id="pretty-json-style"),
    ]


@pytest.mark.parametrize("given, options, pretty", accepted_encode_options())
def test_encode_accepts_keywords_asking_for_what_it_does(given, options, pretty):
    assert pyon.encode(VALUE, given, **options) == pyon.encode(VALUE, pretty)


REFUSED_ENCODE = [
    ("indent", 2), ("indent", 0), ("indent", "\t"), ("indent", True),
    ("sort_keys", True), ("separators", (",", "=")), ("separators", "::"),
    ("ensure_ascii", False), ("allow_nan", False), ("skipkeys", True),
    ("cls", object), ("default", repr),
]


@pytest.mark.parametrize("name, value", REFUSED_ENCODE,
                         ids=[f"{n}={v!r}" for n, v in REFUSED_ENCODE])
def test_encode_refuses_values_it_cannot_honour_naming_them(name, value):
    with pytest.raises(ValueError) as caught:
        pyon.encode(VALUE, **{name: value})
    assert f"{name}={value!r}" in str(caught.value)
    assert "encode()" in str(caught.value)


def test_encode_refuses_layout_contradictions():
    with pytest.raises(ValueError, match=r"indent=None"):
        pyon.encode(VALUE, True, indent=None)
    with pytest.raises(ValueError, match=r"sort_keys=False"):
        pyon.encode(VALUE, True, sort_keys=False)
    with pytest.raises(ValueError, match=r"sort_keys=False"):
        pyon.encode(VALUE, indent=4, sort_keys=False)
    with pytest.raises(ValueError, match=r"separators="):
        pyon.encode(VALUE, separators=("X", "Y"))


@pytest.mark.parametrize("name", ["foo", "encoding", "object_hook", "strict", "width"])
def test_encode_refuses_unknown_keywords_with_a_type_error_naming_them(name):
    with pytest.raises(TypeError, match=rf"encode\(\) got an unexpected keyword argument "
                                        rf"'{name}'"):
        pyon.encode(VALUE, **{name: None})


@pytest.mark.parametrize("version, pretty, separators",
                         [(1, False, (", ", ": ")), (1, True, (", ", ": ")),
                          (2, False, (",", ":")), (2, True, (",", ": "))])
def test_separators_are_those_of_each_version_and_layout(version, pretty, separators):
    codec = pyon.Codec(version=version)
    assert codec.encode(VALUE, pretty, separators=separators) == codec.encode(VALUE, pretty)
    other = {(", ", ": "), (",", ":"), (",", ": ")} - {separators}
    for wrong in other:
        with pytest.raises(ValueError, match="separators="):
            codec.encode(VALUE, pretty, separators=wrong)


TEXTS = [pyon.encode_v1(VALUE), pyon.encode_v2(VALUE)]


@pytest.mark.parametrize("options", [
    {"strict": True}, {"parse_float": float, "parse_int": int}, {"parse_float": None},
    {"parse_constant": None, "object_hook": None, "object_pairs_hook": None, "cls": None},
], ids=["strict", "parse-builtins", "parse-None", "no-hooks"])
@pytest.mark.parametrize("text", TEXTS, ids=["v1", "v2"])
def test_decode_accepts_keywords_asking_for_what_it_does(text, options):
    assert_same(pyon.decode(text, **options), pyon.decode(text))


REFUSED_DECODE = [
    ("strict", False), ("parse_float", str), ("parse_int", float),
    ("parse_constant", float), ("object_hook", dict), ("object_pairs_hook", OrderedDict),
    ("cls", object),
]


@pytest.mark.parametrize("name, value", REFUSED_DECODE,
                         ids=[f"{n}={v!r}" for n, v in REFUSED_DECODE])
def test_decode_refuses_values_it_cannot_honour_naming_them(name, value):
    with pytest.raises(ValueError) as caught:
        pyon.decode(TEXTS[1], **{name: value})
    assert f"{name}={value!r}" in str(caught.value)
    assert "decode()" in str(caught.value)


@pytest.mark.parametrize("name", ["encoding", "indent", "pretty", "foo"])
def test_decode_refuses_unknown_keywords_with_a_type_error_naming_them(name):
    with pytest.raises(TypeError, match=rf"decode\(\) got an unexpected keyword argument "
                                        rf"'{name}'"):
        pyon.decode(TEXTS[0], **{name: None})


# --------------------------------------------- 1.10's keywords: the files --

def test_store_file_takes_the_pretty_layouts_keywords(tmp_path):
    plain, keyed = tmp_path / "plain.pyon", tmp_path / "keyed.pyon"
    pyon.store_file(plain, VALUE)
    pyon.store_file(keyed, VALUE, indent=4, sort_keys=True, ensure_ascii=True,
                    allow_nan=True, separators=default_separators(True))
    assert keyed.read_bytes() == plain.read_bytes()


@pytest.mark.parametrize("name, value", [("indent", None), ("indent", 2),
                                         ("sort_keys", False), ("ensure_ascii", False)])
def test_store_file_refuses_what_it_cannot_honour_and_writes_nothing(tmp_path, name, value):
    target = tmp_path / "state.pyon"
    with pytest.raises(ValueError, match=rf"store_file\(\): {name}={value!r}"):
        pyon.store_file(target, VALUE, **{name: value})
    with pytest.raises(TypeError, match=r"store_file\(\) got an unexpected keyword "
                                        r"argument 'mode'"):
        pyon.store_file(target, VALUE, mode="w")
    assert not target.exists()


def test_load_file_takes_the_readers_keywords(tmp_path):
    target = tmp_path / "state.pyon"
    pyon.store_file(target, VALUE)
    assert_same(pyon.load_file(target, strict=True, parse_int=int, object_hook=None),
                pyon.load_file(target), ordered=False)
    with pytest.raises(ValueError, match=r"load_file\(\): object_hook="):
        pyon.load_file(target, object_hook=dict)
    with pytest.raises(TypeError, match=r"load_file\(\) got an unexpected keyword "
                                        r"argument 'encoding'"):
        pyon.load_file(target, encoding="utf-8")
