"""sipyco 1.10's ``register(types, *, name, encode, decode)`` and
``deregister(types, name)``, beside this library's own keyword form."""

from __future__ import annotations

import pytest

from sipyco import pyon
from sipyco.errors import (
    AlreadyRegistered,
    DecodeError,
    EncodeError,
    NotRegistered,
    UnknownJsonClass,
)


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __eq__(self, other):
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)

    def __hash__(self):
        return hash((self.x, self.y))


class Point3(Point):
    pass


class Other:
    pass


def _point_args(p):
    return [p.x, p.y]


def _codecs():
    registry = pyon.Registry()
    return registry, pyon.Codec(registry, version=1), pyon.Codec(registry, version=2)


@pytest.mark.parametrize("types", [[Point], (Point,), Point, iter([Point]), {Point}],
                         ids=["list", "tuple", "class", "iterator", "set"])
def test_round_trip_in_both_versions(types):
    registry, v1, v2 = _codecs()
    assert registry.register(types, name="Point", encode=_point_args, decode=Point) is None
    value = {"p": Point(1, (2, 3)), "l": [Point(None, b"x")]}
    assert v1.encode(Point(1, 2)) == "Point(1, 2)"
    assert v2.encode(Point(1, 2)) == '{"__jsonclass__":["Point",[1,2]]}'
    for codec in (v1, v2):
        text = codec.encode(value)
        for reader in (v1, v2):
            back = reader.decode(text)
            assert back == value
            assert back["p"].y == (2, 3)


def test_types_keyword_and_several_classes_under_one_name():
    registry, v1, v2 = _codecs()
    registry.register(types=[Point, Point3], name="P", encode=_point_args, decode=Point3)
    assert v1.encode([Point(1, 2), Point3(3, 4)]) == "[P(1, 2), P(3, 4)]"
    back = v2.decode(v2.encode(Point(1, 2)))
    assert type(back) is Point3 and back == Point(1, 2)  # decode decides what is built


def test_module_level_functions_use_the_default_codec():
    pyon.register([Point], name="Point", encode=_point_args, decode=Point)
    try:
        assert pyon.encode_v1(Point(1, 2)) == "Point(1, 2)"
        assert pyon.encode_v2(Point(1, 2)) == '{"__jsonclass__":["Point",[1,2]]}'
        assert pyon.decode("Point(1, 2)") == Point(1, 2)
        assert pyon.decode('{"__jsonclass__":["Point",[1,2]]}') == Point(1, 2)
        with pytest.raises(AlreadyRegistered):
            pyon.register([Point], name="Point2", encode=_point_args, decode=Point)
    finally:
        pyon.deregister([Point], "Point")
    with pytest.raises(TypeError):
        pyon.encode_v2(Point(1, 2))
    with pytest.raises(EncodeError):
        pyon.encode_v1(Point(1, 2))
    with pytest.raises(UnknownJsonClass):
        pyon.decode('{"__jsonclass__":["Point",[1,2]]}')
    with pytest.raises(DecodeError):
        pyon.decode("Point(1, 2)")


def _assert_refused(call):
    with pytest.raises(AlreadyRegistered) as info:
        call()
    # code written for either release catches it
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, AssertionError)
    return info.value


def test_registering_a_type_or_name_twice():
    registry, v1, v2 = _codecs()
    registry.register([Point], name="Point", encode=_point_args, decode=Point)
    version = registry.version
    before = (registry.by_type(), registry.by_name())
    message = str(_assert_refused(lambda: registry.register(
        [Point], name="Again", encode=_point_args, decode=Point)))
    assert "Point" in message and "already registered" in message
    _assert_refused(lambda: registry.register([Other], name="Point", encode=list, decode=Other))
    _assert_refused(lambda: registry.register([Other, Point], name="X", encode=list,
                                              decode=Other))
    _assert_refused(lambda: registry.register([Other, Other], name="X", encode=list,
                                              decode=Other))
    # our own keyword form refuses another class's name with the same class
    _assert_refused(lambda: registry.register(Other, name="Point", to_args=lambda o: ()))
    assert (registry.by_type(), registry.by_name()) == before
    assert registry.version == version
    assert v2.decode(v2.encode(Point(1, 2))) == Point(1, 2)
    assert v1.encode(Point(1, 2)) == "Point(1, 2)"


def test_keyword_form_type_then_1_10_form_is_refused():
    registry, _, _ = _codecs()
    registry.register(Point, to_args=_point_args)
    _assert_refused(lambda: registry.register([Point], name="Q", encode=_point_args,
                                              decode=Point))
    _assert_refused(lambda: registry.register([Other], name="Point", encode=list,
                                              decode=Other))


@pytest.mark.parametrize("name", ["tuple", "dict", "bytes", "nparray", "Fraction", "null"])
def test_reserved_names_are_already_registered(name):
    registry = pyon.Registry()
    _assert_refused(lambda: registry.register([Point], name=name, encode=_point_args,
                                              decode=Point))
    _assert_refused(lambda: registry.register(Point, name=name, to_args=_point_args))
    assert registry.by_name() == {}


def test_deregister_then_encoding_is_a_type_error():
    registry, v1, v2 = _codecs()
    registry.register([Point, Point3], name="Point", encode=_point_args, decode=Point)
    registry.deregister([Point, Point3], "Point")
    for codec in (v1, v2):
        with pytest.raises(TypeError) as info:
            codec.encode({"a": [Point(1, 2)]})
        assert isinstance(info.value, EncodeError)
        assert info.value.path == 'x["a"][0]'
    with pytest.raises(UnknownJsonClass):
        v2.decode('{"__jsonclass__":["Point",[1,2]]}')
    # and it can be registered again
    registry.register(Point, name="Point", encode=_point_args, decode=Point)
    assert v1.decode(v1.encode(Point(5, 6))) == Point(5, 6)


