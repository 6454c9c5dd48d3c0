"""SIPYCO_PYON_VERSION: what sipyco.pyon writes (v1 by default, v2 as sipyco
1.10 with ``2``), read once at import, in real child processes; reading always
takes both versions, and sipyco.pyon_v1 writes v1 whatever the variable says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from sipyco import pyon

# The child writes a value every way there is and reports the texts (and the
# files' bytes) as JSON; the parent, whose own default is v1, checks them.
_CHILD = textwrap.dedent("""
    import json, os, sys
    from collections import OrderedDict
    from fractions import Fraction
    import numpy
    from sipyco import pyon, pyon_v1

    class Point:
        def __init__(self, x, y):
            self.x, self.y = x, y

    VALUE = {
        "tuple": (1, 2.5, None), "bytes": b"\\x00ab", "set": {3},
        "nested": {"a": [Fraction(1, 3), 1j], "b": OrderedDict([("z", 1)])},  # sorted: pretty sorts
        "array": numpy.arange(6, dtype="<i4").reshape(2, 3), 7: slice(1, None, 2),
        "nan": float("nan"), "text": "caf\\u00e9",
    }
    directory = sys.argv[1]
    out = {"default": pyon.DEFAULT_VERSION, "codec_version": pyon.Codec().version}
    for name, f in [("encode", pyon.encode), ("encode_v1", pyon.encode_v1),
                    ("encode_v2", pyon.encode_v2), ("pyon_v1", pyon_v1.encode),
                    ("codec", pyon.Codec().encode), ("codec1", pyon.Codec(version=1).encode),
                    ("codec2", pyon.Codec(version=2).encode)]:
        out[name] = f(VALUE)
        out[name + "_pretty"] = f(VALUE, pretty=True)
    for name, store in [("store_file", pyon.store_file), ("pyon_v1_store", pyon_v1.store_file)]:
        path = os.path.join(directory, name)
        store(path, VALUE)
        with open(path, "rb") as f:
            out[name] = f.read().decode("ascii")
        # what this process reads back, written again in one canonical form
        out[name + "_load"] = pyon.encode_v2(pyon.load_file(path))
    canonical = pyon.encode_v2(VALUE)
    out["decode_reads_both"] = all(
        pyon.encode_v2(pyon.decode(t)) == canonical
        for t in (pyon.encode_v1(VALUE), pyon.encode_v2(VALUE),
                  pyon.encode_v1(VALUE, pretty=True), pyon.encode_v2(VALUE, pretty=True)))
    out["pyon_v1_reads_v1"] = pyon.encode_v2(pyon_v1.decode(out["pyon_v1"])) == canonical
    out["pyon_v1_load"] = pyon.encode_v2(pyon_v1.load_file(os.path.join(directory,
                                                                         "pyon_v1_store")))
    out["pyon_v1_jsonclass"] = pyon_v1.decode('{"__jsonclass__": ["tuple", [[1]]]}')
    out["canonical"] = canonical

    # sipyco 1.10's register/deregister, round trip in both versions
    pyon.register([Point], name="Point", encode=lambda p: [p.x, p.y], decode=Point)
    point = Point(1, (2, 3))
    out["point"] = pyon.encode(point)
    back = [pyon.decode(pyon.encode(point)), pyon.decode(pyon.encode_v1(point)),
            pyon.decode(pyon.encode_v2(point))]
    out["point_back"] = [(type(p).__name__, p.x, list(p.y)) for p in back]
    try:
        pyon.register(Point, name="Other", encode=list, decode=Point)
    except Exception as exc:
        out["twice"] = [type(exc).__name__, isinstance(exc, ValueError),
                        isinstance(exc, AssertionError)]
    pyon.deregister([Point], "Point")
    try:
        pyon.encode(point)
    except TypeError as exc:
        out["after_deregister"] = str(exc)
    print(json.dumps(out))
