"""Application types: ``Name(arg, ...)`` in v1, ``{"__jsonclass__":["Name",[args]]}`` in v2."""

from __future__ import annotations

import json

import numpy
import pytest
from support.pyon import assert_same

from sipyco import pyon
from sipyco.errors import DecodeError, EncodeError


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __eq__(self, other):
        return type(other) is Point and (self.x, self.y) == (other.x, other.y)

    def __hash__(self):
        return hash((Point, self.x, self.y))

    def __repr__(self):
        return f"Point({self.x!r}, {self.y!r})"


class Unit:
    def __eq__(self, other):
        return type(other) is Unit

    def __hash__(self):
        return 0


class Waveform:
    """Rebuilt through a factory rather than the class itself."""

    def __init__(self, samples: numpy.ndarray, rate: float):
        self.samples, self.rate = samples, rate

    @classmethod
    def from_wire(cls, samples, rate):
        return cls(samples, rate)


@pytest.fixture
def codec():
    c = pyon.Codec(pyon.Registry())
    c.registry.register(Point, to_args=lambda p: (p.x, p.y))
    return c


@pytest.mark.parametrize("value, v1, v2", [
    (Point(1, 2), "Point(1, 2)", '{"__jsonclass__":["Point",[1,2]]}'),
    (Point((1,), "s"), 'Point((1, ), "s")',
     '{"__jsonclass__":["Point",[{"__jsonclass__":["tuple",[[1]]]},"s"]]}'),
    ([Point(0, Point(1, None))], "[Point(0, Point(1, null))]",
     '[{"__jsonclass__":["Point",[0,{"__jsonclass__":["Point",[1,null]]}]]}]'),
    ({"p": Point(1.5, b"x")}, "{\"p\": Point(1.5, b'x')}",
     '{"p":{"__jsonclass__":["Point",[1.5,{"__jsonclass__":["bytes",["eA=="]]}]]}}'),
    ({Point(1, 2): "key"}, '{Point(1, 2): "key"}',
     '{"__jsonclass__":["dict",[[[{"__jsonclass__":["Point",[1,2]]},"key"]]]]}'),
], ids=["plain", "tuple-arg", "nested", "in-dict", "as-key"])
def test_registered_type_text_and_round_trip(codec, value, v1, v2):
    assert codec.encode(value) == v1
    assert codec.encode_v2(value) == v2
    json.loads(v2)
    for decode in (codec.decode, codec.decode_v1):
        assert_same(decode(v1), value)
    for decode in (codec.decode, codec.decode_v2):
        assert_same(decode(v2), value)


def test_zero_argument_type():
    c = pyon.Codec(pyon.Registry())
    c.registry.register(Unit, to_args=lambda u: ())
    assert c.encode([Unit()]) == "[Unit()]"
    assert c.encode_v2(Unit()) == '{"__jsonclass__":["Unit",[]]}'
    assert c.decode("[Unit()]") == [Unit()]
    assert c.decode('{"__jsonclass__":["Unit",[]]}') == Unit()


def test_custom_name_and_from_args():
    c = pyon.Codec(pyon.Registry())
    assert c.registry.register(Waveform, name="Wave", to_args=lambda w: (w.samples, w.rate),
                               from_args=Waveform.from_wire) is Waveform
    w = Waveform(numpy.arange(3, dtype="<f4"), 1e6)
    text = c.encode(w)
    assert text.startswith('Wave(nparray((3, ), "<f4", b"')
    assert text.endswith('"), 1000000.0)')
    for t in (text, c.encode_v2(w)):
        back = c.decode(t)
        assert type(back) is Waveform
        assert_same(back.samples, w.samples)
        assert back.rate == 1e6
    with pytest.raises(DecodeError):
        c.decode("Waveform(1, 2)")  # only the registered name is known


def test_pretty_v1_with_registered_type(codec):
    value = {"b": Point({"y": 1, "x": 2}, 0), "a": 1}
    text = codec.encode(value, pretty=True)
    assert text == '{\n    "a": 1,\n    "b": Point({\n        "x": 2,\n        "y": 1\n    }, 0)\n}'
    assert_same(codec.decode(text), value, ordered=False)


def test_unregistered_names_are_refused(codec):
    for text in ("Line(1, 2)", "[Point(1, 2), Line()]", "point(1, 2)"):
        with pytest.raises(DecodeError) as info:
            codec.decode(text)
        assert type(info.value.offset) is int
    for text in ('{"__jsonclass__":["Line",[1,2]]}', '{"__jsonclass__":["point",[1,2]]}'):
        with pytest.raises(DecodeError):
            codec.decode(text)
    with pytest.raises(DecodeError) as info:
        codec.decode("[0, Line(1)]")
    assert info.value.offset == 4


def test_a_bare_registered_name_is_not_a_value(codec):
    with pytest.raises(DecodeError):
        codec.decode("Point")
    with pytest.raises(DecodeError):
        codec.decode("[Point, 1]")


def test_keyword_arguments_are_refused(codec):
    with pytest.raises(DecodeError):
        codec.decode("Point(x=1, y=2)")


