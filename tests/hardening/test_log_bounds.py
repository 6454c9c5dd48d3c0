"""Hardening item 6 for remote logging: what a peer can make a log server or
a log forwarder hold is bounded.

* The log server creates no logger for the names peers send (``getLogger``
  keeps every logger for ever): a name that is not a logger yet is handled
  as a new logger would handle it, through its nearest existing ancestor,
  the record keeping its name.
* A multi-line record keeps at most ``max_message_size`` characters,
  however many lines its header announces.
* A LogForwarder never holds more than ``queue_size`` records, counting
  those written to a connection and not yet known to be sent, even while
  it reconnects."""

from __future__ import annotations

import asyncio
import logging

import pytest
from support.net import eventually, within

from sipyco._logs.wire import MessageAssembler, RecordAssembler
from sipyco.logging_tools import LogForwarder
from sipyco.logging_tools import Server as LogServer


class Keep(logging.Handler):
    def __init__(self):
        super().__init__(level=1)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def branch():
    """An existing, non-propagating logger ``hardening.branch`` at INFO with
    a handler keeping what reaches it."""
    log = logging.getLogger("hardening.branch")
    keep = Keep()
    log.addHandler(keep)
    log.setLevel(logging.INFO)
    log.propagate = False
    yield keep
    log.removeHandler(keep)
    log.setLevel(logging.NOTSET)
    log.propagate = True


async def send_lines(port: int, lines: list[bytes]) -> asyncio.StreamWriter:
    reader, writer = await within(asyncio.open_connection("127.0.0.1", port))
    writer.write(b"ARTIQ logging\n" + b"".join(lines))
    await within(writer.drain())
    return writer


@pytest.mark.asyncio
async def test_invented_names_create_no_loggers(branch):
    names = 3000
    server = LogServer()
    await server.start("127.0.0.1", 0)
    try:
        known_before = len(logging.root.manager.loggerDict)
        lines = [f"peer:INFO:hardening.branch.made.up{i}.x:m{i}\n".encode()
                 for i in range(names)]
        lines.append(b"peer:DEBUG:hardening.branch.below.level:not shown\n")
        lines.append(b"peer:INFO:hardening.branch:direct\n")
        writer = await send_lines(server.port, lines)
        await eventually(lambda: len(branch.records) == names + 1, what="every record")
        writer.close()

        assert len(logging.root.manager.loggerDict) == known_before  # nothing created
        first = branch.records[0]
        assert (first.name, first.levelno, first.getMessage(), first.source) == \
            ("hardening.branch.made.up0.x", logging.INFO, "m0", "peer")
        assert [r.getMessage() for r in branch.records[-2:]] == [f"m{names - 1}", "direct"]
        assert "not shown" not in [r.getMessage() for r in branch.records]  # its level
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_names_without_an_existing_ancestor_reach_the_root(caplog):
    caplog.set_level(logging.INFO)
    server = LogServer()
    await server.start("127.0.0.1", 0)
    try:
        known_before = len(logging.root.manager.loggerDict)
        writer = await send_lines(server.port, [
            b"peer:WARNING:nobody.has.this.name:hello\n",
            b"peer:INFO:" + b"n." * 5000 + b"end:a very long name\n",
        ])
        await eventually(lambda: len([r for r in caplog.records
                                      if getattr(r, "source", None) == "peer"]) == 2)
        writer.close()
        got = [r for r in caplog.records if getattr(r, "source", None) == "peer"]
        assert got[0].name == "nobody.has.this.name" and got[0].getMessage() == "hello"
        assert got[1].name.endswith("end") and got[1].getMessage() == "a very long name"
        assert len(logging.root.manager.loggerDict) == known_before
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_a_multiline_record_keeps_at_most_max_message_size(branch):
    limit = 64 << 10
    server = LogServer(max_message_size=limit)
    await server.start("127.0.0.1", 0)
    try:
        count = 200
        long_line = b"L" * 4000  # each line fits; all of them do not
        lines = [f"peer:INFO<{count}>:hardening.branch:head\n".encode()]
        lines += [long_line + b"\n"] * (count - 1)
        lines.append(b"peer:INFO:hardening.branch:next record\n")
        writer = await send_lines(server.port, lines)
        await eventually(lambda: len(branch.records) == 2, what="both records")
        writer.close()
        message = branch.records[0].getMessage()
        kept = message.split("\n")
        assert len(message) <= limit + 100
        assert kept[0] == "head"
        dropped = count - 1 - (len(kept) - 2)
        assert dropped > 0
        assert kept[-1] == (f"<{dropped} more lines dropped: the record is longer "
                            f"than {limit} characters>")
        assert branch.records[1].getMessage() == "next record"  # still in step
    finally:
        await server.stop()


