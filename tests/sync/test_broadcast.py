"""sipyco.broadcast: values of every PYON type arrive exactly, each receiver
gets its own channel, and the bytes on the wire in both directions are
those of sipyco 1.8 (PYON v1) and 1.10 (v2) peers."""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from fractions import Fraction

import numpy
import pytest
import pytest_asyncio
from support.broadcast import HELLO, BroadcastPeers, Values, receiver_count
from support.net import eventually, within
from support.peers import ScriptedServer
from support.pyon import assert_same

from sipyco import pyon
from sipyco.broadcast import DEFAULT_QUEUE_LIMIT, Broadcaster, Receiver
from sipyco.errors import EncodeError


@pytest_asyncio.fixture
async def peers():
    started = BroadcastPeers()
    yield started
    await started.aclose()


VALUES = [
    None, True, False, 0, -7, 2**70, -(2**64) - 1, 1.5, -0.0, 1e100, math.inf, -math.inf,
    math.nan, 1j, complex(1, -9), "", "text", "quote \" and \\ and \n newline",
    "\u00fcn\u00efc\u00f6de \u2603", "\U0001f600 beyond the BMP", b"", b"\x00ab'\"\xff",
    (), (1,), (1, "two", (3.0,)), [], [1, [2, (3,)]], {1, 2, 3}, set(), {"x"},
    {}, {"a": 1, "b": [1, 2]}, {(1, 2): "tuple key", 3: None, "s": {4}},
    Fraction(3, 4), slice(1, 10, 2), slice(None, 5, None),
    OrderedDict([("z", 1), ("a", (2,))]),
    numpy.arange(12, dtype="<i8").reshape(3, 4),
    numpy.linspace(0, 1, 7, dtype=">f4"),
    numpy.array([1 + 2j, -3j], dtype=numpy.complex128),
    numpy.array([True, False, True]),
    numpy.zeros((0, 3), dtype=numpy.uint16),
    numpy.array(4.5),
    numpy.float32(1.25), numpy.int8(-3), numpy.uint64(2**63 + 5), numpy.complex64(1 - 1j),
    {"nested": [{"arr": numpy.arange(3, dtype=numpy.int32)}, (b"x", Fraction(1, 3))]},
]


def assert_arrives_exactly(received, sent) -> None:
    assert len(received) == len(sent)
    for actual, expected in zip(received, sent, strict=True):
        if isinstance(expected, numpy.ndarray):
            assert numpy.array_equal(actual, expected)
        assert_same(actual, expected)


@pytest.mark.parametrize("version", [1, 2], ids=["v1", "v2"])
@pytest.mark.asyncio
async def test_values_of_every_pyon_type_arrive_exactly(peers, version):
    broadcaster = await peers.broadcaster(pyon_version=version)
    got = Values()
    await peers.receiver(broadcaster, "values", got)
    for value in VALUES:
        broadcaster.broadcast("values", value)
    await eventually(lambda: len(got) == len(VALUES))
    assert_arrives_exactly(got.values, VALUES)


@pytest.mark.asyncio
async def test_each_receiver_gets_every_value_of_its_own_channel_only(peers):
    broadcaster = await peers.broadcaster()
    on_a = [Values() for _ in range(3)]
    on_b = [Values() for _ in range(2)]
    for got in on_a:
        await peers.receiver(broadcaster, "a", got)
    for got in on_b:
        await peers.receiver(broadcaster, "b", got)
    assert receiver_count(broadcaster, "a") == 3
    assert receiver_count(broadcaster, "b") == 2
    for i in range(50):
        broadcaster.broadcast("a", ("a", i))
        if i % 2:
            broadcaster.broadcast("b", ("b", i))
        broadcaster.broadcast("nobody", ("nobody", i))
    expected_a = [("a", i) for i in range(50)]
    expected_b = [("b", i) for i in range(1, 50, 2)]
    for got in on_a:
        await eventually(lambda got=got: len(got) == len(expected_a))
        assert got.values == expected_a
    for got in on_b:
        await eventually(lambda got=got: len(got) == len(expected_b))
        assert got.values == expected_b


@pytest.mark.asyncio
async def test_nobody_listening_means_nothing_happens_not_even_encoding(peers):
    broadcaster = await peers.broadcaster()
    await peers.receiver(broadcaster, "other")
    broadcaster.broadcast("nobody", object())  # not PYON: it would raise if encoded


@pytest.mark.asyncio
async def test_each_value_is_encoded_once_whatever_the_audience(peers, monkeypatch):
    broadcaster = await peers.broadcaster()
    received = [Values() for _ in range(4)]
    for got in received:
        await peers.receiver(broadcaster, "ch", got)
    encoded = []
    real = broadcaster._encode_text
    monkeypatch.setattr(broadcaster, "_encode_text", lambda x: encoded.append(x) or real(x))
    for i in range(5):
        broadcaster.broadcast("ch", i)
    assert encoded == [0, 1, 2, 3, 4]
    for got in received:
        await eventually(lambda got=got: len(got) == 5)
        assert got.values == [0, 1, 2, 3, 4]


