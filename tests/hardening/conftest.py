"""Fixtures of the hardening tests.

``kind``: each of the four kinds of SiPyCo server in turn, for the tests
that must hold for every one of them (handshake deadline, connection cap):
how to start one on 127.0.0.1 with given limits (``await kind.start(...)``)
and how to check that a legitimate peer is served (``await
kind.legit(server)``).  ``peers``: misbehaving connections (idle,
byte-at-a-time), waiting for the server to close one, and the count of this
process's open descriptors."""

from __future__ import annotations

import asyncio
import logging
import os
import types

import pytest
from support.net import eventually, within

from sipyco.broadcast import Broadcaster, Receiver
from sipyco.logging_tools import Server as LogServer
from sipyco.pc_rpc import AsyncioClient, Server
from sipyco.sync_struct import Notifier, Publisher, Subscriber


class Echo:
    def echo(self, value):
        return value


def open_fds() -> int:
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


class _Kind:
    name = ""

    async def start(self, **limits):
        raise NotImplementedError

    async def legit(self, server) -> None:
        """Raise unless a well-behaved peer is served now."""
        raise NotImplementedError


class _Rpc(_Kind):
    name = "pc_rpc"

    async def start(self, **limits):
        server = Server({"echo": Echo()}, **limits)
        await server.start("127.0.0.1", 0)
        return server

    async def legit(self, server) -> None:
        client = AsyncioClient()
        await within(client.connect_rpc("127.0.0.1", server.port, "echo"))
        try:
            assert await within(client.echo([1, "two"])) == [1, "two"]
        finally:
            await client.close_rpc()


class _Publisher(_Kind):
    name = "sync_struct"

    async def start(self, **limits):
        self.notifier = Notifier({"value": 0})
        server = Publisher({"state": self.notifier}, **limits)
        await server.start("127.0.0.1", 0)
        return server

    async def legit(self, server) -> None:
        subscriber = Subscriber("state", lambda struct: struct)
        await within(subscriber.connect("127.0.0.1", server.port))
        try:
            self.notifier["value"] = self.notifier.raw_view["value"] + 1
            want = self.notifier.raw_view["value"]
            await eventually(lambda: subscriber.target["value"] == want)
        finally:
            await subscriber.close()


class _Broadcaster(_Kind):
    name = "broadcast"

    async def start(self, **limits):
        server = Broadcaster(**limits)
        await server.start("127.0.0.1", 0)
        return server

    async def legit(self, server) -> None:
        got = []
        receiver = Receiver("news", got.append)
        before = set(server._channels.get("news", ()))
        await within(receiver.connect("127.0.0.1", server.port))
        try:
            await eventually(lambda: set(server._channels.get("news", ())) - before,
                             what="the broadcaster took the receiver")
            server.broadcast("news", "hello")
            await eventually(lambda: got == ["hello"])
        finally:
            await receiver.close()


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(level=1)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


class _Logging(_Kind):
    name = "logging"

    async def start(self, **limits):
        server = LogServer(**limits)
        await server.start("127.0.0.1", 0)
        return server

    async def legit(self, server) -> None:
        log = logging.getLogger("hardening.legit")
        collect = _Collect()
        log.addHandler(collect)
        log.setLevel(logging.INFO)
        log.propagate = False
        reader, writer = await within(asyncio.open_connection("127.0.0.1", server.port))
        try:
            writer.write(b"ARTIQ logging\nsrc:INFO:hardening.legit:served\n")
            await within(writer.drain())
            await eventually(lambda: collect.messages == ["served"])
        finally:
            log.removeHandler(collect)
            writer.close()


KINDS = [_Rpc, _Publisher, _Broadcaster, _Logging]


async def idle_peer(port: int):
    """A connection that sends nothing: (reader, writer)."""
    return await within(asyncio.open_connection("127.0.0.1", port))


async def trickling_peer(port: int, stop: asyncio.Event, pause: float = 0.05):
    """A connection that sends one byte at a time, never a newline, until the
    server closes it or ``stop`` is set: (reader, writer, task)."""
    reader, writer = await within(asyncio.open_connection("127.0.0.1", port))

    async def trickle():
        try:
            while not stop.is_set():
                writer.write(b"A")
                await writer.drain()
                await asyncio.sleep(pause)
        except (ConnectionError, OSError):
            pass

    return reader, writer, asyncio.ensure_future(trickle())


async def ended(reader: asyncio.StreamReader) -> bool:
    """Read until the server has closed the connection (True), whatever it
    sent before; fails the test if it stays open (see support.net.LIMIT)."""
    async def drain():
        try:
            while await reader.read(65536):
                pass
        except (ConnectionError, OSError):
            pass
        return True

    return await within(drain())


@pytest.fixture(params=KINDS, ids=lambda k: k.name)
def kind(request):
    """One of the four kinds of server (see the module documentation)."""
    return request.param()


@pytest.fixture
def peers():
    """The helpers for misbehaving peers, as one namespace."""
    return types.SimpleNamespace(idle=idle_peer, trickling=trickling_peer, ended=ended,
                                 open_fds=open_fds, Echo=Echo)