""")

VERSIONS = {None: 1, "1": 1, "2": 2}


def _env(setting):
    env = dict(os.environ)
    env.pop("SIPYCO_PYON_VERSION", None)
    if setting is not None:
        env["SIPYCO_PYON_VERSION"] = setting
    return env


@pytest.fixture(scope="module", params=list(VERSIONS), ids=["unset", "1", "2"])
def child(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp("child")
    result = subprocess.run([sys.executable, "-c", _CHILD, str(directory)],
                            env=_env(request.param), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return VERSIONS[request.param], json.loads(result.stdout)


def test_default_version(child):
    version, out = child
    assert out["default"] == version
    assert out["codec_version"] == version


def test_encode_writes_the_chosen_version(child):
    version, out = child
    assert out["encode_v1"] != out["encode_v2"]
    assert out["encode_v2"].startswith(
        '{"__jsonclass__":["dict",[[["tuple",{"__jsonclass__":["tuple",[[1,2.5,null]]]}],')
    assert out["encode_v1"].startswith('{"tuple": (1, 2.5, null), "bytes": b')
    expected = out["encode_v2"] if version == 2 else out["encode_v1"]
    assert out["encode"] == expected  # byte for byte
    assert out["codec"] == expected
    expected_pretty = out["encode_v2_pretty"] if version == 2 else out["encode_v1_pretty"]
    assert out["encode_pretty"] == expected_pretty
    assert out["codec_pretty"] == expected_pretty
    if version == 2:
        json.loads(out["encode"])  # plain JSON, NaN included
        assert '["nan",NaN]' in out["encode"]


def test_the_writers_are_the_parents(child):
    # the child's v1 and v2 texts are what this (v1-default) process writes
    _, out = child
    value = pyon.decode(out["encode_v2"])
    assert pyon.encode_v2(value) == out["encode_v2"]
    assert pyon.encode_v1(pyon.decode(out["encode_v1"])) == out["encode_v1"]
    assert pyon.encode(pyon.decode(out["encode_v1"])) == out["encode_v1"]  # parent: v1


def test_explicit_versions_ignore_the_variable(child):
    _, out = child
    assert out["codec1"] == out["encode_v1"]
    assert out["codec2"] == out["encode_v2"]
    assert out["codec1_pretty"] == out["encode_v1_pretty"]
    assert out["codec2_pretty"] == out["encode_v2_pretty"]


def test_store_file_writes_the_chosen_version(child):
    version, out = child
    expected = out["encode_v2_pretty"] if version == 2 else out["encode_v1_pretty"]
    assert out["store_file"] == expected + "\n"
    if version == 2:
        json.loads(out["store_file"])
    assert out["store_file_load"] == out["canonical"]


def test_decoding_reads_both_versions(child):
    _, out = child
    assert out["decode_reads_both"] is True


def test_pyon_v1_always_writes_v1(child):
    _, out = child
    assert out["pyon_v1"] == out["encode_v1"]
    assert out["pyon_v1_pretty"] == out["encode_v1_pretty"]
    assert out["pyon_v1_store"] == out["encode_v1_pretty"] + "\n"
    assert out["pyon_v1_reads_v1"] is True
    assert out["pyon_v1_load"] == out["canonical"]
    # v1 reader: a JSON __jsonclass__ object is a plain dict, as upstream's eval gives
    assert out["pyon_v1_jsonclass"] == {"__jsonclass__": ["tuple", [[1]]]}


def test_register_1_10_form_in_the_child(child):
    version, out = child
    expected = {1: "Point(1, (2, 3))",
                2: '{"__jsonclass__":["Point",[1,{"__jsonclass__":["tuple",[[2,3]]]}]]}'}
    assert out["point"] == expected[version]
    assert out["point_back"] == [["Point", 1, [2, 3]]] * 3
    assert out["twice"] == ["AlreadyRegistered", True, True]
    assert "Point" in out["after_deregister"]


@pytest.mark.parametrize("setting", ["bogus", "3", "0", "v2", "1.10", ""])
@pytest.mark.parametrize("module", ["sipyco.pyon", "sipyco.pyon_v1"])
def test_an_invalid_setting_fails_the_import(setting, module):
    code = textwrap.dedent(f"""
        try:
            import {module}
        except ImportError as exc:
            print(type(exc).__name__, "|", exc)
            raise SystemExit(3)
    """)
    result = subprocess.run([sys.executable, "-c", code], env=_env(setting),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, (result.stdout, result.stderr)
    kind, message = result.stdout.strip().split(" | ", 1)
    assert kind == "ImportError"
    assert "SIPYCO_PYON_VERSION" in message
    assert repr(setting) in message
    assert "1 or 2" in message


def test_an_invalid_setting_exits_with_a_traceback():
    result = subprocess.run([sys.executable, "-c", "import sipyco.pyon"], env=_env("bogus"),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "ImportError: SIPYCO_PYON_VERSION must be 1 or 2, not 'bogus'" in result.stderr
