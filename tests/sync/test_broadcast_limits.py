"""sipyco.broadcast under pressure: a stalled receiver misses values without
holding up broadcast() or the other receivers, and what is kept for it stays
within the bounds; broadcast() never logs; peers that get the handshake
wrong are hung up on."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct

import pytest
import pytest_asyncio
from support.broadcast import HELLO, BroadcastPeers, Values, outlets, receiver_count
from support.net import eventually, within

from sipyco import pyon
from sipyco._bounds import HANDSHAKE_LINE_LIMIT


@pytest_asyncio.fixture
async def peers():
    started = BroadcastPeers()
    yield started
    await started.aclose()


def assert_within_bounds(broadcaster, name):
    for outlet in outlets(broadcaster, name):
        assert outlet.queued_lines <= broadcaster.queue_limit
        assert outlet.queued_bytes <= broadcaster.max_backlog_bytes
        # what the transport holds is part of what is counted
        assert outlet.writer.transport.get_write_buffer_size() <= outlet.queued_bytes


async def read_until(reader, last: bytes) -> list[bytes]:
    lines = []
    while not lines or lines[-1] != last:
        lines.append(await within(reader.readline()))
    return lines


@pytest.mark.asyncio
async def test_a_stalled_receiver_misses_values_and_holds_up_nobody(peers):
    broadcaster = await peers.broadcaster(8)
    fast = Values()
    await peers.receiver(broadcaster, "ch", fast)
    stalled = await peers.stalled(broadcaster, "ch")
    payload = "x" * 20000
    count = 300
    for i in range(count):
        broadcaster.broadcast("ch", (i, payload))  # returns at once, stalled receiver or not
        assert_within_bounds(broadcaster, "ch")
        await eventually(lambda i=i: len(fast) == i + 1)
        assert_within_bounds(broadcaster, "ch")
    assert [v[0] for v in fast.values] == list(range(count))
    stuck = [o for o in outlets(broadcaster, "ch") if o.missed]
    assert len(stuck) == 1
    assert stuck[0].queued_lines == broadcaster.queue_limit
    # it stayed connected: once it reads, it gets what was kept, then new values
    reader, _ = await peers.attach(stalled)
    reading = asyncio.ensure_future(read_until(reader, b'"end"\n'))
    await eventually(lambda: stuck[0].queued_lines == 0)
    broadcaster.broadcast("ch", "end")
    lines = await within(reading)
    seen = [pyon.decode(line) for line in lines[:-1]]
    assert all(value == (value[0], payload) for value in seen)
    numbers = [value[0] for value in seen]
    assert numbers == sorted(set(numbers))           # in order, none twice
    assert len(numbers) + stuck[0].missed == count  # each value either arrived or was missed
    assert stuck[0].missed > 0


@pytest.mark.asyncio
async def test_the_bytes_kept_for_a_receiver_are_bounded_too(peers):
    limit = 64 * 1024
    broadcaster = await peers.broadcaster(10**6, max_backlog_bytes=limit)
    fast = Values()
    await peers.receiver(broadcaster, "ch", fast)
    await peers.stalled(broadcaster, "ch")
    for i in range(200):
        broadcaster.broadcast("ch", (i, "y" * 5000))
        assert_within_bounds(broadcaster, "ch")
        await eventually(lambda i=i: len(fast) == i + 1)
    assert sum(o.missed for o in outlets(broadcaster, "ch")) > 0
    # a single value over the byte bound still reaches a receiver that keeps up
    big = "z" * (4 * limit)
    broadcaster.broadcast("ch", big)
    await eventually(lambda: len(fast) == 201)
    assert fast.values[-1] == big


@pytest.mark.asyncio
async def test_broadcast_never_logs(peers):
    """Whatever the receivers do (keep up, stall, vanish, half-close, never
    finish the handshake), no log record is emitted from inside broadcast():
    ARTIQ broadcasts its own log records."""
    loop = asyncio.get_running_loop()
    loop.set_debug(True)  # asyncio is at its chattiest
    broadcaster = await peers.broadcaster(4)
    got = Values()
    await peers.receiver(broadcaster, "ch", got)
    await peers.stalled(broadcaster, "ch")
    await peers.stalled(broadcaster, "ch")
    _, half_closed = await peers.raw(broadcaster, "ch")
    half_closed.write_eof()
    for _ in range(3):  # receivers that vanish: reset, closed
        _, gone = await peers.raw(broadcaster, "ch")
        gone.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        gone.transport.abort()
    closing = await peers.receiver(broadcaster, "ch")
    await peers.raw(broadcaster)  # connected, no handshake

    emitted_inside = []
    inside = False

    class Spy(logging.Handler):
        def emit(self, record):
            if inside:
                emitted_inside.append(record)

    root = logging.getLogger()
    spy = Spy(logging.DEBUG)
    old_level = root.level
    root.addHandler(spy)
    root.setLevel(logging.DEBUG)
    try:
        for i in range(400):
            if i == 100:
                await closing.close()
            inside = True
            try:
                broadcaster.broadcast("ch", {"i": i, "pad": "p" * 3000})
                broadcaster.broadcast("nobody", i)
            finally:
                inside = False
            if i % 10 == 0:
                await asyncio.sleep(0)
        # the receiver that keeps up got values all along (with queue_limit=4
        # it may have missed some of each burst too)
        await eventually(lambda: broadcaster.broadcast("ch", "end") or "end" in got.values)
    finally:
        root.removeHandler(spy)
        root.setLevel(old_level)
        loop.set_debug(False)
    assert emitted_inside == []
    numbers = [v["i"] for v in got.values if v != "end"]
    assert numbers and numbers == sorted(set(numbers))
    # the ones that vanished were forgotten along the way; the stalled ones missed values
    assert receiver_count(broadcaster, "ch") <= 4
    assert sum(o.missed for o in outlets(broadcaster, "ch")) > 0


@pytest.mark.asyncio
async def test_broadcasting_log_records_from_a_logging_handler(peers):
    """The ARTIQ pattern: a logging handler broadcasts every record.  Nothing
    in broadcast() comes back into the handler."""
    broadcaster = await peers.broadcaster()
    got = Values()
    await peers.receiver(broadcaster, "log", got)
    await peers.stalled(broadcaster, "log")
    depth = 0
    deepest = 0

    class BroadcastHandler(logging.Handler):
        def emit(self, record):
            nonlocal depth, deepest
            depth += 1
            deepest = max(deepest, depth)
            try:
                broadcaster.broadcast("log", (record.levelname, record.getMessage()))
            finally:
                depth -= 1

    root = logging.getLogger()
    handler = BroadcastHandler(logging.DEBUG)
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        logger = logging.getLogger("experiment")
        for i in range(50):
            logger.info("step %d", i)
            await asyncio.sleep(0)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    await eventually(lambda: ("INFO", "step 49") in got.values)
    assert deepest == 1
    assert [v for v in got.values if v[1].startswith("step")] == \
        [("INFO", f"step {i}") for i in range(50)]


async def hung_up(reader, writer, keep_sending: bytes = b"") -> None:
    """Wait until the broadcaster closes the connection (optionally while
    sending ``keep_sending`` over and over)."""
    async def drain_until_end():
        try:
            while await reader.read(65536):
                pass
        except ConnectionError:
            pass

    ended = asyncio.ensure_future(drain_until_end())
    try:
        while keep_sending and not ended.done():
            try:
                writer.write(keep_sending)
                await writer.drain()
            except ConnectionError:
                break
        await within(ended)
    finally:
        ended.cancel()


@pytest.mark.parametrize("opening", [
    b"ARTIQ sync_struct\nch\n",
    b"artiq broadcast\nch\n",
    b"ARTIQ broadcast \nch\n",
    b"\n",
], ids=["other-protocol", "lower-case", "trailing-space", "empty-line"])
@pytest.mark.asyncio
async def test_a_wrong_banner_is_hung_up_on(peers, opening):
    broadcaster = await peers.broadcaster()
    reader, writer = await peers.raw(broadcaster)
    writer.write(opening)
    await writer.drain()
    await hung_up(reader, writer)
    assert broadcaster._channels == {}


@pytest.mark.parametrize("before", [b"", HELLO], ids=["banner", "channel-name"])
@pytest.mark.asyncio
async def test_an_overlong_handshake_line_is_hung_up_on_before_it_ends(peers, before):
    broadcaster = await peers.broadcaster()
    reader, writer = await peers.raw(broadcaster)
    writer.write(before + b"a" * (HANDSHAKE_LINE_LIMIT + 1))
    await writer.drain()
    # the line never ends: the broadcaster does not wait for its end
    await hung_up(reader, writer, keep_sending=b"a" * 65536)
    assert broadcaster._channels == {}


@pytest.mark.parametrize("sent", [b"", HELLO, HELLO + b"no newline"],
                         ids=["nothing", "banner-only", "unfinished-name"])
@pytest.mark.asyncio
async def test_a_silent_peer_is_hung_up_on_after_the_handshake_timeout(peers, sent):
    broadcaster = await peers.broadcaster(handshake_timeout=0.2)
    reader, writer = await peers.raw(broadcaster)
    writer.write(sent)
    await writer.drain()
    await hung_up(reader, writer)
    assert broadcaster._channels == {}


@pytest.mark.asyncio
async def test_a_receiver_after_the_handshake_has_no_time_limit(peers):
    broadcaster = await peers.broadcaster(handshake_timeout=0.05)
    got = Values()
    await peers.receiver(broadcaster, "ch", got)
    await asyncio.sleep(0.2)  # several handshake timeouts: it must still be served
    broadcaster.broadcast("ch", 1)
    await eventually(lambda: got.values == [1])
