"""Remote logging against hostile peers: what a peer sends costs the log
server, or a LogForwarder, a bounded amount of memory, and nothing stays
behind once the peer has gone.

* A record header announcing 100,000 lines, then lines of 1 MiB: the server
  holds at most about ``max_message_size`` of it (over-long lines are
  skipped, the record is cut), another source is served meanwhile, and the
  record arrives, cut, once the peer leaves.
* A "log server" streaming data back to a forwarder: the forwarder drops
  it as it comes and goes on forwarding.
* 100,000 distinct logger names from one peer: nothing is kept per name.

What the process holds is measured with tracemalloc (the peers send
preallocated bytes from plain threads, so they allocate nothing while it
is measured); the sizes are scaled down (``max_message_size`` 64 KiB)."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import threading
import tracemalloc

import pytest
from support.net import eventually, within
from support.peers import ScriptedServer

from sipyco._logs.wire import DROPPED_LINE, MAX_RECORD_LINES
from sipyco._streams import READ_CHUNK
from sipyco.logging_tools import Server as LogServer

LIMIT = 64 << 10
MIB = 1 << 20
#: What a connection may hold, whatever its peer sends: a few reads of
#: READ_CHUNK (asyncio's buffer, the chunk read from it, the line buffer)
#: and a line or a record of max_message_size.
HELD = 8 * READ_CHUNK + 4 * LIMIT
HELLO = b"ARTIQ logging\n"
LOGGER = "sipyco.logging_tools"


class Kept(logging.Handler):
    """Keeps what reaches it, or only counts it (``keep=False``)."""

    def __init__(self, keep: bool = True):
        super().__init__(level=1)
        self.keep = keep
        self.count = 0
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.count += 1
        if self.keep:
            self.records.append(record)


@pytest.fixture
def hostile_branch():
    """``hostile_branch(keep=True)``: makes ``hostile.branch`` an existing,
    non-propagating logger at level 1, with a :class:`Kept` handler
    (returned).  Called in the test itself: pytest gives its own capturing
    handler to every logger that does not propagate as a test begins, and
    that one would keep every record."""
    log = logging.getLogger("hostile.branch")
    handlers = []

    def make(keep: bool = True) -> Kept:
        handler = Kept(keep)
        handlers.append(handler)
        log.addHandler(handler)
        log.setLevel(1)
        log.propagate = False
        return handler

    yield make
    for handler in handlers:
        log.removeHandler(handler)
    log.setLevel(logging.NOTSET)
    log.propagate = True


@pytest.fixture
def traced():
    """tracemalloc on for the test: ``traced()`` -> (now, peak) traced bytes."""
    tracemalloc.start()
    yield tracemalloc.get_traced_memory
    tracemalloc.stop()


def in_thread(work) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


@pytest.mark.asyncio
async def test_a_record_announcing_many_long_lines_costs_a_bounded_amount(
        hostile_branch, traced, caplog):
    caplog.set_level(logging.WARNING, LOGGER)
    kept = hostile_branch()
    server = LogServer(max_message_size=LIMIT)
    await server.start("127.0.0.1", 0)
    header = f"flood:INFO<{MAX_RECORD_LINES}>:hostile.branch.flood:head\n".encode()
    huge = b"h" * MIB + b"\n"             # each one over max_message_size
    fits = b"f" * (LIMIT - 100) + b"\n"   # each one fits; together they do not
    huge_lines, fitting_lines = 48, 16
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
    sent = threading.Event()

    def flood():
        sock.sendall(HELLO + header)
        for _ in range(huge_lines // 2):
            sock.sendall(huge)
        for _ in range(fitting_lines):
            sock.sendall(fits)
        for _ in range(huge_lines // 2):
            sock.sendall(huge)
        sent.set()

    try:
        gc.collect()
        base, _ = traced()
        tracemalloc.reset_peak()
        thread = in_thread(flood)
        await eventually(sent.is_set, what="the flood sent")

        def skipped() -> list[str]:
            return [r.getMessage() for r in caplog.records
                    if r.name == LOGGER and "skipping a log line" in r.getMessage()]

        await eventually(lambda: len(skipped()) == huge_lines, what="every long line read")
        _, peak = traced()
        assert peak - base < HELD, f"{peak - base} bytes held for {huge_lines} MiB sent"
        assert all(f"over max_message_size={LIMIT}" in m for m in skipped())
        assert kept.records == []  # the record is still open: 99,935 lines to come

        # another source is served meanwhile
        reader, writer = await within(asyncio.open_connection("127.0.0.1", server.port))
        writer.write(HELLO + b"other:INFO:hostile.branch.other:served\n")
        await eventually(lambda: len(kept.records) == 1, what="the other source served")
        assert (kept.records[0].source, kept.records[0].getMessage()) == ("other", "served")
        writer.close()

        sock.close()  # the flood's peer leaves: its record arrives, cut
        thread.join(10)
        await eventually(lambda: len(kept.records) == 2, what="the cut record")
    finally:
        sock.close()
        await server.stop()
    record = kept.records[1]
    assert (record.name, record.source) == ("hostile.branch.flood", "flood")
    lines = record.getMessage().split("\n")
    assert lines[0] == "head"
    assert lines[1:huge_lines // 2 + 1] == [DROPPED_LINE] * (huge_lines // 2)
    assert len(record.getMessage()) <= LIMIT + 100
    assert len([line for line in lines if line.startswith("<")]) == huge_lines // 2 + 1
    assert lines[-1].endswith(f"the record is longer than {LIMIT} characters>")


@pytest.mark.asyncio
async def test_a_forwarder_drops_what_a_server_streams_back(sender, make_forwarder, traced):
    streamed = 64
    chunk = b"s" * MIB
    done_streaming = threading.Event()
    arrived: list[bytes] = []

    def talkative_server(peer):
        assert peer.line() == HELLO
        for _ in range(streamed):
            peer.send(chunk)
        done_streaming.set()
        while True:
            line = peer.line()
            if not line:
                return
            if b"after the flood" in line:
                arrived.append(line)

    with ScriptedServer(talkative_server) as fake:
        gc.collect()
        base, _ = traced()
        tracemalloc.reset_peak()
        forwarder = make_forwarder(fake.port, logger=sender)
        await eventually(done_streaming.is_set, what=f"{streamed} MiB taken by the forwarder")
        _, peak = traced()
        sender.info("after the flood")
        await eventually(lambda: arrived, what="the record forwarded after the flood")
        assert forwarder.connected
        await forwarder.stop()
    assert arrived[0].rstrip(b"\n").endswith(b":after the flood")
    assert peak - base < HELD, f"{peak - base} bytes held for {streamed} MiB streamed"


@pytest.mark.asyncio
async def test_distinct_logger_names_leave_nothing_behind(hostile_branch, traced):
    names = 100_000
    counted = hostile_branch(keep=False)
    server = LogServer()
    await server.start("127.0.0.1", 0)
    flood = HELLO + b"".join(f"peer:INFO:hostile.branch.made.up{i}:m\n".encode()
                             for i in range(names))
    try:
        # a first peer, so that what is made once (imports, caches) is made
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as first:
            first.sendall(HELLO + b"first:INFO:hostile.branch.warm.up:m\n")
            await eventually(lambda: counted.count == 1, what="the first record")
        await eventually(lambda: not server._connections, what="the first peer gone")
        gc.collect()
        known = len(logging.root.manager.loggerDict)
        base, _ = traced()
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
        thread = in_thread(lambda: sock.sendall(flood))
        await eventually(lambda: counted.count == names + 1, what="every record")
        assert len(logging.root.manager.loggerDict) == known
        sock.close()
        thread.join(10)
        await eventually(lambda: not server._connections, what="the peer gone")
    finally:
        await server.stop()
    gc.collect()
    now, _ = traced()
    assert len(logging.root.manager.loggerDict) == known
    assert now - base < 64 << 10, f"{now - base} bytes kept after {names} names"
