"""Mixed fleets: our publishing programs read by upstream peers.

A lab whose dashboards and clients run upstream 1.10 sets
``SIPYCO_PYON_VERSION=2`` for the programs that run on our packages; one
whose peers run 1.8 leaves it unset.  The variable is read when sipyco.pyon
is imported, so the publishing side (a sync_struct Publisher, a Broadcaster
and ``pyon.encode``) runs in a fresh interpreter; this process plays the
upstream subscriber and receiver over raw sockets and decodes every line the
way that release does:

* 1.10: plain ``json.loads`` with an ``object_hook`` that rebuilds each
  ``{"__jsonclass__": [NAME, ARGS]}`` object;
* 1.8: ``eval`` of the text in a namespace of null/true/false/inf/nan and the
  five constructors (only ever on text our own child process wrote).

The failure that made 1.10 dashboards useless against a master on our
packages is shown too: with the default (v1, 1.8's format) the first line
holding a tuple is not JSON, so a 1.10 reader fails; with
``SIPYCO_PYON_VERSION=2`` every line is JSON and reads back exactly.
"""

from __future__ import annotations

import base64
import json
import math
import os
import queue
import socket
import subprocess
import sys
import threading
from collections import OrderedDict
from fractions import Fraction

import numpy
import pytest
from support.net import LIMIT
from support.pyon import assert_same

# The values and the changes, shared by the publishing child (which runs
# this text) and the test (which works out what the peers must end up with).
FLEET = r'''
import math
from collections import OrderedDict
from fractions import Fraction

import numpy


def initial():
    return {
        "tuples": ((1, 2), ("a", (None,)), ()),
        "by_int": {1: "one", 2: (2, 2), -3: [3]},
        "array": numpy.arange(6, dtype="<i8").reshape(2, 3),
        "scalar": numpy.float32(0.5),
        "list": [1, (2, 3)],
        "set": {1, 2},
        "bytes": b"\x00ab",
        "complex": 1 - 2j,
        "floats": [math.inf, -math.inf, 1e-300],
        "misc": [Fraction(1, 3), OrderedDict([("z", 1), ("a", (2,))]), slice(1, None, 2)],
    }


def change(struct):
    """The same changes, made through a Notifier or to a plain dict."""
    struct["t"] = (3, (4, 5))
    struct["by_int"][7] = numpy.arange(3.0)
    struct["list"].append((6, 7))
    struct["list"].insert(0, {8: (9,)})
    struct["list"].pop(1)
    del struct["by_int"][1]
    struct["array"] = numpy.ones((2, 2), dtype=">f4")
    struct["nested"] = {"deep": {10: (11, numpy.int16(12))}, (1, 2): "tuple key"}
    struct["nested"]["deep"][10] = {"x": numpy.zeros((0, 3), dtype=numpy.uint8)}
    struct["end"] = True


BROADCASTS = [
    (1, 2),
    numpy.arange(4, dtype=numpy.uint16),
    {1: "int key", "s": (None,)},
    ["log", 20, "source", (1.5, "message")],
    numpy.complex64(1 + 2j),
    {"sets": [{3}, set()], "bytes": b"\xff"},
]
'''

SERVE = FLEET + r'''
import asyncio
import json
import sys

from sipyco import pyon
from sipyco.broadcast import Broadcaster
from sipyco.sync_struct import Notifier, Publisher


def say(*words):
    print(*words, flush=True)


async def main():
    notifier = Notifier(initial())
    publisher = Publisher({"fleet": notifier})
    broadcaster = Broadcaster()
    await publisher.start("127.0.0.1", 0)
    await broadcaster.start("127.0.0.1", 0)
    value = initial()
    say("versions", pyon.DEFAULT_VERSION, publisher.pyon_version, broadcaster.pyon_version)
    say("encoded", json.dumps([pyon.encode(value), pyon.encode(value, pretty=True)]))
    say("ports", publisher.port, broadcaster.port)
    loop = asyncio.get_running_loop()
    go = loop.run_in_executor(None, sys.stdin.readline)
    # Until the test says "go", show a receiver that joins that it has joined.
    while not go.done():
        broadcaster.broadcast("fleet", "waiting")
        await asyncio.wait([go], timeout=0.01)
    change(notifier)
    for value in BROADCASTS:
        broadcaster.broadcast("fleet", value)
    broadcaster.broadcast("fleet", "end")
    say("changed")
    await loop.run_in_executor(None, sys.stdin.readline)
    await broadcaster.stop()
    await publisher.stop()
    say("stopped")


asyncio.run(main())
'''


