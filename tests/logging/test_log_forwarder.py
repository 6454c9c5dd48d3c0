"""LogForwarder to a Server over real TCP sockets on 127.0.0.1: what arrives,
what goes on the wire, and what happens while the server is away."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading

import pytest
from support.logging_records import summary
from support.net import eventually, free_port

from sipyco.logging_tools import TRACE, LogForwarder, Server, SourceFilter

# ---- forwarder -> server ------------------------------------------------------


@pytest.mark.asyncio
async def test_levels_including_trace(sender, log_server, make_forwarder, captured):
    make_forwarder(log_server.port, sender, source="ctl")
    levels = [logging.CRITICAL, logging.ERROR, logging.WARNING, logging.INFO, logging.DEBUG,
              TRACE]
    for level in levels:
        sender.log(level, "at %d", level)
    got = await captured.wait_for(len(levels), sender.name)
    assert summary(got) == [(sender.name, lv, f"at {lv}", "ctl") for lv in levels]
    assert got[-1].levelname == "TRACE"


@pytest.mark.asyncio
async def test_records_carry_their_source(sender, log_server, make_forwarder, captured):
    """The source on the re-emitted record: the forwarder's ``source=``,
    the host name by default, or what SourceFilter put on the record."""
    make_forwarder(log_server.port, sender, source="from-option")
    make_forwarder(log_server.port, sender)
    make_forwarder(log_server.port, sender, source="ignored",
                   filters=[SourceFilter(logging.INFO, "from-filter")])
    sender.info("hello")
    got = await captured.wait_for(3, sender.name)
    assert sorted(r.source for r in got) == sorted(["from-option", socket.gethostname(),
                                                    "from-filter"])
    assert all(r.getMessage() == "hello" and r.name == sender.name for r in got)


@pytest.mark.asyncio
async def test_source_filter_levels(sender, log_server, make_forwarder, captured):
    """SourceFilter passes local records from its level up."""
    make_forwarder(log_server.port, sender, filters=[SourceFilter(logging.WARNING, "ctl")])
    sender.info("too low")
    sender.debug("too low too")
    sender.warning("passes")
    sender.error("passes too")
    got = await captured.wait_for(2, sender.name)
    assert summary(got) == [(sender.name, logging.WARNING, "passes", "ctl"),
                            (sender.name, logging.ERROR, "passes too", "ctl")]
    # nothing else was sent before them, and nothing after
    sender.critical("marker")
    got = await captured.wait_for(3, sender.name)
    assert [r.getMessage() for r in captured.named(sender.name)] == [
        "passes", "passes too", "marker"]


@pytest.mark.asyncio
async def test_a_record_that_already_has_a_source_keeps_it(log_server, make_forwarder,
                                                           captured, sender):
    """What a program re-forwards (records from elsewhere) keeps the original
    source; the forwarder here is attached to no logger."""
    fwd = make_forwarder(log_server.port, source="relay", guard=False,
                         filters=[SourceFilter(logging.INFO, "relay")])
    rec = logging.makeLogRecord({"name": sender.name + ".far", "levelno": logging.DEBUG,
                                 "levelname": "DEBUG", "msg": "from afar",
                                 "source": "far-host"})
    fwd.handle(rec)
    fwd.handle(logging.makeLogRecord({"name": sender.name, "levelno": logging.INFO,
                                      "levelname": "INFO", "msg": "local"}))
    got = await captured.wait_for(2, sender.name)
    assert summary(got) == [(sender.name + ".far", logging.DEBUG, "from afar", "far-host"),
                            (sender.name, logging.INFO, "local", "relay")]


@pytest.mark.asyncio
async def test_messages_names_and_args(sender, log_server, make_forwarder, captured):
    make_forwarder(log_server.port, sender, source="ctl")
    deep = logging.getLogger(sender.name + ".sub.deeper")
    sender.info("first line\nsecond line\n  third: indented")
    deep.warning("colons: a:b:c and ::")
    sender.error("%s=%d (%r)", "x", 3, "y")
    sender.info("température ✓ 50 µK")
    sender.info("")
    sender.info("ends with a newline\n")
    sender.info("CTL:CRITICAL:forged:header\nOTHER:ERROR<3>:forged:again")
    got = await captured.wait_for(7, sender.name)
    assert summary(got) == [
        (sender.name, logging.INFO, "first line\nsecond line\n  third: indented", "ctl"),
        (sender.name + ".sub.deeper", logging.WARNING, "colons: a:b:c and ::", "ctl"),
        (sender.name, logging.ERROR, "x=3 ('y')", "ctl"),
        (sender.name, logging.INFO, "température ✓ 50 µK", "ctl"),
        (sender.name, logging.INFO, "", "ctl"),
        (sender.name, logging.INFO, "ends with a newline\n", "ctl"),
        (sender.name, logging.INFO, "CTL:CRITICAL:forged:header\nOTHER:ERROR<3>:forged:again",
         "ctl"),
    ]
    # the sender formatted the message: what arrives has no args left to apply
    assert got[2].msg == "x=3 ('y')"
    assert not got[2].args


@pytest.mark.asyncio
async def test_exception_tracebacks_travel(sender, log_server, make_forwarder, captured):
    make_forwarder(log_server.port, sender, source="ctl")
    try:
        {}["missing"]
    except KeyError:
        sender.exception("lookup failed")
    (rec,) = await captured.wait_for(1, sender.name)
    lines = rec.getMessage().split("\n")
    assert lines[0] == "lookup failed"
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "KeyError: 'missing'"
    assert rec.levelno == logging.ERROR


@pytest.mark.asyncio
async def test_handler_level_option(sender, log_server, make_forwarder, captured):
    make_forwarder(log_server.port, sender, source="ctl", level=logging.WARNING)
    sender.info("dropped by the level")
    sender.warning("sent")
    sender.info("dropped too")
    sender.error("sent too")
    got = await captured.wait_for(2, sender.name)
    assert [r.getMessage() for r in got] == ["sent", "sent too"]


@pytest.mark.asyncio
async def test_records_emitted_before_start_are_sent(sender, log_server, make_forwarder,
                                                     captured):
    fwd = make_forwarder(log_server.port, sender, start=False, source="ctl")
    for i in range(5):
        sender.info("early %d", i)
    assert fwd.queued == 5
    fwd.start()
    got = await captured.wait_for(5, sender.name)
    assert [r.getMessage() for r in got] == [f"early {i}" for i in range(5)]
    await eventually(lambda: fwd.queued == 0, what="the queue to empty")


@pytest.mark.asyncio
async def test_emit_from_other_threads(sender, log_server, make_forwarder, captured):
    fwd = make_forwarder(log_server.port, sender, source="ctl")
    sender.info("warm-up")
    await captured.wait_for(1, sender.name)
    await eventually(lambda: fwd.connected and fwd.queued == 0, what="an idle, connected forwarder")

    def emit_many(tag):
        for i in range(50):
            logging.getLogger(f"{sender.name}.{tag}").info("%s %d", tag, i)

    # the event loop is idle, waiting for records; other threads wake it
    await asyncio.to_thread(emit_many, "t0")
    got = await captured.wait_for(51, sender.name)
    assert [r.getMessage() for r in got[1:]] == [f"t0 {i}" for i in range(50)]

    threads = [threading.Thread(target=emit_many, args=(f"t{n}",)) for n in (1, 2)]
    for t in threads:
        t.start()
    await asyncio.to_thread(lambda: [t.join() for t in threads])
    got = await captured.wait_for(151, sender.name)
    for tag in ("t1", "t2"):
        mine = [r.getMessage() for r in got if r.name == f"{sender.name}.{tag}"]
        assert mine == [f"{tag} {i}" for i in range(50)]


@pytest.mark.asyncio
async def test_emit_from_a_thread_while_the_loop_is_busy_elsewhere(sender, log_server,
                                                                   make_forwarder, captured):
    """A thread logs while the loop thread is also logging."""
    make_forwarder(log_server.port, sender, source="ctl")
    done = threading.Event()

    def worker():
        for i in range(100):
            logging.getLogger(sender.name + ".worker").debug("w %d", i)
        done.set()

    t = threading.Thread(target=worker)
    t.start()
    i = 0
    while not done.is_set():
        logging.getLogger(sender.name + ".loop").debug("l %d", i)
        i += 1
        await asyncio.sleep(0)
    await asyncio.to_thread(t.join)
    got = await captured.wait_for(100 + i, sender.name)
    assert [r.getMessage() for r in got if r.name.endswith(".worker")] == [
        f"w {n}" for n in range(100)]
    assert [r.getMessage() for r in got if r.name.endswith(".loop")] == [
        f"l {n}" for n in range(i)]


# ---- the exact bytes -------------------------------------------------------------


class RawReceiver:
    """A plain asyncio server keeping every byte a forwarder sends."""

    def __init__(self):
        self.data = bytearray()
        self.server = None
        self.writers = []

    async def _handle(self, reader, writer):
        self.writers.append(writer)
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            self.data += chunk
        writer.close()

    async def start(self):
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def close(self):
        for w in self.writers:
            w.close()
        self.server.close()
        await self.server.wait_closed()

    async def wait_for(self, expected: bytes):
        try:
            await eventually(lambda: len(self.data) >= len(expected), what=f"{expected!r}")
        except AssertionError:
            raise AssertionError(f"expected {expected!r}, have {bytes(self.data)!r}") from None
        return bytes(self.data)


@pytest.mark.asyncio
@pytest.mark.parametrize("msg, level, wire", [
    ("msg", logging.WARNING, b"SRC:WARNING:name:msg\n"),
    ("a\nb\nc", logging.INFO, b"SRC:INFO<3>:name:a\nb\nc\n"),
    ("tiny", TRACE, b"SRC:TRACE:name:tiny\n"),
    ("x: y: z", logging.CRITICAL, b"SRC:CRITICAL:name:x: y: z\n"),
    ("\u00b5K", logging.DEBUG, "SRC:DEBUG:name:\u00b5K\n".encode()),
])
async def test_bytes_on_the_wire(make_forwarder, msg, level, wire):
    rr = RawReceiver()
    port = await rr.start()
    try:
        fwd = make_forwarder(port, source="SRC", guard=False)
        fwd.handle(logging.LogRecord("name", level, __file__, 1, msg, None, None))
        expected = b"ARTIQ logging\n" + wire
        assert await rr.wait_for(expected) == expected
        # a second record follows directly
        fwd.handle(logging.LogRecord("name", logging.INFO, __file__, 1, "%s+%s", (1, 2), None))
        expected += b"SRC:INFO:name:1+2\n"
        assert await rr.wait_for(expected) == expected
        await fwd.stop()
    finally:
        await rr.close()


# ---- the server goes away and comes back ----------------------------------------


@pytest.mark.asyncio
async def test_forwarder_started_while_the_server_is_down(sender, make_forwarder, captured):
    port = free_port()
    fwd = make_forwarder(port, sender, source="ctl")
    for i in range(20):
        sender.info("queued %d", i)
    await asyncio.sleep(0.2)  # let it fail to connect a few times
    assert not fwd.connected
    server = Server()
    await server.start("127.0.0.1", port)
    try:
        got = await captured.wait_for(20, sender.name)
        assert [r.getMessage() for r in got] == [f"queued {i}" for i in range(20)]
        assert {r.source for r in got} == {"ctl"}
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_server_restarted_on_the_same_port(sender, make_forwarder, captured):
    port = free_port()
    server = Server()
    await server.start("127.0.0.1", port)
    fwd = make_forwarder(port, sender, source="ctl")
    try:
        sender.info("before")
        await captured.wait_for(1, sender.name)
        await server.stop()
        await eventually(lambda: not fwd.connected, what="the forwarder to notice")
        for i in range(30):
            sender.warning("meanwhile %d", i)
        await asyncio.sleep(0.2)  # reconnection attempts fail meanwhile
        assert fwd.queued == 30
        server = Server()
        await server.start("127.0.0.1", port)
        got = await captured.wait_for(31, sender.name)
        assert [r.getMessage() for r in got] == ["before"] + [f"meanwhile {i}"
                                                             for i in range(30)]
        await eventually(lambda: fwd.queued == 0, what="the queue to empty")
        # and the link works on after the restart
        sender.info("after")
        got = await captured.wait_for(32, sender.name)
        assert got[-1].getMessage() == "after"
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_queue_overflow_drops_the_oldest_and_says_so(sender, make_forwarder, captured):
    port = free_port()
    fwd = make_forwarder(port, sender, source="ctl", queue_size=10)
    for i in range(25):
        sender.info("record %d", i)  # neither raises nor blocks
    assert fwd.queued == 10
    server = Server()
    await server.start("127.0.0.1", port)
    try:
        got = await captured.wait_for(10, sender.name)
        assert [r.getMessage() for r in got] == [f"record {i}" for i in range(15, 25)]
        await eventually(lambda: any("dropped" in r.getMessage() for r in captured.records),
                         what="the dropped-records notice")
        (notice,) = [r for r in captured.records if "dropped" in r.getMessage()]
        assert "15 log records were dropped" in notice.getMessage()
        assert notice.levelno == logging.WARNING
        assert notice.source == "ctl"
        # the count was reported once: the next record comes without a notice
        sender.info("marker")
        got = await captured.wait_for(11, sender.name)
        assert got[-1].getMessage() == "marker"
        assert len([r for r in captured.records if "dropped" in r.getMessage()]) == 1
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_a_record_that_fails_to_format_breaks_nothing(sender, log_server, make_forwarder,
                                                            captured, capsys):
    # handed over directly: pytest's own handlers raise on such a record
    fwd = make_forwarder(log_server.port, source="ctl")
    fwd.handle(logging.LogRecord(sender.name, logging.INFO, __file__, 1, "%d apples",
                                 ("not a number",), None))  # must not raise
    fwd.handle(logging.LogRecord(sender.name, logging.INFO, __file__, 1, "next", None, None))
    got = await captured.wait_for(1, sender.name)
    assert got[0].getMessage() == "next"
    assert "Logging error" in capsys.readouterr().err


def test_queue_size_must_be_positive():
    with pytest.raises(ValueError):
        LogForwarder("127.0.0.1", 1, queue_size=0)


@pytest.mark.asyncio
async def test_overflow_while_a_batch_is_in_flight_reports_only_lost_records(make_forwarder):
    """The dropped-records notice counts records that never left.

    Fails: records already written to the connection stay in the queue until
    drain() returns; when the queue overflows meanwhile they are "dropped"
    from it and counted, although they are delivered anyway, so the server
    gets every record plus a notice that 5 were dropped."""
    gate = asyncio.Event()
    data = bytearray()

    async def slow_reader(reader, writer):
        await gate.wait()  # read nothing until told to
        while chunk := await reader.read(1 << 20):
            data.extend(chunk)
        writer.close()

    server = await asyncio.start_server(slow_reader, "127.0.0.1", 0)
    try:
        fwd = make_forwarder(server.sockets[0].getsockname()[1], source="S", guard=False,
                             queue_size=10)
        big = "x" * (3 << 20)  # 30 MB in all: more than the socket buffers hold

        def log(msg):
            fwd.handle(logging.LogRecord("n", logging.INFO, __file__, 1, msg, None, None))

        for i in range(10):
            log(f"big {i} {big}")
        await eventually(lambda: fwd.connected, what="the connection")
        await asyncio.sleep(0.2)
        assert fwd.queued == 10  # the batch is written but drain() is still waiting
        for i in range(5):
            log(f"late {i}")
        gate.set()
        # the late records either follow the batch or, with every slot of
        # queue_size in flight, are dropped and reported
        await eventually(lambda: data.endswith(b"S:INFO:n:late 4\n") or b"were dropped" in data,
                         what="the last record or the drop notice")
        await fwd.stop()
    finally:
        server.close()
        await server.wait_closed()

    lines = bytes(data).decode().split("\n")
    assert lines[0] == "ARTIQ logging"
    messages = [line.split(":", 3)[3] for line in lines[1:-1]]
    delivered = {" ".join(m.split(" ", 2)[:2]) for m in messages
                 if m.startswith(("big ", "late "))}
    reported = sum(int(m.split()[0]) for m in messages if "were dropped" in m)
    # every record either arrived or was reported dropped, never both
    # (the forwarder never holds more than queue_size records)
    assert len(delivered) + reported == 15
