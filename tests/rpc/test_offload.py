"""Large requests are decoded, and large replies encoded, off the server's
event loop, so that one client's large message does not hold the others up.

The proof does not time anything.  A registered type, the gate, blocks its
decoding (or encoding) until another client's call opens it: a server that
decoded on its event loop could never serve that call while the gate waits,
and the waiting client would fail.  A server that decodes in a worker thread
serves it, and both calls succeed.
"""

from __future__ import annotations

import gc
import socket
import threading

import pytest
from support.turns import Ticker, runs_between_turns

from sipyco import pyon
from sipyco._pyon.gcpause import paused_gc
from sipyco._pyon.weight import UNIT_BYTES, heavier_than
from sipyco._rpc import protocol as p
from sipyco._rpc.connection import (
    ALWAYS_UNREAD,
    NEED_DATA,
    RequestReceived,
    RequestUnread,
    ServerConnection,
)
from sipyco.pc_rpc import Client, Server

#: Long enough to pass the default offload bound (64 KiB) with room to spare,
#: and dense in values (a comma every 2 bytes), as a request slow to read is.
PADDING = list(range(0, 60_000))
WAIT = 20  # seconds a gate waits before giving up (only ever reached on failure)


class Gate:
    """A value whose rebuilding (or writing) waits until :meth:`open` is
    called; ``entered`` is set once it has begun waiting."""

    entered = threading.Event()
    opened = threading.Event()
    gc_seen: list[bool] = []

    @classmethod
    def reset(cls):
        cls.entered.clear()
        cls.opened.clear()
        cls.gc_seen.clear()

    @classmethod
    def wait(cls):
        cls.gc_seen.append(gc.isenabled())
        cls.entered.set()
        if not cls.opened.wait(WAIT):
            raise RuntimeError("the gate was never opened: the server was not serving")


def gate_args(gate):
    if gate.blocks_writing:
        Gate.wait()
    return [gate.blocks_writing]


def gate_from_args(blocks_writing, blocks_reading=True):
    if blocks_reading:
        Gate.wait()
    gate = Gate()
    gate.blocks_writing = blocks_writing
    return gate


@pytest.fixture
def gate_type():
    Gate.reset()
    pyon.register(Gate, to_args=gate_args, from_args=gate_from_args)
    yield Gate
    Gate.opened.set()  # never leave a worker thread waiting
    pyon.unregister(Gate)


class Target:
    def echo_size(self, value):
        """How many members ``value`` has (the gate and the padding)."""
        return len(value)

    def open_gate(self):
        Gate.opened.set()
        return "open"

    def gated_reply(self):
        gate = Gate()
        gate.blocks_writing = True
        return [PADDING, gate]  # 60,000 values: a reply slow to write

    def ping(self):
        return "pong"


def call_in_thread(port, method, *args):
    """Start ``method(*args)`` on a new connection in a thread; returns
    (thread, outcome) where outcome gets "value" or "error" once it ends."""
    outcome = {}

    def run():
        try:
            with Client("127.0.0.1", port, "t", timeout=WAIT * 2) as client:
                outcome["value"] = getattr(client, method)(*args)
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def open_gate_from_another_client(port):
    """Once the gate is waiting, open it with a call on a second connection
    (which fails with a timeout if the server is not serving meanwhile)."""
    assert Gate.entered.wait(WAIT), "the gated message never reached its reader"
    with Client("127.0.0.1", port, "t", timeout=5) as other:
        assert other.ping() == "pong"
        assert other.open_gate() == "open"


@pytest.mark.parametrize("version", [1, 2])
def test_large_request_is_decoded_while_others_are_served(serve, gate_type, version,
                                                          monkeypatch):
    monkeypatch.setenv("SIPYCO_PYON_VERSION", str(version))
    server = serve({"t": Target()})
    gate = Gate()
    gate.blocks_writing = False
    thread, outcome = call_in_thread(server.port, "echo_size", [gate, PADDING])
    open_gate_from_another_client(server.port)
    thread.join(WAIT * 2)
    assert outcome == {"value": 2}
    # the collector was paused while the large request was read, and is back
    assert Gate.gc_seen == [False]
    assert gc.isenabled()


def test_large_reply_is_encoded_while_others_are_served(serve, gate_type):
    server = serve({"t": Target()})
    thread, outcome = call_in_thread(server.port, "gated_reply")
    open_gate_from_another_client(server.port)
    thread.join(WAIT * 2)
    assert "error" not in outcome, outcome
    padding, gate = outcome["value"]
    assert padding == PADDING and isinstance(gate, Gate)


def test_small_request_is_decoded_in_place_with_the_collector_alone(serve, gate_type):
    """A request under offload_over is read on the loop, as before: its gate
    is already open, and the collector was left running."""
    server = serve({"t": Target()})
    Gate.opened.set()
    gate = Gate()
    gate.blocks_writing = False
    with Client("127.0.0.1", server.port, "t", timeout=WAIT) as client:
        assert client.echo_size([gate, [0] * 100]) == 2
    assert Gate.gc_seen == [True]


