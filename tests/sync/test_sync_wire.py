"""The bytes on the wire: what our Publisher writes (v1 and v2), and what our
Subscriber reads from hand-written publishers of either version."""

from __future__ import annotations

import base64
from fractions import Fraction

import numpy
import pytest
from support.net import eventually, within
from support.sync import HELLO, Recorder, find_jsonclass, settle

from sipyco.sync_struct import Notifier


async def readline(reader):
    return await within(reader.readline())


# --- what our Publisher writes ------------------------------------------------------

V1_LINES = [
    b'{"action": "init", "struct": {"a": (1, 2), "l": [], "d": {}}}\n',
    b'{"action": "setitem", "path": [], "key": "b", "value": 3}\n',
    b'{"action": "append", "path": ["l"], "x": [1, (2, )]}\n',
    b'{"action": "insert", "path": ["l"], "i": 0, "x": b\'\\x00z\'}\n',
    b'{"action": "setitem", "path": ["l", 1], "key": 0, "value": 1.5}\n',
    b'{"action": "pop", "path": ["l"], "i": -1}\n',
    b'{"action": "setitem", "path": ["d"], "key": (1, 2), "value": {1}}\n',
    b'{"action": "delitem", "path": ["d"], "key": (1, 2)}\n',
    b'{"action": "delitem", "path": [], "key": "b"}\n',
]

V2_LINES = [
    b'{"action":"init","struct":{"a":{"__jsonclass__":["tuple",[[1,2]]]},"l":[],"d":{}}}\n',
    b'{"action":"setitem","path":[],"key":"b","value":3}\n',
    b'{"action":"append","path":["l"],"x":[1,{"__jsonclass__":["tuple",[[2]]]}]}\n',
    b'{"action":"insert","path":["l"],"i":0,"x":{"__jsonclass__":["bytes",["AHo="]]}}\n',
    b'{"action":"setitem","path":["l",1],"key":0,"value":1.5}\n',
    b'{"action":"pop","path":["l"],"i":-1}\n',
    b'{"action":"setitem","path":["d"],"key":{"__jsonclass__":["tuple",[[1,2]]]},'
    b'"value":{"__jsonclass__":["set",[[1]]]}}\n',
    b'{"action":"delitem","path":["d"],"key":{"__jsonclass__":["tuple",[[1,2]]]}}\n',
    b'{"action":"delitem","path":[],"key":"b"}\n',
]


def make_changes(n):
    n["b"] = 3
    n["l"].append([1, (2,)])
    n["l"].insert(0, b"\x00z")
    n["l"][1][0] = 1.5
    n["l"].pop()
    n["d"][(1, 2)] = {1}
    del n["d"][(1, 2)]
    del n["b"]


@pytest.mark.parametrize("version, expected", [(1, V1_LINES), (2, V2_LINES)],
                         ids=["v1", "v2"])
@pytest.mark.asyncio
async def test_raw_client_sees_the_exact_lines(publish, raw_subscriber, version, expected):
    n = Notifier({"a": (1, 2), "l": [], "d": {}})
    options = {} if version == 1 else {"pyon_version": 2}
    publisher = await publish({"status": n}, **options)
    reader, writer = await raw_subscriber(publisher.port)
    writer.write(HELLO)
    writer.write(b"status\n")
    await writer.drain()
    assert await readline(reader) == expected[0]
    make_changes(n)
    for line in expected[1:]:
        assert await readline(reader) == line
    assert n.raw_view == {"a": (1, 2), "l": [b"\x00z"], "d": {}}


@pytest.mark.asyncio
async def test_handshake_may_arrive_in_pieces(publish, raw_subscriber):
    n = Notifier({"a": 1})
    publisher = await publish({"status": n})
    reader, writer = await raw_subscriber(publisher.port)
    for piece in (b"ARTIQ sync", b"_struct\nsta", b"tus", b"\n"):
        writer.write(piece)
        await writer.drain()
        await settle(3)
    assert await readline(reader) == b'{"action": "init", "struct": {"a": 1}}\n'


@pytest.mark.asyncio
async def test_raw_client_that_writes_after_the_handshake_is_still_served(
        publish, raw_subscriber):
    n = Notifier({"a": 1})
    publisher = await publish({"status": n})
    reader, writer = await raw_subscriber(publisher.port, "status")
    assert await readline(reader) == b'{"action": "init", "struct": {"a": 1}}\n'
    writer.write(b"chatter that a subscriber never sends\n" * 1000)
    await writer.drain()
    n["a"] = 2
    assert await readline(reader) == b'{"action": "setitem", "path": [], "key": "a", "value": 2}\n'


# --- what our Subscriber reads ----------------------------------------------------------

ARR = numpy.arange(3, dtype="<i8")
ARR_B64 = base64.b64encode(ARR.tobytes())

V1_PUBLISHER = [
    b'{"action": "init", "struct": {"t": (1, 2), "one": (1, ), "b": b\'\\x00ab\', '
    b'"s": {1, 2}, "d": {(1, 2): "x", 3: null}, "c": (1-2j), "f": Fraction(3, 4), '
    b'"arr": nparray((3, ), "<i8", b"' + ARR_B64 + b'"), "l": [], "n": nan}}\n',
    b'{"action": "append", "path": ["l"], "x": (3, 4)}\n',
    b'{"action": "setitem", "path": ["d"], "key": (5, 6), "value": [(7, )]}\n',
    b'{"action": "insert", "path": ["l"], "i": 0, "x": {"k": (8, )}}\n',
    b'{"action": "delitem", "path": ["d"], "key": 3}\n',
    b'{"action": "setitem", "path": [], "key": "sentinel", "value": "done"}\n',
]