def test_separate_codec_does_not_touch_the_default(codec):
    assert codec.decode("Point(1, 2)") == Point(1, 2)
    with pytest.raises(EncodeError):
        pyon.encode(Point(1, 2))
    with pytest.raises(EncodeError):
        pyon.encode_v2(Point(1, 2))
    with pytest.raises(DecodeError):
        pyon.decode("Point(1, 2)")
    with pytest.raises(DecodeError):
        pyon.decode('{"__jsonclass__":["Point",[1,2]]}')
    with pytest.raises(EncodeError):
        pyon.Codec(pyon.Registry()).encode(Point(1, 2))


def test_codecs_sharing_a_registry_see_later_registrations():
    registry = pyon.Registry()
    first, second = pyon.Codec(registry), pyon.Codec(registry)
    assert first.encode(1) == "1"  # tables built before the registration
    with pytest.raises(EncodeError):
        second.encode(Unit())
    registry.register(Unit, to_args=lambda u: ())
    assert first.encode(Unit()) == "Unit()"
    assert second.decode("Unit()") == Unit()
    registry.unregister(Unit)
    with pytest.raises(EncodeError):
        first.encode(Unit())
    with pytest.raises(DecodeError):
        second.decode("Unit()")
    with pytest.raises(KeyError):
        registry.unregister(Unit)


def test_register_on_the_default_codec():
    try:
        assert pyon.register(Point, to_args=lambda p: (p.x, p.y)) is Point
        assert pyon.encode(Point(1, 2)) == "Point(1, 2)"
        assert pyon.encode_v2(Point(1, 2)) == '{"__jsonclass__":["Point",[1,2]]}'
        assert pyon.decode("Point(1, 2)") == Point(1, 2)
        assert pyon.decode_v2('{"__jsonclass__":["Point",[1,2]]}') == Point(1, 2)
    finally:
        pyon.unregister(Point)
    with pytest.raises(EncodeError):
        pyon.encode(Point(1, 2))
    with pytest.raises(DecodeError):
        pyon.decode("Point(1, 2)")


def test_renaming_a_registered_type_frees_the_old_name():
    c = pyon.Codec(pyon.Registry())
    c.registry.register(Point, name="P1", to_args=lambda p: (p.x, p.y))
    c.registry.register(Point, name="P2", to_args=lambda p: (p.x, p.y))
    assert c.encode(Point(1, 2)) == "P2(1, 2)"
    with pytest.raises(DecodeError):
        c.decode("P1(1, 2)")


def test_name_taken_by_another_class_is_refused(codec):
    other = type("Point", (), {})
    with pytest.raises(ValueError):
        codec.registry.register(other, to_args=lambda o: ())
    assert codec.decode("Point(1, 2)") == Point(1, 2)


RESERVED = ["nparray", "npscalar", "tuple", "dict", "list", "set", "bytes", "complex", "str",
            "int", "float", "slice", "Fraction", "OrderedDict", "null", "true", "false",
            "None", "True", "False", "inf", "nan", "infj", "nanj"]


@pytest.mark.parametrize("name", RESERVED)
def test_reserved_names_are_refused(name):
    registry = pyon.Registry()
    with pytest.raises(ValueError):
        registry.register(Point, name=name, to_args=lambda p: (p.x, p.y))
    assert registry.by_name() == {}


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "a b", "a.b", "os.system", "class",
                                  "lambda", "\u00e9t\u00e9", "x\n", "b'", 3, None])
def test_non_identifier_names_are_refused(name):
    kwargs = {} if name is None else {"name": name}
    cls = type("a.b", (), {}) if name is None else Point  # a class whose own name is bad
    with pytest.raises(ValueError):
        pyon.Registry().register(cls, to_args=lambda p: (), **kwargs)


def test_register_checks_its_arguments():
    registry = pyon.Registry()
    with pytest.raises(TypeError):
        registry.register(Point(1, 2), to_args=lambda p: ())  # an instance, not a class
    with pytest.raises(TypeError):
        registry.register(Point, to_args=None)


def test_from_args_exception_becomes_decode_error():
    def explode(*args):
        raise RuntimeError("cannot rebuild")

    c = pyon.Codec(pyon.Registry())
    c.registry.register(Point, to_args=lambda p: (p.x, p.y), from_args=explode)
    with pytest.raises(DecodeError) as info:
        c.decode("[0, Point(1, 2)]")
    assert info.value.offset == 4
    assert "cannot rebuild" in str(info.value)
    with pytest.raises(DecodeError) as info:
        c.decode('{"__jsonclass__":["Point",[1,2]]}')
    assert "cannot rebuild" in str(info.value)


def test_wrong_argument_count_becomes_decode_error(codec):
    for text in ("Point(1)", "Point(1, 2, 3)", '{"__jsonclass__":["Point",[1]]}'):
        with pytest.raises(DecodeError):
            codec.decode(text)


def test_unencodable_to_args_result_is_an_encode_error():
    c = pyon.Codec(pyon.Registry())
    c.registry.register(Point, to_args=lambda p: (p.x, object()))
    for encode in (c.encode, c.encode_v2):
        with pytest.raises(EncodeError):
            encode([Point(1, 2)])


def test_subclass_of_registered_type_is_not_silently_encoded(codec):
    class SubPoint(Point):
        pass

    with pytest.raises(EncodeError) as info:
        codec.encode(SubPoint(1, 2))
    assert "SubPoint" in str(info.value)
