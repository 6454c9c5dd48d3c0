"""PYON's own names, checked against the one table that defines them.

Every test here iterates over ``sipyco._pyon.specials.SPECIALS``: a name added
to (or dropped from) the table is tested in every version it claims, and a
reader, writer or registry that disagrees with the table fails.
"""

from __future__ import annotations

import keyword
from collections import OrderedDict
from fractions import Fraction

import numpy
import pytest
from support.pyon import assert_same

from sipyco import pyon
from sipyco._pyon import decode_v1 as reader_v1
from sipyco._pyon.specials import (
    RESERVED_NAMES,
    SPECIALS,
    VERSIONS,
    WRITTEN_AS_CALLS,
)
from sipyco.errors import DecodeError

BY_NAME = {s.name: s for s in SPECIALS}
CONSTANTS = [s for s in SPECIALS if s.is_constant]
CALLS = [s for s in SPECIALS if not s.is_constant and s.versions]

# Values written as each call.  Every type in an entry's ``writes`` needs a
# sample of exactly that type (checked below), so a new entry needs samples.
_SCALAR = {numpy.complex64: 1.5 - 2j, numpy.complex128: complex(-0.0, 3)}
SAMPLES = {
    "slice": [slice(1, None, -1), slice(None), slice("a", b"b", (1, ))],
    "Fraction": [Fraction(-22, 7), Fraction(10**30, 3)],
    "OrderedDict": [OrderedDict(), OrderedDict([("b", 1), (2, (3, )), ((), OrderedDict())])],
    # the large array's text is read by the long-text tokenizer, which hands
    # its payload to the builder as a memoryview
    "nparray": [numpy.arange(6, dtype=">i2").reshape(2, 3), numpy.zeros(()),
                numpy.linspace(0, 1, 9000)],
    "npscalar": [t(_SCALAR.get(t, 7)) for t in BY_NAME["npscalar"].writes],
    "tuple": [(), (1, ), (1, "a", (None, ))],
    "set": [set(), {1, "a", (2, )}],
    "dict": [{1: "a", (2, ): None}, {"__jsonclass__": 1}, {"a": 1, 2: "b"}],
    "complex": [1.5 - 2j, complex(float("inf"), float("nan"))],
    "bytes": [b"", bytes(range(256))],
}


def _call_cases():
    for s in CALLS:
        for version in s.versions:
            for i, value in enumerate(SAMPLES.get(s.name, [])):
                yield pytest.param(s.name, version, value, id=f"{s.name}-v{version}-{i}")


def _absent_cases():
    for s in SPECIALS:
        for version in VERSIONS:
            if version not in s.versions:
                yield pytest.param(s.name, version, id=f"{s.name}-v{version}")


def _opening(name: str, version: int) -> str:
    return name + "(" if version == 1 else '{"__jsonclass__":["' + name + '",'


WRITERS = {1: pyon.encode, 2: pyon.encode_v2}
READERS = {1: pyon.decode_v1, 2: pyon.decode_v2}


def test_every_call_has_samples_of_each_type_it_writes():
    assert set(SAMPLES) == {s.name for s in CALLS if s.writes}
    for s in CALLS:
        assert {type(v) for v in SAMPLES.get(s.name, [])} == set(s.writes), s.name


@pytest.mark.parametrize("name, version, value", list(_call_cases()))
def test_call_round_trips(name, version, value):
    text = WRITERS[version](value)
    assert text.startswith(_opening(name, version)), text[:80]
    assert_same(READERS[version](text), value)
    assert_same(pyon.decode(text), value)
    assert_same(pyon.decode("[" + text + "]"), [value])
    pretty = WRITERS[version](value, pretty=True)
    assert_same(pyon.decode(pretty), value, ordered=False)


@pytest.mark.parametrize("name", [s.name for s in CONSTANTS])
def test_constant_reads_and_round_trips(name):
    value = BY_NAME[name].value
    for decode in (pyon.decode_v1, pyon.decode):
        assert_same(decode(name), value)
        assert_same(decode(f"[{name}, ({name}, ), {{1: {name}}}]"),
                    [value, (value, ), {1: value}])
    text = pyon.encode(value)
    assert text in BY_NAME and BY_NAME[text].is_constant, text
    assert_same(BY_NAME[text].value, value)
    for version in VERSIONS:
        assert_same(pyon.decode(WRITERS[version](value)), value)