def test_assembler_bound_without_io():
    unbounded = MessageAssembler()
    assert unbounded.feed("INFO<3>:n:a") is None
    assert unbounded.feed("b" * 100) is None
    assert unbounded.feed("c" * 100).message == "a\n" + "b" * 100 + "\n" + "c" * 100

    bounded = RecordAssembler(max_record_size=10)
    assert bounded.feed("s:INFO<4>:n:abc") is None
    assert bounded.feed("defg") is None           # 3 + 1 + 4 = 8 characters
    assert bounded.feed("hijkl") is None          # would make 14: dropped
    record = bounded.feed("m")                    # after a drop, the rest goes too
    assert record.lines == ["abc", "defg", "<2 more lines dropped: the record is "
                            "longer than 10 characters>"]
    assert bounded.feed("s:INFO:n:fine").message == "fine"

    assert bounded.feed("s:INFO<3>:n:abcdefghij") is None
    assert bounded.feed("x") is None
    assert bounded.flush().lines == ["abcdefghij", "<1 more lines dropped: the record "
                                     "is longer than 10 characters>"]


class StallingServer:
    """Accepts log connections; reads nothing from the first one until told
    to abort it, then reads everything from later ones."""

    def __init__(self):
        self.data = bytearray()
        self.first: asyncio.StreamWriter | None = None
        self.connections = 0

    async def handle(self, reader, writer):
        self.connections += 1
        if self.first is None:
            self.first = writer
            await asyncio.Event().wait()  # until the test aborts it (or stops)
        while chunk := await reader.read(1 << 20):
            self.data.extend(chunk)
        writer.close()


@pytest.mark.asyncio
async def test_the_forwarder_never_holds_more_than_queue_size(peers):
    queue_size = 10
    fds_before = peers.open_fds()
    stalling = StallingServer()
    server = await asyncio.start_server(stalling.handle, "127.0.0.1", 0)
    fwd = LogForwarder("127.0.0.1", server.sockets[0].getsockname()[1],
                       reconnect_timer=0.05, queue_size=queue_size, source="S")
    held_at_most = 0
    watching = True

    def held() -> int:
        with fwd._queue_lock:
            return len(fwd._queue) + fwd._in_flight

    async def watch():
        nonlocal held_at_most
        while watching:
            held_at_most = max(held_at_most, held(), fwd.queued)
            await asyncio.sleep(0)

    def log(message):
        fwd.handle(logging.LogRecord("n", logging.INFO, __file__, 1, message, None, None))
        assert held() <= queue_size

    watcher = asyncio.ensure_future(watch())
    fwd.start()
    try:
        big = "x" * (3 << 20)  # 30 MB in all: more than the socket buffers hold
        for i in range(queue_size):
            log(f"big {i} {big}")
        await eventually(lambda: fwd.connected and fwd._in_flight == queue_size,
                         what="the batch written, drain() waiting")
        for i in range(25):  # all slots are in flight: these are the ones dropped
            log(f"late {i}")
        assert held() == queue_size

        stalling.first.transport.abort()  # the connection fails while in flight
        await eventually(lambda: stalling.connections >= 2, what="the reconnection")
        for i in range(5):
            log(f"after {i}")
        await eventually(lambda: stalling.data.count(b"\n") >= 1 + queue_size + 1,
                         what="what was held, delivered")
        await eventually(lambda: fwd.queued == 0, what="all sent")
    finally:
        watching = False
        await watcher
        await fwd.stop()
        server.close()
        await server.wait_closed()

    assert held_at_most <= queue_size
    text = stalling.data.decode()
    lines = text.split("\n")
    assert lines[0] == "ARTIQ logging"
    messages = [line.split(":", 3)[3] for line in lines[1:] if line]
    bigs = {m.split(" ", 2)[1] for m in messages if m.startswith("big ")}
    late = [m for m in messages if m.startswith("late ")]
    after = [m for m in messages if m.startswith("after ")]
    reported = sum(int(m.split()[0]) for m in messages if "were dropped" in m)
    # those that found every slot taken by records in flight were dropped and
    # said so; the records in flight came back when the connection failed;
    # every record is accounted for: delivered once, or reported dropped
    assert late == [] and reported >= 25
    assert len(bigs) + len(after) + reported == queue_size + 25 + 5
    await eventually(lambda: peers.open_fds() <= fds_before, what="every descriptor released")
