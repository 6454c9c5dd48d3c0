"""Subscribers that connect, ask for a large structure and never read: what
the Publisher holds for them is bounded by ``max_buffered_bytes`` (the
initial structures included), the structure is encoded once for all of them
while it is unchanged, and a subscriber that reads is served all along.

A subscriber just sent the structure has had no chance to read it: making
room for it drops the stalled ones holding the most, not the newcomer.

Scaled down from the issue's figures (20 subscribers of a 50 MB structure):
a structure of 12 MiB, a budget of two of them and six stalled subscribers.
The kernel takes a few MB of each connection's backlog (loopback send
buffers), so a stalled subscriber makes the Publisher hold more than half
of the structure, and at most three of them fit in the budget."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from support.net import eventually, within
from support.sync import HELLO, done

from sipyco._sync.fanout import SharedBacklog
from sipyco.sync_struct import Notifier

LOGGER = "sipyco.sync_struct"
BLOB = 12 << 20
BUDGET = 2 * BLOB
STALLED = 6


def budget_drops(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == LOGGER and "max_buffered_bytes" in r.getMessage()]


def subscriber_count(publisher, name: str) -> int:
    return len(publisher._subscriptions[name])


class CountingInits:
    """Wraps a Publisher's text writer, counting the initial structures it
    writes (white-box: how often the structure is encoded)."""

    def __init__(self, publisher):
        self.inner = publisher._encode_text
        self.inits = 0
        publisher._encode_text = self

    def __call__(self, value):
        if isinstance(value, dict) and value.get("action") == "init":
            self.inits += 1
        return self.inner(value)


async def stalled_subscriber(port: int, name: str) -> socket.socket:
    """A connection that asks for ``name`` and then reads nothing (with a
    small receive buffer, so the publisher soon holds what it sends)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await within(loop.sock_connect(sock, ("127.0.0.1", port)))
    await within(loop.sock_sendall(sock, HELLO + name.encode() + b"\n"))
    return sock


def closed_by_peer(sock: socket.socket) -> bool:
    """Whether the publisher has closed this connection; reads and drops
    what is waiting, without blocking (so the peer no longer stalls)."""
    try:
        while True:
            if not sock.recv(1 << 20):
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


@pytest.mark.asyncio
async def test_stalled_subscribers_of_a_large_structure_are_bounded_in_total(
        publish, subscribe, caplog):
    caplog.set_level(logging.WARNING, LOGGER)
    notifier = Notifier({"blob": "b" * BLOB, "n": 0})
    publisher = await publish({"big": notifier}, max_buffered_bytes=BUDGET)
    counting = CountingInits(publisher)
    reader = await subscribe(publisher.port, "big")
    assert reader.target["blob"] == "b" * BLOB
    stalled = []
    try:
        for _ in range(STALLED):
            stalled.append(await stalled_subscriber(publisher.port, "big"))
        # every stalled subscriber is either being served or was dropped
        await eventually(lambda: subscriber_count(publisher, "big") - 1
                         + len(budget_drops(caplog)) == STALLED,
                         what="every stalled subscriber taken or dropped")
        assert publisher.buffered_bytes <= BUDGET
        assert publisher._shared.peak <= BUDGET + BLOB
        # one encoding of the structure for every subscriber, the reader included
        assert counting.inits == 1

        messages = budget_drops(caplog)
        assert len(messages) >= STALLED - 3, messages
        assert all(f"max_buffered_bytes={BUDGET}" in m for m in messages)

        # the reader is served meanwhile, and a newcomer gets the structure
        # (making room for it may drop one more stalled subscriber)
        notifier["n"] = 1
        notifier["sentinel"] = "done"
        await eventually(done(reader))
        assert reader.target == notifier.raw_view
        newcomer = await subscribe(publisher.port, "big")
        assert newcomer.target == notifier.raw_view
        assert counting.inits == 2  # the structure changed: encoded afresh, once
        assert publisher.buffered_bytes <= BUDGET

        # each dropped one was logged once, and its connection closed (seen
        # by reading it: the kernel delivers what it took before the close)
        messages = budget_drops(caplog)
        assert subscriber_count(publisher, "big") - 2 + len(messages) == STALLED
        closed = 0

        def all_dropped_closed() -> bool:
            nonlocal closed
            closed = sum(map(closed_by_peer, stalled))
            return closed >= len(messages)

        await eventually(all_dropped_closed, what="the dropped connections closed")
        assert closed == len(messages) == len(budget_drops(caplog))
    finally:
        for sock in stalled:
            sock.close()
    await eventually(lambda: subscriber_count(publisher, "big") == 2,
                     what="the stalled subscribers gone")


