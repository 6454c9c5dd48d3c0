"""Hardening item 1: peers that never complete the opening exchange (silent,
or sending one byte at a time) neither stop a legitimate peer from being
served nor stay connected past ``handshake_timeout``; every descriptor is
released afterwards.  For each of the four servers."""

from __future__ import annotations

import asyncio

import pytest
from support.net import eventually

IDLE = 120      # peers that send nothing
TRICKLING = 80  # peers that send a byte now and then, never a whole line
DEADLINE = 2.0  # handshake_timeout: long enough to be served while they wait


@pytest.mark.asyncio
async def test_idle_peers_do_not_stop_a_legitimate_one_and_are_closed(kind, peers):
    fds_before = peers.open_fds()
    server = await kind.start(handshake_timeout=DEADLINE)
    stop = asyncio.Event()
    try:
        idle = [await peers.idle(server.port) for _ in range(IDLE)]
        trickling = [await peers.trickling(server.port, stop) for _ in range(TRICKLING)]
        await eventually(lambda: len(server._connections) >= IDLE + TRICKLING,
                         what="the server has taken every peer")

        await kind.legit(server)  # served while they all wait
        # (the deadline is far from over: they were all still connected)
        still_there = sum(not reader.at_eof() for reader, _ in idle)

        for reader, _ in idle:
            assert await peers.ended(reader)
        for reader, _, _ in trickling:
            assert await peers.ended(reader)
        # (a publisher or broadcaster notices that the legitimate peer, which
        # has closed, is gone only when it next writes to it: that one may stay)
        await eventually(lambda: len(server._connections) <= 1,
                         what="every idle peer's connection ended")
        assert still_there > 0

        await kind.legit(server)  # and served after they have gone
    finally:
        stop.set()
        for _, writer in idle:
            writer.close()
        for _, writer, task in trickling:
            task.cancel()
            writer.close()
        await asyncio.gather(*(task for _, _, task in trickling), return_exceptions=True)
        await server.stop()
    await eventually(lambda: peers.open_fds() <= fds_before, what="every descriptor released")