@pytest.mark.asyncio
async def test_an_unencodable_value_raises_and_sends_nothing(peers):
    broadcaster = await peers.broadcaster()
    got = Values()
    await peers.receiver(broadcaster, "ch", got)
    broadcaster.broadcast("ch", 1)
    with pytest.raises(TypeError) as info:
        broadcaster.broadcast("ch", {"a": [1, object()]})
    assert isinstance(info.value, EncodeError)
    assert 'x["a"][1]' in str(info.value)
    broadcaster.broadcast("ch", 2)
    await eventually(lambda: len(got) == 2)
    assert got.values == [1, 2]


@pytest.mark.asyncio
async def test_a_broadcaster_that_stops_disconnects_its_receivers_once_each(peers):
    broadcaster = await peers.broadcaster()
    counts = [[] for _ in range(3)]
    receivers = [await peers.receiver(broadcaster, "ch", disconnect_cb=lambda c=c: c.append(1))
                 for c in counts]
    await broadcaster.stop()
    for c in counts:
        await eventually(lambda c=c: len(c) >= 1)
    for receiver in receivers:
        await receiver.close()
    assert counts == [[1], [1], [1]]
    assert broadcaster._channels == {}


@pytest.mark.asyncio
async def test_a_receiver_that_closes_is_forgotten(peers):
    broadcaster = await peers.broadcaster()
    staying = Values()
    await peers.receiver(broadcaster, "ch", staying)
    leaving = await peers.receiver(broadcaster, "ch")
    await leaving.close()
    # its end of stream alone could be a half-close: forgotten once a write fails
    sent = iter(range(10**6))
    await eventually(lambda: broadcaster.broadcast("ch", next(sent)) or
                     receiver_count(broadcaster, "ch") == 1)
    broadcaster.broadcast("ch", "end")
    await eventually(lambda: staying.values[-1:] == ["end"])
    assert staying.values == list(range(len(staying) - 1)) + ["end"]


def test_defaults_and_argument_checks():
    broadcaster = Broadcaster()
    assert broadcaster.queue_limit == DEFAULT_QUEUE_LIMIT == 1024
    assert broadcaster.pyon_version == pyon.DEFAULT_VERSION
    assert Broadcaster(pyon_version=1).pyon_version == 1
    assert Broadcaster(7, pyon_version=2).queue_limit == 7
    for bad in ({"queue_limit": 0}, {"queue_limit": -1}, {"queue_limit": True},
                {"queue_limit": 1.5}, {"pyon_version": 3}, {"pyon_version": True},
                {"pyon_version": "2"}, {"handshake_timeout": 0},
                {"handshake_timeout": None}, {"max_backlog_bytes": 0}):
        with pytest.raises(ValueError):
            Broadcaster(**bad)
    for name in ("", "a\nb", "a\r", None):
        with pytest.raises(ValueError):
            Receiver(name, print)
    with pytest.raises(ValueError):
        Receiver("ch", print, max_message_size=0)
    with pytest.raises(ValueError):
        Receiver("ch", print, handshake_timeout=-1)


# --- the bytes our Broadcaster writes ----------------------------------------------------

WIRE = [
    # value, what sipyco 1.8 writes, what 1.10 writes
    ((1, 2), b"(1, 2)", b'{"__jsonclass__":["tuple",[[1,2]]]}'),
    ({"a": [1, None]}, b'{"a": [1, null]}', b'{"a":[1,null]}'),
    (b"\x00z", b"b'\\x00z'", b'{"__jsonclass__":["bytes",["AHo="]]}'),
    ({1}, b"{1}", b'{"__jsonclass__":["set",[[1]]]}'),
    (1.5, b"1.5", b"1.5"),
    ("\u2603", b'"\\u2603"', b'"\\u2603"'),
    ({(1,): 2}, b"{(1, ): 2}",
     b'{"__jsonclass__":["dict",[[[{"__jsonclass__":["tuple",[[1]]]},2]]]]}'),
]


async def read_lines(reader, count):
    return [await within(reader.readline()) for _ in range(count)]


@pytest.mark.asyncio
async def test_a_1_8_receiver_sees_exactly_the_v1_lines(peers):
    broadcaster = await peers.broadcaster(pyon_version=1)
    reader, _ = await peers.raw(broadcaster, "ch")
    for value, _, _ in WIRE:
        broadcaster.broadcast("ch", value)
    assert await read_lines(reader, len(WIRE)) == [v1 + b"\n" for _, v1, _ in WIRE]
    for value in VALUES:
        broadcaster.broadcast("ch", value)
    lines = await read_lines(reader, len(VALUES))
    assert lines == [(pyon.encode(value) + "\n").encode() for value in VALUES]


@pytest.mark.asyncio
async def test_a_1_10_receiver_sees_exactly_the_v2_lines(peers):
    broadcaster = await peers.broadcaster(pyon_version=2)
    reader, _ = await peers.raw(broadcaster, "ch")
    for value, _, _ in WIRE:
        broadcaster.broadcast("ch", value)
    assert await read_lines(reader, len(WIRE)) == [v2 + b"\n" for _, _, v2 in WIRE]
    for value in VALUES:
        broadcaster.broadcast("ch", value)
    lines = await read_lines(reader, len(VALUES))
    assert lines == [(pyon.encode_v2(value) + "\n").encode() for value in VALUES]
    # sipyco 1.10 reads them with the json module
    for line in lines:
        json.loads(line)
    assert json.loads(lines[VALUES.index((1,))]) == {"__jsonclass__": ["tuple", [[1]]]}