V2_PUBLISHER = [
    b'{"action":"init","struct":{"t":{"__jsonclass__":["tuple",[[1,2]]]},'
    b'"one":{"__jsonclass__":["tuple",[[1]]]},"b":{"__jsonclass__":["bytes",["AGFi"]]},'
    b'"s":{"__jsonclass__":["set",[[1,2]]]},'
    b'"d":{"__jsonclass__":["dict",[[[{"__jsonclass__":["tuple",[[1,2]]]},"x"],[3,null]]]]},'
    b'"c":{"__jsonclass__":["complex",[1,-2]]},"f":{"__jsonclass__":["Fraction",[3,4]]},'
    b'"arr":{"__jsonclass__":["nparray",[[3],"<i8","' + ARR_B64 + b'"]]},"l":[],"n":NaN}}\n',
    b'{"action":"append","path":["l"],"x":{"__jsonclass__":["tuple",[[3,4]]]}}\n',
    b'{"action":"setitem","path":["d"],"key":{"__jsonclass__":["tuple",[[5,6]]]},'
    b'"value":[{"__jsonclass__":["tuple",[[7]]]}]}\n',
    b'{"action":"insert","path":["l"],"i":0,"x":{"k":{"__jsonclass__":["tuple",[[8]]]}}}\n',
    b'{"action":"delitem","path":["d"],"key":3}\n',
    b'{"action":"setitem","path":[],"key":"sentinel","value":"done"}\n',
]


@pytest.mark.parametrize("lines", [V1_PUBLISHER, V2_PUBLISHER], ids=["v1", "v2"])
@pytest.mark.asyncio
async def test_subscriber_reads_hand_written_publishers(raw_publisher, subscribe, lines):
    raw = await raw_publisher(lines)
    rec = Recorder()
    sub = await subscribe(raw.port, "status", notify_cb=rec)
    await eventually(lambda: sub.target.get("sentinel") == "done")
    assert raw.handshakes == [(b"ARTIQ sync_struct\n", b"status\n")]
    t = sub.target
    assert find_jsonclass(t) == []
    assert all(find_jsonclass(m) == [] for m in rec.mods)
    assert t["t"] == (1, 2) and type(t["t"]) is tuple
    assert t["one"] == (1,) and type(t["one"]) is tuple
    assert t["b"] == b"\x00ab"
    assert t["s"] == {1, 2} and type(t["s"]) is set
    assert t["d"] == {(1, 2): "x", (5, 6): [(7,)]}
    assert type(t["c"]) is complex and t["c"] == 1 - 2j
    assert t["f"] == Fraction(3, 4) and type(t["f"]) is Fraction
    assert type(t["arr"]) is numpy.ndarray and t["arr"].dtype == ARR.dtype
    assert (t["arr"] == ARR).all()
    assert t["n"] != t["n"]  # nan
    assert t["l"] == [{"k": (8,)}, (3, 4)]
    assert type(t["l"][1]) is tuple and type(t["l"][0]["k"]) is tuple
    assert [m["action"] for m in rec.mods] == ["init", "append", "setitem", "insert",
                                               "delitem", "setitem"]
    assert rec.mods[1] == {"action": "append", "path": ["l"], "x": (3, 4)}


@pytest.mark.asyncio
async def test_subscriber_reads_a_stream_mixing_v1_and_v2(raw_publisher, subscribe):
    raw = await raw_publisher([
        b'{"action": "init", "struct": {"l": []}}\n',
        b'{"action":"append","path":["l"],"x":{"__jsonclass__":["tuple",[[1]]]}}\n',
        b'{"action": "append", "path": ["l"], "x": (2, )}\n',
        b'{"action": "setitem", "path": [], "key": "sentinel", "value": "done"}\n',
    ])
    sub = await subscribe(raw.port, "status")
    await eventually(lambda: sub.target.get("sentinel") == "done")
    assert sub.target == {"l": [(1,), (2,)], "sentinel": "done"}


@pytest.mark.asyncio
async def test_subscriber_reads_mods_split_across_packets(raw_publisher, subscribe):
    """Lines reach the subscriber cut anywhere (here: one byte at a time for
    the first mods, then many lines in one packet)."""
    raw = await raw_publisher([b'{"action": "init", "struct": {"l": []}}\n'])
    sub = await subscribe(raw.port, "status")
    (writer,) = raw._writers
    text = b"".join(b'{"action": "append", "path": ["l"], "x": %d}\n' % i for i in range(3))
    for i in range(len(text)):
        writer.write(text[i:i + 1])
        await writer.drain()
        if i % 7 == 0:
            await settle(3)
    writer.write(b"".join(b'{"action": "append", "path": ["l"], "x": %d}\n' % i
                          for i in range(3, 2000)))
    writer.write(b'{"action": "setitem", "path": [], "key": "sentinel", "value": "done"}\n')
    await eventually(lambda: sub.target.get("sentinel") == "done")
    assert sub.target["l"] == list(range(2000))


@pytest.mark.asyncio
async def test_subscriber_sends_exactly_the_handshake(raw_publisher, subscribe):
    raw = await raw_publisher([b'{"action": "init", "struct": []}\n'])
    await subscribe(raw.port, "name with spaces \u00e9")
    assert raw.handshakes == [(b"ARTIQ sync_struct\n",
                               "name with spaces \u00e9".encode() + b"\n")]
