"""Our log Server, spoken to by hand over a socket the way an upstream 1.8
forwarder (or something hostile) would."""

from __future__ import annotations

import asyncio
import logging

import pytest
import pytest_asyncio
from support.turns import Ticker, runs_between_turns

from sipyco.logging_tools import Server

HELLO = b"ARTIQ logging\n"


def _summary(records):
    return [(r.source, r.name, r.levelno, r.getMessage()) for r in records]


class RawSender:
    """A bare TCP connection to a log server."""

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer

    async def send(self, data: bytes):
        self.writer.write(data)
        await self.writer.drain()

    async def disconnected(self) -> bool:
        """True once the server has closed the connection; fails if it does
        not within a long while."""
        try:
            data = await asyncio.wait_for(self.reader.read(), 15)
        except asyncio.TimeoutError:
            pytest.fail("the server kept the connection open")
        except ConnectionError:
            return True
        return data == b""

    async def close(self):
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


@pytest_asyncio.fixture
async def raw():
    """``await raw(port, hello=HELLO)`` -> a RawSender that has sent ``hello``."""
    opened = []

    async def connect(port, hello=HELLO):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        s = RawSender(reader, writer)
        opened.append(s)
        if hello:
            await s.send(hello)
        return s

    yield connect
    for s in opened:
        await s.close()


@pytest.mark.asyncio
async def test_single_and_multi_line_records(log_server, raw, sender, captured):
    n = sender.name
    s = await raw(log_server.port)
    await s.send(f"lab1:INFO:{n}:hello\n".encode())
    await s.send(f"lab1:ERROR<3>:{n}.dev:first\nsecond: with colon\n\n".encode())
    await s.send(f"lab2:TRACE:{n}.dev.x:tiny\nlab2:WARN:{n}:short warning\n".encode())
    await s.send(f"lab2:CRITICAL<2>:{n}:a\n".encode())
    await s.send(b"b\n")  # the rest of a record may come in a later packet
    await s.send(f"lab3:something printed: {n}\n".encode())
    await s.send(f"lab3:DEBUG:{n}:caf\u00e9 \u2713\n".encode())
    got = await captured.wait_for(6, n)
    assert _summary(got) == [
        ("lab1", n, logging.INFO, "hello"),
        ("lab1", n + ".dev", logging.ERROR, "first\nsecond: with colon\n"),
        ("lab2", n + ".dev.x", 5, "tiny"),
        ("lab2", n, logging.WARNING, "short warning"),
        ("lab2", n, logging.CRITICAL, "a\nb"),
        ("lab3", n, logging.DEBUG, "caf\u00e9 \u2713"),
    ]
    assert got[2].levelname == "TRACE"
    # the unparseable line went to logger "print", as INFO
    (printed,) = [r for r in captured.records if r.name == "print" and r.source == "lab3"]
    assert printed.levelno == logging.INFO
    assert printed.getMessage() == f"something printed: {n}"


@pytest.mark.asyncio
async def test_hello_and_records_byte_by_byte(log_server, raw, sender, captured):
    n = sender.name
    s = await raw(log_server.port, hello=None)
    for b in HELLO + f"s:INFO<2>:{n}:one\ntwo\ns:INFO:{n}:three\n".encode():
        await s.send(bytes([b]))
    got = await captured.wait_for(2, n)
    assert [r.getMessage() for r in got] == ["one\ntwo", "three"]


@pytest.mark.asyncio
async def test_records_in_one_write(log_server, raw, sender, captured):
    n = sender.name
    s = await raw(log_server.port, hello=None)
    await s.send(HELLO + "".join(f"s:INFO:{n}:r{i}\n" for i in range(200)).encode())
    got = await captured.wait_for(200, n)
    assert [r.getMessage() for r in got] == [f"r{i}" for i in range(200)]