def test_deregister_a_single_class_and_part_of_a_name():
    registry, v1, v2 = _codecs()
    registry.register([Point, Point3], name="Point", encode=_point_args, decode=Point)
    registry.deregister(Point3, "Point")
    with pytest.raises(EncodeError):
        v2.encode(Point3(1, 2))
    assert v2.decode(v2.encode(Point(1, 2))) == Point(1, 2)  # the name stays for Point
    registry.deregister(Point, "Point")
    assert registry.by_name() == {} and registry.by_type() == {}


def test_deregister_unknown_is_a_key_error_and_changes_nothing():
    registry, _, v2 = _codecs()
    registry.register([Point], name="Point", encode=_point_args, decode=Point)
    before = (registry.by_type(), registry.by_name())
    for types, name in [([Point], "Nope"), ([Other], "Point"), ([Point, Other], "Point")]:
        with pytest.raises(KeyError) as info:
            registry.deregister(types, name)
        assert isinstance(info.value, NotRegistered)
        text = str(info.value)
        assert "not registered" in text and not text.startswith(("'", '"'))
    assert (registry.by_type(), registry.by_name()) == before
    with pytest.raises(KeyError):
        pyon.deregister([Other], "Other")
    with pytest.raises(KeyError):
        pyon.unregister(Other)


def test_unregister_works_for_1_10_registrations():
    registry, _, v2 = _codecs()
    registry.register([Point, Point3], name="Point", encode=_point_args, decode=Point)
    registry.unregister(Point)  # the name still belongs to Point3
    assert v2.decode(v2.encode(Point3(1, 2))) == Point(1, 2)
    registry.unregister(Point3)
    assert registry.by_name() == {}


def test_a_name_with_no_type_is_read_only():
    registry, v1, v2 = _codecs()
    registry.register([], name="Legacy", encode=_point_args, decode=Point)
    assert v2.decode('{"__jsonclass__":["Legacy",[1,2]]}') == Point(1, 2)
    assert v1.decode("Legacy(1, 2)") == Point(1, 2)
    _assert_refused(lambda: registry.register(Point, name="Legacy", to_args=_point_args))
    registry.deregister([], "Legacy")
    assert registry.by_name() == {}


@pytest.mark.parametrize("name, written", [
    ("my.Point", "my.Point"), ("a b", "a b"), ('q"uote', 'q\\"uote'),
    ("caf\u00e9", "caf\\u00e9"), ("class", "class"),
])
def test_names_v1_cannot_write_are_v2_only(name, written):
    registry, v1, v2 = _codecs()
    registry.register([Point], name=name, encode=_point_args, decode=Point)
    text = v2.encode([Point(1, 2)])
    assert text == '[{"__jsonclass__":["' + written + '",[1,2]]}]'
    assert v2.decode(text) == [Point(1, 2)]
    assert v1.decode(text) == [Point(1, 2)]  # reading detects v2 whatever the codec writes
    with pytest.raises(EncodeError) as info:
        v1.encode([Point(1, 2)])
    assert repr(name) in str(info.value) and info.value.path == "x[0]"


def test_bad_arguments_are_type_errors():
    registry = pyon.Registry()
    bad = [
        dict(types=[Point], name="P", encode=_point_args),  # no decode
        dict(types=[Point], name="P", decode=Point),  # no encode
        dict(types=[Point], encode=_point_args, decode=Point),  # no name
        dict(types=[Point], name="P", encode=_point_args, decode=Point, to_args=_point_args),
        dict(types=[Point], name="P", encode=_point_args, decode=Point, from_args=Point),
        dict(types=[Point(1, 2)], name="P", encode=_point_args, decode=Point),
        dict(types=42, name="P", encode=_point_args, decode=Point),
        dict(types=[Point], name=3, encode=_point_args, decode=Point),
        dict(types=[Point], name="P", encode=None, decode=Point),
        dict(types=[Point], name="P", encode=_point_args, decode="Point"),
        dict(name="P", encode=_point_args, decode=Point),  # no types at all
    ]
    for kwargs in bad:
        with pytest.raises(TypeError):
            registry.register(**kwargs)
    with pytest.raises(TypeError):
        registry.register(Point, types=[Point], name="P", encode=_point_args, decode=Point)
    with pytest.raises(TypeError):
        registry.deregister(42, "P")
    assert registry.by_name() == {} and registry.by_type() == {}


def test_our_keyword_form_is_unchanged():
    registry, v1, v2 = _codecs()
    assert registry.register(Point, to_args=lambda p: (p.x, p.y)) is Point
    assert registry.register(Point, to_args=lambda p: (p.x, p.y)) is Point  # replaces
    assert registry.register(cls=Point, name="P2", to_args=_point_args) is Point  # renames
    assert v1.encode(Point(1, 2)) == "P2(1, 2)"
    assert pyon.register(Point, to_args=_point_args) is Point
    try:
        assert pyon.encode_v1(Point(1, 2)) == "Point(1, 2)"
    finally:
        pyon.unregister(Point)
    with pytest.raises(ValueError):
        registry.register(Other, name="P2", to_args=lambda o: ())
