"""``Codec(version=...)``, ``encode_v1`` and the in-process face of
``sipyco.pyon_v1`` (child processes with SIPYCO_PYON_VERSION set are in
test_version_switch.py)."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy
import pytest

from sipyco import pyon, pyon_v1
from sipyco.errors import DecodeError, EncodeError

VALUE = {"a": numpy.arange(3, dtype="<u2"), "b": b"\x01", "k": {2: OrderedDict(a=1.5)},
         "t": (1, None)}  # keys sorted, as the pretty forms write them


def test_default_codec_version_is_the_module_default():
    assert pyon.DEFAULT_VERSION in (1, 2)
    assert pyon.Codec().version == pyon.DEFAULT_VERSION
    expected = pyon.encode_v1 if pyon.DEFAULT_VERSION == 1 else pyon.encode_v2
    assert pyon.encode(VALUE) == expected(VALUE)
    assert pyon.encode(VALUE, pretty=True) == expected(VALUE, pretty=True)


@pytest.mark.parametrize("version", [0, 3, "2", 2.0, True, -1])
def test_invalid_versions(version):
    with pytest.raises(ValueError):
        pyon.Codec(version=version)


def test_version_decides_encode_and_store_file(tmp_path):
    for version, writer in ((1, pyon.encode_v1), (2, pyon.encode_v2)):
        codec = pyon.Codec(version=version)
        assert codec.version == version
        assert codec.encode(VALUE) == writer(VALUE)
        assert codec.encode(VALUE, pretty=True) == writer(VALUE, pretty=True)
        assert codec.encode_v1(VALUE) == pyon.encode_v1(VALUE)  # explicit ones never change
        assert codec.encode_v2(VALUE) == pyon.encode_v2(VALUE)
        path = tmp_path / f"v{version}.pyon"
        codec.store_file(path, VALUE)
        assert path.read_text() == writer(VALUE, pretty=True) + "\n"
        back = pyon.load_file(path)
        assert pyon.encode_v2(back) == pyon.encode_v2(VALUE)
        codec.store_file_v1(path, VALUE)
        assert path.read_text() == pyon.encode_v1(VALUE, pretty=True) + "\n"


def test_v2_codec_errors_are_encode_errors():
    with pytest.raises(EncodeError) as info:
        pyon.Codec(version=2).encode({"x": [object()]})
    assert isinstance(info.value, TypeError)
    assert info.value.path == 'x["x"][0]'


def test_pyon_v1_module():
    assert sorted(pyon_v1.__all__) == ["decode", "encode", "load_file", "store_file"]
    assert pyon_v1.encode(VALUE) == pyon.encode_v1(VALUE)
    assert pyon_v1.encode(VALUE, pretty=True) == pyon.encode_v1(VALUE, pretty=True)
    assert pyon.encode_v2(pyon_v1.decode(pyon_v1.encode(VALUE))) == pyon.encode_v2(VALUE)
    assert pyon_v1.decode(b"(1, )") == (1,)


def test_pyon_v1_reads_json_as_python_syntax():
    # what upstream's eval-based reader gives: the object stays a dict
    assert pyon_v1.decode('{"__jsonclass__": ["tuple", [[1, 2]]]}') == \
        {"__jsonclass__": ["tuple", [[1, 2]]]}
    assert pyon_v1.decode('{"a": [1, true, null]}') == {"a": [1, True, None]}
    for text in ('{"a": NaN}', "[Infinity]"):  # JSON-only names are not v1
        with pytest.raises(DecodeError):
            pyon_v1.decode(text)
    assert math.isnan(pyon_v1.decode("nan"))


def test_pyon_v1_never_evaluates():
    for text in ('__import__("os").system("true")', "(lambda: 1)()", "1 + 1", "open"):
        with pytest.raises(DecodeError):
            pyon_v1.decode(text)


def test_pyon_v1_files(tmp_path):
    path = tmp_path / "data.pyon"
    pyon_v1.store_file(path, VALUE)
    assert path.read_text() == pyon.encode_v1(VALUE, pretty=True) + "\n"
    assert pyon.encode_v2(pyon_v1.load_file(path)) == pyon.encode_v2(VALUE)
    path.write_text(pyon.encode_v2({"t": (1, 2)}))
    assert pyon_v1.load_file(path) == {"t": {"__jsonclass__": ["tuple", [[1, 2]]]}}


def test_pyon_v1_writes_registered_types():
    class Thing:
        pass

    pyon.register([Thing], name="Thing", encode=lambda t: [], decode=Thing)
    try:
        assert pyon_v1.encode([Thing()]) == "[Thing()]"
        assert type(pyon_v1.decode("Thing()")) is Thing
    finally:
        pyon.deregister([Thing], "Thing")