def test_offload_none_keeps_large_requests_working(serve):
    server = serve({"t": Target()}, offload_over=None)
    assert server.server.offload_over is None
    with Client("127.0.0.1", server.port, "t", timeout=WAIT) as client:
        assert client.echo_size([PADDING] * 10) == 10
        assert client.gated_reply.__name__  # the method list still arrives
        assert client.ping() == "pong"


@pytest.mark.parametrize("bad", [0, -1, 1.5, "64k", True])
def test_offload_over_is_checked(bad):
    with pytest.raises((ValueError, TypeError), match="offload_over"):
        Server({"t": Target()}, offload_over=bad)


def read_lines(sock, count):
    lines, buf = [], b""
    while len(lines) < count:
        data = sock.recv(1 << 16)
        assert data, "the server closed the connection"
        buf += data
        while b"\n" in buf and len(lines) < count:
            line, buf = buf.split(b"\n", 1)
            lines.append(line)
    return lines


def test_offloaded_refusals_and_failures_come_back_in_order(serve):
    """A large malformed request, a large call of a missing method and a
    large good one, pipelined on one connection behind a small one: each
    gets its own reply, in order, though three went through a thread."""
    server = serve({"t": Target()}, max_message_size=1 << 20)
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        sock.sendall(b"ARTIQ pc_rpc\n")
        read_lines(sock, 1)  # identification
        sock.sendall(b"t pyon_v2\n")
        read_lines(sock, 1)  # method list
        bad = b'{"action": "call", "name": "echo_size", "args": [' + b"1," * 50_000 + b"\n"
        missing = p.V2.encode_call("nothing_here", (PADDING,), {})
        good = p.V2.encode_call("echo_size", ([PADDING] * 3,), {})
        small = p.V2.encode_call("ping", (), {})
        sock.sendall(bad + missing + small + good)
        replies = [pyon.decode(line) for line in read_lines(sock, 4)]
    assert replies[0]["status"] == "failed"
    assert "malformed request" in replies[0]["exception"]["message"]
    assert replies[1]["status"] == "failed"
    assert "nothing_here" in replies[1]["exception"]["message"]
    assert replies[2] == {"status": "ok", "ret": "pong"}
    assert replies[3] == {"status": "ok", "ret": 3}


# ------------------------------------------------------------- sans-IO ---

def selected(read_over):
    conn = ServerConnection({"t": object()}, ["pyon_v2"], read_over=read_over)
    conn.receive_data(b"ARTIQ pc_rpc\n")
    conn.next_event()
    conn.receive_data(b"t pyon_v2\n")
    conn.accept(conn.next_event(), ["f"])
    return conn


def test_long_request_line_is_left_unread_for_the_driver():
    conn = selected(read_over=100)
    short = p.V2.encode_call("f", (1,), {})
    long = p.V2.encode_call("f", ([0] * 100,), {})
    conn.receive_data(short + long)
    first = conn.next_event()
    assert isinstance(first, RequestReceived) and first.request.args == (1,)
    second = conn.next_event()
    assert second == RequestUnread(long[:-1])
    assert conn.next_event() is NEED_DATA
    read = conn.read_request(second.line)
    assert isinstance(read, RequestReceived) and read.request.args == ([0] * 100,)


def test_a_long_request_of_few_values_is_read_in_place_until_far_longer():
    """An array's payload (one long literal) is decoded in C: it is left
    unread only past ALWAYS_UNREAD times read_over."""
    conn = selected(read_over=100)
    sparse = p.V2.encode_call("f", ("y" * 1000,), {})
    conn.receive_data(sparse)
    assert isinstance(conn.next_event(), RequestReceived)
    huge = p.V2.encode_call("f", ("y" * (ALWAYS_UNREAD * 100),), {})
    conn.receive_data(huge)
    assert isinstance(conn.next_event(), RequestUnread)


def test_without_read_over_every_request_is_read_in_place():
    conn = selected(read_over=None)
    conn.receive_data(p.V2.encode_call("f", ("y" * 200_000,), {}))
    event = conn.next_event()
    assert isinstance(event, RequestReceived) and event.request.args == ("y" * 200_000,)


def test_over_long_request_is_refused_not_left_unread():
    conn = ServerConnection({"t": object()}, [], read_over=10, max_message_size=1024)
    conn.receive_data(b"ARTIQ pc_rpc\n")
    conn.next_event()
    conn.receive_data(b"t\n")
    conn.accept(conn.next_event(), ["f"])
    conn.receive_data(b"[" + b"1," * 2000 + b"1]\n")
    event = conn.next_event()
    assert isinstance(event, RequestReceived) and event.request is None
    assert "max_message_size" in str(event.refusal["exception"]["message"])


# ------------------------------------------------------ heavier_than ---

