"""Hardening item 2: a server serves at most ``max_connections`` peers at
once; one arriving beyond that is closed at once, with one warning for the
whole episode (not one per refusal); once some leave, peers are served
again.  For each of the four servers."""

from __future__ import annotations

import asyncio
import logging

import pytest
from support.net import eventually

from sipyco._bounds import DEFAULT_MAX_CONNECTIONS

CAP = 8
EXTRA = 25


def closed(reader: asyncio.StreamReader) -> bool:
    """Whether the server has closed this connection (as seen so far)."""
    return reader.at_eof() or reader.exception() is not None


def refusal_warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records
            if r.name == "sipyco.asyncio_tools" and "max_connections" in r.getMessage()]


@pytest.mark.asyncio
async def test_connections_beyond_the_cap_are_refused_with_one_warning(kind, peers, caplog):
    caplog.set_level(logging.WARNING, "sipyco.asyncio_tools")
    fds_before = peers.open_fds()
    server = await kind.start(max_connections=CAP, handshake_timeout=60)
    assert server.max_connections == CAP
    held = []
    try:
        held = [await peers.idle(server.port) for _ in range(CAP)]
        await eventually(lambda: len(server._connections) == CAP, what="the cap reached")

        refused = [await peers.idle(server.port) for _ in range(EXTRA)]
        for reader, writer in refused:
            assert await peers.ended(reader)  # closed by the server, unread
            writer.close()
        assert len(server._connections) == CAP
        warnings = refusal_warnings(caplog)
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        assert f"max_connections={CAP}" in warnings[0].getMessage()
        assert warnings[0].levelno == logging.WARNING

        # one leaves: a legitimate peer is served again
        _, writer = held.pop()
        writer.close()
        await eventually(lambda: len(server._connections) < CAP, what="a free slot")
        await kind.legit(server)

        # the cap reached again soon after: counted, not logged again
        more = [await peers.idle(server.port) for _ in range(CAP + 3)]
        held.extend(more)
        await eventually(lambda: len(server._connections) == CAP
                         and sum(closed(reader) for reader, _ in more) >= 3,
                         what="the cap reached again")
        assert len(refusal_warnings(caplog)) == 1
    finally:
        for _, writer in held:
            writer.close()
        await server.stop()
    await eventually(lambda: peers.open_fds() <= fds_before, what="every descriptor released")


def test_the_default_and_bad_values():
    assert DEFAULT_MAX_CONNECTIONS == 1024
    from sipyco.asyncio_tools import AsyncioServer
    from sipyco.broadcast import Broadcaster
    from sipyco.logging_tools import Server as LogServer
    from sipyco.pc_rpc import Server
    from sipyco.sync_struct import Publisher

    assert AsyncioServer().max_connections == DEFAULT_MAX_CONNECTIONS
    makers = [lambda **kw: Server({"t": object()}, **kw), lambda **kw: Publisher({}, **kw),
              Broadcaster, LogServer, AsyncioServer]
    for make in makers:
        assert make().max_connections == DEFAULT_MAX_CONNECTIONS
        assert make(max_connections=3).max_connections == 3
        for bad in (0, -1, 1.5, True, "10"):
            with pytest.raises(ValueError, match="max_connections"):
                make(max_connections=bad)


@pytest.mark.asyncio
async def test_a_refused_peer_costs_no_task_and_the_server_goes_on(kind, peers):
    """Refusals happen before any task is made for the peer."""
    server = await kind.start(max_connections=1)
    try:
        reader, writer = await peers.idle(server.port)
        await eventually(lambda: len(server._connections) == 1)
        tasks_before = len(asyncio.all_tasks())
        others = [await peers.idle(server.port) for _ in range(10)]
        for other_reader, other_writer in others:
            assert await peers.ended(other_reader)
            other_writer.close()
        assert len(asyncio.all_tasks()) <= tasks_before
        writer.close()
        await eventually(lambda: not server._connections)
        await kind.legit(server)
    finally:
        await server.stop()
