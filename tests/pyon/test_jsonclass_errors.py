"""A refused ``__jsonclass__`` object raises one class that is both this
library's DecodeError (a ValueError) and a KeyError (what a 1.10-style
table lookup of the name raises), with the message and offset intact."""

from __future__ import annotations

import pickle

import pytest

from sipyco import pyon
from sipyco.errors import DecodeError, JsonClassError, PyonError, UnknownJsonClass

UNKNOWN = [
    ('{"__jsonclass__":["Nope",[1,2]]}', "Nope", 18),
    ('[1,{"__jsonclass__":["Nope",[]]}]', "Nope", 21),
    ('{"a": {"__jsonclass__": ["point", [1]]}}', "point", 25),
    ('{"__jsonclass__":["__import__",["os"]]}', "__import__", 18),
]

MALFORMED = [
    '{"__jsonclass__":["tuple",[[1]]],"extra":1}',  # a reserved key beside others
    '{"__jsonclass__":"tuple"}',
    '{"__jsonclass__":["tuple"]}',
    '{"__jsonclass__":["tuple",[[1]],3]}',
    '{"__jsonclass__":[3,[1]]}',
    '{"__jsonclass__":["tuple",{"a":1}]}',
    '{"__jsonclass__":null}',
    '[0,{"__jsonclass__":{}}]',
]

READERS = {"decode": pyon.decode, "decode_v2": pyon.decode_v2,
           "codec": pyon.Codec().decode, "bytes": lambda t: pyon.decode(t.encode())}


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("text, name, offset", UNKNOWN)
def test_unknown_name(reader, text, name, offset):
    with pytest.raises(UnknownJsonClass) as info:
        READERS[reader](text)
    exc = info.value
    for cls in (KeyError, ValueError, LookupError, DecodeError, PyonError, JsonClassError):
        assert isinstance(exc, cls), cls
    assert exc.offset == offset
    assert exc.reason == f"unknown __jsonclass__ name {name!r}"
    # the plain message, not KeyError's quoted repr of it
    assert str(exc) == f"unknown __jsonclass__ name {name!r} at offset {offset}"
    assert text[offset:].startswith(f'"{name}"')


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_object(text):
    for reader in READERS.values():
        with pytest.raises(JsonClassError) as info:
            reader(text)
        exc = info.value
        assert isinstance(exc, KeyError) and isinstance(exc, ValueError)
        assert not isinstance(exc, UnknownJsonClass)
        assert str(exc).startswith('a "__jsonclass__" object must be exactly')
        assert str(exc).endswith(f"at offset {exc.offset}")
        assert text[exc.offset:].startswith('"__jsonclass__"')


def test_either_release_s_except_clause_catches_it():
    caught = []
    for clause in (KeyError, ValueError):
        try:
            pyon.decode('{"__jsonclass__":["Nope",[]]}')
        except clause as exc:
            caught.append(type(exc))
    assert caught == [UnknownJsonClass, UnknownJsonClass]


def test_a_builder_refusal_stays_a_plain_decode_error():
    # a known name with unusable arguments: not a lookup failure
    for text in ('{"__jsonclass__":["tuple",[1,2]]}', '{"__jsonclass__":["bytes",["@@"]]}'):
        with pytest.raises(DecodeError) as info:
            pyon.decode(text)
        assert not isinstance(info.value, KeyError)


def test_v1_only_readers_keep_the_object_as_a_dict():
    text = '{"__jsonclass__": ["Nope", [1, 2]]}'
    assert pyon.decode_v1(text) == {"__jsonclass__": ["Nope", [1, 2]]}


def test_message_survives_formatting():
    try:
        pyon.decode('{"__jsonclass__":["Nope",[]]}')
    except KeyError as exc:
        assert f"{exc}" == "unknown __jsonclass__ name 'Nope' at offset 18"
        assert exc.args == ("unknown __jsonclass__ name 'Nope' at offset 18",)
    err = UnknownJsonClass("x", 3)
    assert repr(err).startswith("UnknownJsonClass(")
    assert isinstance(pickle.loads(pickle.dumps(err)), UnknownJsonClass)