@pytest.mark.asyncio
async def test_a_malformed_line_is_skipped(log_server, raw, sender, captured, caplog):
    n = sender.name
    s = await raw(log_server.port)
    await s.send(f"s:INFO:{n}:before\n".encode())
    await s.send(b"no source prefix on this line\n")
    await s.send(f"s:INFO:{n}:after\n".encode())
    got = await captured.wait_for(2, n)
    assert [r.getMessage() for r in got] == ["before", "after"]
    warnings = [r for r in caplog.records
                if r.name == "sipyco.logging_tools" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "malformed" in warnings[0].getMessage()
    assert "no source prefix" in warnings[0].getMessage()


@pytest.mark.parametrize("hello", [
    b"HELLO\n",
    b"ARTIQ pc_rpc\n",
    b"ARTIQ sync_struct\n",
    b"artiq logging\n",
    b"ARTIQ logging extra\n",
    b"\n",
    b"x" * 5000,  # no line end at all
])
@pytest.mark.asyncio
async def test_garbage_hello_is_disconnected(log_server, raw, sender, captured, hello):
    n = sender.name
    s = await raw(log_server.port, hello=None)
    try:
        await s.send(hello + f"\ns:ERROR:{n}:must not appear\n".encode())
    except ConnectionError:
        pass
    assert await s.disconnected()
    # a proper sender afterwards is heard, and the other one was not
    ok = await raw(log_server.port)
    await ok.send(f"s:INFO:{n}:proper\n".encode())
    got = await captured.wait_for(1, n)
    assert [r.getMessage() for r in captured.named(n)] == ["proper"]
    assert got[0].source == "s"


@pytest.mark.asyncio
async def test_an_embedded_newline_cannot_forge_a_record(log_server, raw, sender, captured):
    n = sender.name
    s = await raw(log_server.port)
    await s.send(f"honest:INFO<2>:{n}:first\nforger:CRITICAL:{n}.bank:send money\n".encode())
    await s.send(f"honest:INFO:{n}:next\n".encode())
    got = await captured.wait_for(2, n)
    assert _summary(got) == [
        ("honest", n, logging.INFO, f"first\nforger:CRITICAL:{n}.bank:send money"),
        ("honest", n, logging.INFO, "next"),
    ]
    assert not [r for r in captured.records if r.levelno == logging.CRITICAL]


@pytest.mark.asyncio
async def test_a_sender_leaving_mid_record(log_server, raw, sender, captured):
    """What did arrive of a record whose sender left is still logged."""
    n = sender.name
    s = await raw(log_server.port)
    await s.send(f"s:WARNING<5>:{n}:one\ntwo\n".encode())
    await s.close()
    (rec,) = await captured.wait_for(1, n)
    assert (rec.levelno, rec.getMessage()) == (logging.WARNING, "one\ntwo")


@pytest.mark.asyncio
async def test_several_senders_at_once(log_server, raw, sender, captured):
    n = sender.name
    senders = [await raw(log_server.port) for _ in range(5)]
    for i in range(20):
        for k, s in enumerate(senders):
            await s.send(f"src{k}:INFO:{n}.s{k}:m{i}\n".encode())
    got = await captured.wait_for(100, n)
    for k in range(5):
        mine = [r for r in got if r.name == f"{n}.s{k}"]
        assert [r.getMessage() for r in mine] == [f"m{i}" for i in range(20)]
        assert {r.source for r in mine} == {f"src{k}"}


@pytest.mark.asyncio
async def test_over_long_lines_are_skipped(raw, sender, captured, caplog):
    n = sender.name
    server = Server(max_message_size=200)
    await server.start("127.0.0.1", 0)
    try:
        s = await raw(server.port)
        await s.send(f"s:INFO:{n}:{'x' * 1000}\n".encode())
        await s.send(f"s:INFO:{n}:short\n".encode())
        await s.send(f"s:INFO<3>:{n}:head\n{'y' * 1000}\ntail\n".encode())
        await s.send(f"s:INFO:{n}:end\n".encode())
        got = await captured.wait_for(3, n)
        assert [r.getMessage() for r in got] == ["short", "head\n<line too long, dropped>\ntail",
                                                 "end"]
        assert len([r for r in caplog.records if r.name == "sipyco.logging_tools"
                    and r.levelno == logging.WARNING and "max_message_size=200" in r.getMessage()
                    ]) == 2
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_stop_closes_open_connections(raw, sender, captured):
    server = Server()
    await server.start("127.0.0.1", 0)
    s = await raw(server.port)
    await s.send(f"s:INFO:{sender.name}:hi\n".encode())
    await captured.wait_for(1, sender.name)
    await server.stop()
    assert await s.disconnected()


@pytest.mark.asyncio
async def test_a_flooding_source_lets_the_loop_serve_others(log_server, raw, sender, captured):
    """Thousands of records sent at once, all received, are not re-emitted in
    one turn of the event loop: a ticker task on the same loop gets a turn
    at least every _FAIR_SHARE lines.  (Without the yield, every line of one
    read ran between two of its turns.)"""
    from sipyco.logging_tools import _FAIR_SHARE

    order = []
    n = sender.name

    class Marker(logging.Handler):
        def emit(self, record):
            if getattr(record, "source", None) == "flood":
                order.append("record")

    marker = Marker()
    sender.addHandler(marker)  # re-emitted through the sender's logger, which does not propagate
    ticker = Ticker(order, asyncio.get_running_loop())
    try:
        s = await raw(log_server.port, hello=None)
        count = 5000
        await s.send(HELLO + "".join(f"flood:INFO:{n}:r{i}\n" for i in range(count)).encode())
        await captured.wait_for(count, n)
    finally:
        await ticker.stop_on_loop()
        sender.removeHandler(marker)
    runs = runs_between_turns(order)
    assert sum(runs) == count
    assert max(runs) <= _FAIR_SHARE
