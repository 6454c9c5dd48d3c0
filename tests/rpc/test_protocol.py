"""pc_rpc messages (sipyco._rpc.protocol) without sockets: the templated
call and reply writers give exactly the generic writer's bytes."""

from __future__ import annotations

from collections import OrderedDict
from fractions import Fraction

import numpy
import pytest

from sipyco import pyon
from sipyco._rpc import protocol as p
from sipyco.errors import EncodeError

SAMPLES = {
    "none": None, "bool": True, "int": -(3**70), "float": 0.1, "nan": float("nan"),
    "inf": float("-inf"), "complex": 1 - 2j, "str": "h\u00e9llo \"q\" \U0001F600",
    "bytes": b"\x00'\"", "tuple1": (1,), "tuple0": (), "list": [1, [2, (3,)]],
    "set": {1, 2}, "empty-set": set(), "dict-str": {"a": 1, "__jsonclass__": 2},
    "dict-int": {1: "a", (2, 3): None}, "slice": slice(1, None, 2),
    "fraction": Fraction(3, 4), "ordereddict": OrderedDict([("b", 1), ("a", 2)]),
    "array": numpy.arange(6, dtype="<i4").reshape(2, 3), "array-0d": numpy.array(1.5),
    "scalar": numpy.float32(2.5), "structured": numpy.zeros(2, "i2,f8"),
}
CODECS = {"v1": p.V1, "v2": p.V2}


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("sample", SAMPLES)
def test_templated_call_is_byte_identical(codec, sample):
    c = CODECS[codec]
    value = SAMPLES[sample]
    args, kwargs = (value, [value]), {"k": value, "other": 1}
    assert c.encode_call("method", args, kwargs) == c.encode(p.call_request("method", args,
                                                                            kwargs))
    assert c.encode_call("m", (), {}) == c.encode(p.call_request("m", (), {}))


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("sample", SAMPLES)
def test_templated_ok_reply_is_byte_identical(codec, sample):
    c = CODECS[codec]
    assert c.encode_ok(SAMPLES[sample]) == c.encode(p.ok_reply(SAMPLES[sample]))


@pytest.mark.parametrize("codec", CODECS)
def test_unwritable_argument_is_explained_as_written_with_its_wire_path(codec):
    with pytest.raises(EncodeError, match=r"^argument 2 of m\(\): ") as info:
        CODECS[codec].encode_call("m", (1, object()), {})
    assert info.value.path == 'x["args"][1]'
    with pytest.raises(EncodeError, match=r'x\["ret"\]\["k"\]'):
        CODECS[codec].encode_ok({"k": object()})
    with pytest.raises(EncodeError, match=r'^element \["k"\] of the return value of m\(\): '):
        CODECS[codec].encode_ok({"k": object()}, "m")


@pytest.mark.parametrize("codec", CODECS)
def test_a_type_registered_later_is_written(codec):
    class Later:
        def __init__(self, v):
            self.v = v

    c = CODECS[codec]
    with pytest.raises(EncodeError):
        c.encode_ok(Later(1))
    pyon.register(Later, to_args=lambda x: (x.v,))
    try:
        assert c.encode_ok(Later(1)) == c.encode(p.ok_reply(Later(1)))
        assert b"Later" in c.encode_call("m", (Later(2),), {})
    finally:
        pyon.unregister(Later)


def test_v1_connections_write_v1_whatever_sipyco_pyon_version_says():
    """With SIPYCO_PYON_VERSION=2, pyon.encode writes v2; a pc_rpc connection
    that settled on v1 (a 1.8 peer) must still get v1 text."""
    import os
    import subprocess
    import sys
    code = ("from sipyco._rpc import protocol as p; from sipyco import pyon; "
            "print(pyon.encode((1, 2))); "
            "print(p.V1.encode({'status': 'failed', 'exception': {'a': (1, 2)}}).decode(), end='');"
            "print(p.identification_line(['t'], None, []).decode(), end='')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=dict(os.environ, SIPYCO_PYON_VERSION="2")).stdout
    assert out.splitlines() == [
        '{"__jsonclass__":["tuple",[[1,2]]]}',
        '{"status": "failed", "exception": {"a": (1, 2)}}',
        '{"targets": ["t"], "description": null}',
    ]