@pytest.mark.asyncio
async def test_the_handshake_may_arrive_in_pieces(peers):
    broadcaster = await peers.broadcaster()
    reader, writer = await peers.raw(broadcaster)
    for piece in (b"ARTIQ bro", b"adcast\nc", b"h", b"\n"):
        writer.write(piece)
        await writer.drain()
    await eventually(lambda: receiver_count(broadcaster, "ch") == 1)
    broadcaster.broadcast("ch", (1, 2))
    assert await within(reader.readline()) == b"(1, 2)\n"


@pytest.mark.asyncio
async def test_a_receiver_that_talks_or_half_closes_is_still_served(peers):
    broadcaster = await peers.broadcaster()
    chatty, chatty_writer = await peers.raw(broadcaster, "ch")
    quiet, quiet_writer = await peers.raw(broadcaster, "ch")
    chatty_writer.write(b"chatter a receiver never sends\n" * 10000)
    await chatty_writer.drain()
    quiet_writer.write_eof()
    for i in range(3):
        broadcaster.broadcast("ch", i)
    for reader in (chatty, quiet):
        assert await read_lines(reader, 3) == [b"0\n", b"1\n", b"2\n"]
    assert receiver_count(broadcaster, "ch") == 2


# --- what our Receiver reads and sends ----------------------------------------------------

V1_BROADCASTER = [
    b"(1, 2)\n",
    b'{"a": (1, ), "b": b\'\\x00ab\', "s": {1, 2}, "d": {(1, 2): "x", 3: null}}\n',
    b"(1-2j)\n",
    b"Fraction(3, 4)\n",
    b'nparray((3, ), "<i8", b"AAAAAAAAAAABAAAAAAAAAAIAAAAAAAAA")\n',
    b'npscalar("<f8", b"AAAAAAAA+D8=")\n',
    b"[nan, inf, -inf]\n",
    b'"done"\n',
]

V2_BROADCASTER = [
    b'{"__jsonclass__":["tuple",[[1,2]]]}\n',
    b'{"a":{"__jsonclass__":["tuple",[[1]]]},"b":{"__jsonclass__":["bytes",["AGFi"]]},'
    b'"s":{"__jsonclass__":["set",[[1,2]]]},'
    b'"d":{"__jsonclass__":["dict",[[[{"__jsonclass__":["tuple",[[1,2]]]},"x"],[3,null]]]]}}\n',
    b'{"__jsonclass__":["complex",[1,-2]]}\n',
    b'{"__jsonclass__":["Fraction",[3,4]]}\n',
    b'{"__jsonclass__":["nparray",[[3],"<i8","AAAAAAAAAAABAAAAAAAAAAIAAAAAAAAA"]]}\n',
    b'{"__jsonclass__":["npscalar",["<f8","AAAAAAAA+D8="]]}\n',
    b"[NaN,Infinity,-Infinity]\n",
    b'"done"\n',
]

EXPECTED_VALUES = [
    (1, 2),
    {"a": (1,), "b": b"\x00ab", "s": {1, 2}, "d": {(1, 2): "x", 3: None}},
    complex(1, -2),
    Fraction(3, 4),
    numpy.arange(3, dtype="<i8"),
    numpy.float64(1.5),
    [math.nan, math.inf, -math.inf],
    "done",
]


def scripted_broadcaster(lines, then="hold"):
    """A 1.8- or 1.10-style broadcaster: reads the handshake, writes
    ``lines``, then holds the connection (recording every byte the receiver
    sends, until it closes) or closes it at once."""
    heard = []
    finished = threading.Event()

    def script(peer):
        data = b""
        while data.count(b"\n") < 2:
            chunk = peer.sock.recv(65536)
            if not chunk:
                break
            data += chunk
        heard.append(data)
        peer.send(b"".join(lines))
        if then == "hold":
            while chunk := peer.sock.recv(65536):
                heard[-1] += chunk
        finished.set()

    return ScriptedServer(script), heard, finished


@pytest.mark.parametrize("lines", [V1_BROADCASTER, V2_BROADCASTER], ids=["1.8", "1.10"])
@pytest.mark.asyncio
async def test_our_receiver_reads_scripted_broadcasters(peers, lines):
    server, heard, finished = scripted_broadcaster(lines)
    with server:
        got = Values()
        disconnects = []
        receiver = await peers.receiver(server.port, "my channel", got,
                                        lambda: disconnects.append(1))
        await eventually(lambda: len(got) == len(EXPECTED_VALUES))
        assert_arrives_exactly(got.values, EXPECTED_VALUES)
        await receiver.close()
        await eventually(finished.is_set, what="the script saw the receiver close")
    # exactly the handshake, and nothing else, ever
    assert heard == [HELLO + b"my channel\n"]
    assert disconnects == []