@pytest.mark.parametrize("name, version", list(_absent_cases()))
def test_name_is_refused_where_the_version_lacks_it(name, version):
    if version == 1:
        texts = [f"{name}([1, 2])", f"{name}()"]
        readers = [pyon.decode_v1, pyon.decode]
    else:
        texts = ['{"__jsonclass__":["' + name + '",[[1,2]]]}',
                 '{"__jsonclass__":["' + name + '",[]]}']
        readers = [pyon.decode_v2, pyon.decode]
    for text in texts:
        for read in readers:
            with pytest.raises(DecodeError):
                read(text)


@pytest.mark.parametrize("name", [s.name for s in CALLS if 1 not in s.versions])
def test_v2_only_call_stays_a_plain_dict_for_the_v1_reader(name):
    text = pyon.encode_v2(SAMPLES[name][0])
    assert text.startswith(_opening(name, 2))
    plain = pyon.decode_v1(text)
    assert type(plain) is dict and plain["__jsonclass__"][0] == name


class _Thing:
    pass


@pytest.mark.parametrize("name", [s.name for s in SPECIALS])
def test_every_name_is_reserved(name):
    registry = pyon.Registry()
    with pytest.raises(ValueError) as info:
        registry.register(_Thing, name=name, to_args=lambda t: ())
    if not keyword.iskeyword(name):  # None, True, False are refused as keywords first
        assert "reserved" in str(info.value)
    assert registry.by_name() == {}
    assert name in RESERVED_NAMES


def test_reserved_names_are_exactly_the_table():
    assert RESERVED_NAMES == set(BY_NAME)
    assert len(BY_NAME) == len(SPECIALS), "a name appears twice in the table"


def test_readers_know_exactly_the_table_names():
    codec = pyon.Codec(pyon.Registry())._tables()
    assert set(reader_v1._CONSTANTS) == {s.name for s in CONSTANTS}
    for s in CONSTANTS:
        assert_same(reader_v1._CONSTANTS[s.name], s.value, s.name)
    assert codec._v1_calls == {s.name: s.v1 for s in SPECIALS if s.v1 is not None}
    assert codec._v2_classes == {s.name: s.v2 for s in SPECIALS if s.v2 is not None}
    for version, names in ((1, set(reader_v1._CONSTANTS) | set(codec._v1_calls)),
                           (2, set(codec._v2_classes))):
        assert names == {s.name for s in SPECIALS if version in s.versions}
    assert reader_v1._TAKES_VIEWS == {s.name for s in SPECIALS if s.views}


def test_registered_names_are_added_to_the_table_names_only():
    registry = pyon.Registry()
    registry.register(_Thing, name="Thing", to_args=lambda t: ())
    codec = pyon.Codec(registry)._tables()
    assert set(codec._v1_calls) == {s.name for s in SPECIALS if s.v1} | {"Thing"}
    assert set(codec._v2_classes) == {s.name for s in SPECIALS if s.v2} | {"Thing"}


def test_each_type_is_written_under_one_name_per_version():
    for version in VERSIONS:
        written = [t for _, types in WRITTEN_AS_CALLS[version] for t in types]
        assert len(written) == len(set(written)), version
        assert {name for name, _ in WRITTEN_AS_CALLS[version]} \
            == {s.name for s in SPECIALS if s.writes and version in s.versions}


@pytest.mark.parametrize("name", [s.name for s in CALLS if 1 in s.versions])
def test_only_view_taking_builders_get_memoryviews(name):
    # Long texts hand long bytes literals over as memoryviews, but only to
    # the builders the table marks; every other builder gets bytes.
    seen = []
    text = f'{name}(b"{"QUJD" * 20000}")'
    reader_v1.decode_v1(text, {name: lambda *args: seen.extend(args)})
    assert type(seen[0]) is (memoryview if BY_NAME[name].views else bytes)
    assert bytes(seen[0]) == b"QUJD" * 20000
