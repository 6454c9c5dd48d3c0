"""Hardening item 3 for the one-to-many servers: what a sync_struct Publisher
or a Broadcaster holds for all its peers together is bounded by
``max_buffered_bytes``, whatever each peer's own bound.  Past it, the peers
holding the most are disconnected, each with a warning naming the limit;
a peer that keeps up gets everything."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from support.net import eventually, within

from sipyco._bounds import DEFAULT_MAX_BUFFERED_BYTES
from sipyco.broadcast import Broadcaster, Receiver
from sipyco.sync_struct import Notifier, Publisher, Subscriber

BUDGET = 2 << 20
STALLED = 3
VALUE = 100_000  # bytes in each change
CHANGES = 120    # 12 MB per peer in all: far past the budget


async def stalled_peer(port: int, hello: bytes, name: str) -> socket.socket:
    """A peer that asks for ``name`` and then reads nothing (a small
    receive buffer, so the server soon has to hold what it sends)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await within(loop.sock_connect(sock, ("127.0.0.1", port)))
    await within(loop.sock_sendall(sock, hello + name.encode() + b"\n"))
    return sock


def drops(caplog, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == logger and "max_buffered_bytes" in r.getMessage()]


@pytest.mark.asyncio
async def test_publisher_backlogs_are_bounded_in_total(peers, caplog):
    caplog.set_level(logging.WARNING, "sipyco.sync_struct")
    fds_before = peers.open_fds()
    notifier = Notifier({"n": 0, "blob": ""})
    publisher = Publisher({"state": notifier}, max_buffered_bytes=BUDGET)
    await publisher.start("127.0.0.1", 0)
    stalled: list[socket.socket] = []
    subscriber = Subscriber("state", lambda struct: struct)
    try:
        await within(subscriber.connect("127.0.0.1", publisher.port))
        for _ in range(STALLED):
            stalled.append(await stalled_peer(publisher.port, b"ARTIQ sync_struct\n", "state"))
        await eventually(lambda: sum(len(s) for s in publisher._subscriptions.values())
                         == STALLED + 1, what="every subscriber taken")

        for i in range(1, CHANGES + 1):
            notifier["blob"] = f"{i}:" + "b" * VALUE
            notifier["n"] = i
            assert publisher.buffered_bytes <= BUDGET
            await eventually(lambda i=i: subscriber.target["n"] == i)  # keeps up

        assert publisher._shared.peak <= BUDGET + VALUE + 1024
        assert subscriber.target["blob"] == f"{CHANGES}:" + "b" * VALUE
        messages = drops(caplog, "sipyco.sync_struct")
        assert len(messages) == STALLED, messages
        assert all(f"max_buffered_bytes={BUDGET}" in m for m in messages)
        await eventually(lambda: sum(len(s) for s in publisher._subscriptions.values()) == 1,
                         what="the stalled subscribers gone")
        assert publisher.buffered_bytes <= BUDGET
    finally:
        await subscriber.close()
        for sock in stalled:
            sock.close()
        await publisher.stop()
        publisher.release()
    await eventually(lambda: peers.open_fds() <= fds_before, what="every descriptor released")


@pytest.mark.asyncio
async def test_broadcaster_queues_are_bounded_in_total(peers, caplog):
    caplog.set_level(logging.WARNING, "sipyco.broadcast")
    fds_before = peers.open_fds()
    broadcaster = Broadcaster(queue_limit=100_000, max_buffered_bytes=BUDGET)
    await broadcaster.start("127.0.0.1", 0)
    stalled: list[socket.socket] = []
    got: list = []
    receiver = Receiver("ch", got.append)
    try:
        await within(receiver.connect("127.0.0.1", broadcaster.port))
        for _ in range(STALLED):
            stalled.append(await stalled_peer(broadcaster.port, b"ARTIQ broadcast\n", "ch"))
        await eventually(lambda: len(broadcaster._channels.get("ch", ())) == STALLED + 1,
                         what="every receiver taken")

        for i in range(CHANGES):
            logged = len(caplog.records)
            broadcaster.broadcast("ch", (i, "b" * VALUE))
            assert len(caplog.records) == logged  # broadcast() itself never logs
            assert broadcaster.buffered_bytes <= BUDGET
            await eventually(lambda i=i: len(got) == i + 1)  # keeps up

        assert broadcaster._shared.peak <= BUDGET + VALUE + 1024
        assert [v[0] for v in got] == list(range(CHANGES))
        await eventually(lambda: len(drops(caplog, "sipyco.broadcast")) == STALLED,
                         what="a warning for each dropped receiver")
        assert all(f"max_buffered_bytes={BUDGET}" in m for m in drops(caplog, "sipyco.broadcast"))
        await eventually(lambda: len(broadcaster._channels.get("ch", ())) == 1,
                         what="the stalled receivers gone")
        assert broadcaster.buffered_bytes <= BUDGET
    finally:
        await receiver.close()
        for sock in stalled:
            sock.close()
        await broadcaster.stop()
    await eventually(lambda: peers.open_fds() <= fds_before, what="every descriptor released")


def test_the_defaults_and_bad_values():
    assert Publisher({}).max_buffered_bytes == DEFAULT_MAX_BUFFERED_BYTES
    assert Broadcaster().max_buffered_bytes == DEFAULT_MAX_BUFFERED_BYTES
    assert Publisher({}, max_buffered_bytes=10).max_buffered_bytes == 10
    for bad in (0, -5, 1.0, False):
        with pytest.raises(ValueError, match="max_buffered_bytes"):
            Publisher({}, max_buffered_bytes=bad)
        with pytest.raises(ValueError, match="max_buffered_bytes"):
            Broadcaster(max_buffered_bytes=bad)