def fleet():
    namespace: dict = {}
    exec(FLEET, namespace)
    return namespace


# ------------------------------------------------------ the upstream peers --

def _array(shape, dtype, data):
    raw = base64.b64decode(data)
    return numpy.frombuffer(raw, dtype=numpy.dtype(dtype)).copy().reshape(shape)


def _scalar(dtype, data):
    return numpy.frombuffer(base64.b64decode(data), dtype=numpy.dtype(dtype))[0]


def _jsonclass(obj):
    """1.10's rebuilding of ``__jsonclass__`` objects, as a json object_hook."""
    if "__jsonclass__" not in obj:
        return obj
    name, args = obj["__jsonclass__"]
    if name == "tuple":
        return tuple(args[0])
    if name == "set":
        return set(args[0])
    if name == "dict":
        return dict((k, v) for k, v in args[0])
    if name == "OrderedDict":
        return OrderedDict((k, v) for k, v in args[0])
    if name == "bytes":
        return base64.b64decode(args[0])
    if name == "nparray":
        return _array(*args)
    if name == "npscalar":
        return _scalar(*args)
    return {"complex": complex, "slice": slice, "Fraction": Fraction}[name](*args)


def read_110(line):
    """How a 1.10 peer decodes a line: plain json, plus the hook."""
    return json.loads(line, object_hook=_jsonclass)


def read_18(line):
    """How a 1.8 peer decodes a line: eval in PYON's namespace."""
    namespace = {"__builtins__": {}, "null": None, "true": True, "false": False,
                 "inf": math.inf, "nan": math.nan, "slice": slice, "Fraction": Fraction,
                 "OrderedDict": OrderedDict, "nparray": _array, "npscalar": _scalar}
    if isinstance(line, bytes):
        line = line.decode("ascii")
    return eval(line, namespace, {})


def apply_mod(struct, mod):
    """A subscriber's processing of one mod (both releases do this)."""
    if mod["action"] == "init":
        return mod["struct"]
    target = struct
    for key in mod["path"]:
        target = target[key]
    action = mod["action"]
    if action == "append":
        target.append(mod["x"])
    elif action == "insert":
        target.insert(mod["i"], mod["x"])
    elif action == "pop":
        target.pop(mod["i"])
    elif action == "setitem":
        target[mod["key"]] = mod["value"]
    elif action == "delitem":
        del target[mod["key"]]
    else:
        raise AssertionError(f"unknown action {action!r}")
    return struct


# ------------------------------------------------------------ one session --

class Session:
    """What the upstream peers received from one publishing child."""

    def __init__(self):
        self.versions: list[str] = []
        self.encoded: list[str] = []     # pyon.encode(value), pyon.encode(value, pretty=True)
        self.sync_lines: list[bytes] = []
        self.broadcast_lines: list[bytes] = []


def _lines_of(process) -> queue.Queue:
    out: queue.Queue = queue.Queue()

    def pump():
        for line in process.stdout:
            out.put(line)
        out.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return out


def _expect(out: queue.Queue, word: str) -> list[str]:
    try:
        line = out.get(timeout=LIMIT)
    except queue.Empty:
        raise AssertionError(f"the publishing child said nothing within {LIMIT} s") from None
    assert line is not None, f"the publishing child ended before saying {word!r}"
    words = line.rstrip("\n").split(" ", 1)
    assert words[0] == word, line
    if word == "encoded":
        return json.loads(words[1])
    return words[1].split() if len(words) > 1 else []


def _connect(port: int, hello: bytes, name: bytes):
    sock = socket.create_connection(("127.0.0.1", port), timeout=LIMIT)
    sock.sendall(hello + name + b"\n")
    return sock, sock.makefile("rb")