@pytest.mark.parametrize("value, weight", [
    (None, 1), (1, 1), (2.5, 1), (True, 1), (1j, 1),
    ("", 1), ("x" * (10 * UNIT_BYTES), 11), (b"x" * UNIT_BYTES, 2),
    (bytearray(2 * UNIT_BYTES), 3),
    ([1, 2, 3], 4), ((1.0,) * 10, 11), ({1, 2}, 3), (frozenset(), 1),
    (["ab", "cd"], 3), (["x" * (10 * UNIT_BYTES), "y" * (10 * UNIT_BYTES)], 23),
    ({"a": 1, "b": 2}, 3), ({"a": [1, 2]}, 5),
    ([[1], [2]], 7), ([None, "x" * (10 * UNIT_BYTES), 3], 15),
])
def test_heavier_than_counts_values_and_bytes(value, weight):
    if weight:
        assert heavier_than(value, weight - 1)
    assert not heavier_than(value, weight)


def test_heavier_than_weighs_arrays_and_memoryviews_by_their_bytes():
    import numpy
    a = numpy.zeros(1000 * UNIT_BYTES // 8)  # 1,000 units of bytes
    assert heavier_than(a, 1000) and not heavier_than(a, 1001)
    assert heavier_than(memoryview(bytes(200 * UNIT_BYTES)), 100)
    assert not heavier_than(numpy.float64(1.0), 1)


def test_heavier_than_stops_early_on_huge_and_self_holding_values():
    loop = []
    loop.append(loop)
    assert heavier_than(loop, 1000)
    assert heavier_than(list(range(10**6)), 4096)
    nested = [[["x"] * 100] * 100] * 100
    assert heavier_than(nested, 4096)


def test_heavier_than_opens_mixed_members_only():
    big = "x" * (1000 * UNIT_BYTES)
    assert heavier_than([1, 2.0, None, big], 900)
    assert heavier_than({"k": big}, 900)
    assert heavier_than({big: 1}, 900)
    assert heavier_than({(1, 2): [big]}, 900)
    assert not heavier_than([1, 2.0, None, "short"] * 10, 100)


# --------------------------------------------------------- paused_gc ---

def test_paused_gc_nests_and_restores():
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_paused_gc_leaves_a_disabled_collector_disabled():
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_paused_gc_restores_after_an_exception_and_across_threads():
    entered, release = threading.Event(), threading.Event()

    def hold():
        with paused_gc():
            entered.set()
            release.wait(WAIT)

    thread = threading.Thread(target=hold)
    thread.start()
    assert entered.wait(WAIT)
    with pytest.raises(KeyError):
        with paused_gc():
            raise KeyError("x")
    assert not gc.isenabled()  # the other thread's pause is still on
    release.set()
    thread.join(WAIT)
    assert gc.isenabled()


def test_large_decode_pauses_the_collector_and_small_one_does_not(gate_type):
    Gate.opened.set()
    gate = Gate()
    gate.blocks_writing = False
    assert len(pyon.decode(pyon.encode([gate, PADDING]))) == 2
    assert len(pyon.decode(pyon.encode([gate, "short"]))) == 2
    assert Gate.gc_seen == [False, True]
    assert gc.isenabled()


def test_heavier_than_never_raises():
    class Odd:
        @property
        def nbytes(self):
            raise RuntimeError("no size")

    class BadLength(list):
        def __len__(self):
            raise RuntimeError("no length")

    assert heavier_than(Odd(), 10)
    assert heavier_than([BadLength()], 10)
    assert heavier_than({"k": Odd()}, 10)


# ------------------------------------------------------------ fairness ---

class Marks:
    """Records the order in which calls ran (and the ticker's turns)."""

    def __init__(self):
        self.log = []

    def mark(self):
        self.log.append("call")


def test_a_pipelining_client_lets_the_loop_serve_others_every_few_calls(serve):
    """Thousands of calls sent at once and all received are not answered in
    one turn of the event loop: every _FAIR_SHARE calls, the loop runs what
    else is ready.  A ticker on the server's loop, which logs a turn each
    time it runs, shows it: between two of its turns at most _FAIR_SHARE
    calls ran.  (Without the yield, every call of one read, thousands,
    would run between two turns.)"""
    from sipyco._rpc.server import _FAIR_SHARE

    target = Marks()
    server = serve({"t": target})
    ticker = Ticker(target.log, server.loop)
    calls = 5000
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
            sock.sendall(b"ARTIQ pc_rpc\n")
            read_lines(sock, 1)
            sock.sendall(b"t pyon_v2\n")
            read_lines(sock, 1)
            sock.sendall(p.V2.encode_call("mark", (), {}) * calls)
            replies = read_lines(sock, calls)
    finally:
        ticker.stop()
    assert all(line == b'{"status":"ok","ret":null}' for line in replies)
    runs = runs_between_turns(target.log)
    assert sum(runs) == calls
    assert max(runs) <= _FAIR_SHARE


def test_a_long_literal_between_dense_ends_is_read_in_place():
    """Commas at the ends of a line around one long literal do not make it
    slow to read: it is told apart without counting them."""
    conn = selected(read_over=1000)
    line = p.V2.encode_call("f", ([0] * 2000, "y" * 50_000, [0] * 2000), {})
    conn.receive_data(line)
    assert isinstance(conn.next_event(), RequestReceived)
    dense = p.V2.encode_call("f", ([0] * 2000, "y" * 50_000, [0] * 2000, [0] * 20_000), {})
    conn.receive_data(dense)
    assert isinstance(conn.next_event(), RequestUnread)