@pytest.mark.asyncio
async def test_the_shared_initial_structure_follows_every_change(publish, subscribe):
    notifier = Notifier({"l": [], "d": {}})
    publisher = await publish({"s": notifier})
    counting = CountingInits(publisher)
    first = [await subscribe(publisher.port, "s") for _ in range(3)]
    assert counting.inits == 1
    notifier["l"].append(1)
    notifier["d"]["k"] = "v"
    second = [await subscribe(publisher.port, "s") for _ in range(3)]
    assert counting.inits == 2
    notifier.raw_view["l"].append(2)  # behind the notifier's back, then told:
    publisher.publish(notifier, {"action": "append", "path": ["l"], "x": 2})
    third = await subscribe(publisher.port, "s")
    assert counting.inits == 3
    assert third.target == {"l": [1, 2], "d": {"k": "v"}}
    notifier["sentinel"] = "done"
    for sub in first + second + [third]:
        await eventually(done(sub))
        assert sub.target == notifier.raw_view


@pytest.mark.asyncio
async def test_a_structure_that_cannot_be_encoded_is_not_shared(publish, subscribe, caplog):
    notifier = Notifier({"x": 1})
    publisher = await publish({"s": notifier})
    notifier.raw_view["bad"] = object()  # behind the notifier's back
    caplog.set_level(logging.ERROR, LOGGER)
    for _ in range(2):
        sock = await stalled_subscriber(publisher.port, "s")
        await eventually(lambda sock=sock: closed_by_peer(sock), what="hung up on")
        sock.close()
    errors = [r.getMessage() for r in caplog.records
              if r.name == LOGGER and r.levelno == logging.ERROR]
    assert len(errors) == 2 and all("cannot send notifier 's'" in m for m in errors)
    del notifier.raw_view["bad"]
    notifier["x"] = 2
    sub = await subscribe(publisher.port, "s")
    assert sub.target == {"x": 2}


class FakePeer:
    """A peer as SharedBacklog sees it, holding ``nbytes``."""

    def __init__(self, shared, nbytes: int = 0):
        self.shared = shared
        self.nbytes = nbytes
        self.counted = 0
        self.dropped = False
        shared.join(self)

    def held(self) -> int:
        return self.nbytes

    def drop_over_budget(self, total: int, limit: int) -> None:
        self.dropped = True
        self.nbytes = 0
        self.shared.leave(self)


def test_a_newcomer_is_spared_for_its_initial_structure():
    """Going over the budget with a newcomer's initial structure drops the
    others holding the most, not the newcomer (which holds the most as it
    arrives), unless it could never fit or the others hold nothing."""
    shared = SharedBacklog(100)
    stalled = [FakePeer(shared, 40), FakePeer(shared, 30), FakePeer(shared, 5)]
    for peer in stalled:
        shared.charge(peer, peer.nbytes)
    newcomer = FakePeer(shared, 50)
    shared.charge(newcomer, 50, spare=True)  # 125 > 100: the one holding 40 goes
    assert [p.dropped for p in stalled] == [True, False, False]
    assert not newcomer.dropped and shared.total == 85

    # unspared, the newcomer holding the most is the one dropped
    other = FakePeer(shared, 60)
    shared.charge(other, 60)
    assert other.dropped and shared.total == 85

    # a structure that can never fit makes nobody else go
    huge = FakePeer(shared, 150)
    shared.charge(huge, 150, spare=True)
    assert huge.dropped and shared.total == 85
    assert not any(p.dropped for p in stalled[1:]) and not newcomer.dropped

    # when the others hold nothing, the newcomer itself goes
    lone = SharedBacklog(10)
    idle = FakePeer(lone, 0)
    first = FakePeer(lone, 20)
    lone.charge(first, 20, spare=True)
    assert first.dropped and not idle.dropped and lone.total == 0