def run_fleet(tmp_path, setting: str | None) -> Session:
    env = dict(os.environ)
    env.pop("SIPYCO_PYON_VERSION", None)
    if setting is not None:
        env["SIPYCO_PYON_VERSION"] = setting
    process = subprocess.Popen([sys.executable, "-c", SERVE], env=env, cwd=tmp_path,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    session = Session()
    sockets = []
    try:
        out = _lines_of(process)
        session.versions = _expect(out, "versions")
        session.encoded = _expect(out, "encoded")
        sync_port, broadcast_port = (int(p) for p in _expect(out, "ports"))

        sync, sync_lines = _connect(sync_port, b"ARTIQ sync_struct\n", b"fleet")
        sockets.append(sync)
        session.sync_lines.append(sync_lines.readline())         # the init
        receiver, broadcast_lines = _connect(broadcast_port, b"ARTIQ broadcast\n", b"fleet")
        sockets.append(receiver)
        first = broadcast_lines.readline()                        # joined
        assert first, "the broadcaster closed the connection"
        session.broadcast_lines.append(first)

        process.stdin.write("go\n")
        process.stdin.flush()
        _expect(out, "changed")
        # Read until each stream's last value: "end" set in the struct, and
        # the "end" broadcast (the child's own decoder is not used for this).
        while b'"end"' not in session.sync_lines[-1]:
            line = sync_lines.readline()
            assert line.endswith(b"\n"), session.sync_lines
            session.sync_lines.append(line)
        while session.broadcast_lines[-1] != b'"end"\n':
            line = broadcast_lines.readline()
            assert line.endswith(b"\n"), session.broadcast_lines
            session.broadcast_lines.append(line)

        process.stdin.write("stop\n")
        process.stdin.flush()
        _expect(out, "stopped")
        assert process.wait(timeout=LIMIT) == 0, process.stderr.read()
    finally:
        for sock in sockets:
            sock.close()
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            stream.close()
    return session


@pytest.fixture(scope="module")
def fleet_runs(tmp_path_factory):
    """``fleet_runs(setting)``: the Session of a child run with that
    ``SIPYCO_PYON_VERSION`` (None: unset), each run once per module."""
    runs: dict = {}

    def get(setting):
        if setting not in runs:
            runs[setting] = run_fleet(tmp_path_factory.mktemp("fleet"), setting)
        return runs[setting]

    return get


@pytest.fixture(params=[None, "2"], ids=["default", "v2"])
def session(request, fleet_runs):
    return request.param, fleet_runs(request.param)


def reader_for(setting):
    return read_110 if setting == "2" else read_18


def expected_struct():
    f = fleet()
    struct = f["initial"]()
    f["change"](struct)
    return struct


# ------------------------------------------------------------------ tests --

def test_the_child_writes_the_version_the_environment_chose(session):
    setting, got = session
    version = "2" if setting == "2" else "1"
    assert got.versions == [version, version, version]


def test_sync_struct_lines_are_read_by_the_peer_of_that_release(session):
    setting, got = session
    read = reader_for(setting)
    struct = None
    for line in got.sync_lines:
        struct = apply_mod(struct, read(line))
    assert len(got.sync_lines) == 11  # the init and one line per change
    assert_same(struct, expected_struct())


def test_broadcast_lines_are_read_by_the_peer_of_that_release(session):
    setting, got = session
    read = reader_for(setting)
    values = [read(line) for line in got.broadcast_lines]
    while values[0] == "waiting":
        values.pop(0)
    assert values[-1] == "end"
    expected = fleet()["BROADCASTS"]
    assert len(values) == len(expected) + 1
    for value, wanted in zip(values, expected, strict=False):
        assert_same(value, wanted)


def test_encode_output_is_read_by_the_peer_of_that_release(session):
    setting, got = session
    read = reader_for(setting)
    compact, pretty = got.encoded
    assert "\n" not in compact
    assert_same(read(compact), fleet()["initial"]())
    assert_same(read(pretty), fleet()["initial"](), ordered=False)


def test_with_version_2_every_line_is_plain_json(fleet_runs):
    got = fleet_runs("2")
    for line in got.sync_lines + got.broadcast_lines + got.encoded:
        json.loads(line)  # no JSONDecodeError: 1.10's dashboards keep working
        if isinstance(line, bytes):
            assert line.isascii()


def test_by_default_a_110_reader_fails_on_the_first_tuple_as_with_18_publishers(fleet_runs):
    """The default writes v1, as a 1.8 publisher does: a 1.10 dashboard
    cannot read it (this is the default's documented meaning, not a bug;
    SIPYCO_PYON_VERSION=2 is the setting for a 1.10 fleet)."""
    got = fleet_runs(None)
    with pytest.raises(json.JSONDecodeError):
        read_110(got.sync_lines[0])
    with pytest.raises(json.JSONDecodeError):
        read_110(got.encoded[0])
    tuples = [line for line in got.broadcast_lines if line.startswith(b"(")]
    assert tuples
    with pytest.raises(json.JSONDecodeError):
        read_110(tuples[0])
