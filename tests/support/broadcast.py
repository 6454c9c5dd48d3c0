"""Helpers of the broadcast tests: one object that starts Broadcasters,
Receivers and bare TCP receivers for a test and tears them all down, a
recorder of received values, and the few looks inside a Broadcaster the
tests need (how many receivers a channel has, what is queued for each).
Bounded waiting is :mod:`support.net`'s."""

from __future__ import annotations

import asyncio
import socket

from sipyco.broadcast import Broadcaster, Receiver
from support.net import eventually, within

__all__ = ["HELLO", "BroadcastPeers", "Values", "outlets", "receiver_count"]

HELLO = b"ARTIQ broadcast\n"


def outlets(broadcaster: Broadcaster, name: str) -> list:
    """The per-receiver queues of channel ``name`` (private state, read in
    this one place)."""
    return list(broadcaster._channels.get(name, ()))


def receiver_count(broadcaster: Broadcaster, name: str) -> int:
    return len(outlets(broadcaster, name))


class Values:
    """A notify_cb keeping every value it is given."""

    def __init__(self):
        self.values: list = []

    def __call__(self, value) -> None:
        self.values.append(value)

    def __len__(self) -> int:
        return len(self.values)


class BroadcastPeers:
    """Everything one test starts; :meth:`aclose` stops it all."""

    def __init__(self):
        self._broadcasters: list[Broadcaster] = []
        self._receivers: list[Receiver] = []
        self._writers: list[asyncio.StreamWriter] = []
        self._sockets: list[socket.socket] = []

    async def broadcaster(self, *args, **options) -> Broadcaster:
        """A Broadcaster listening on 127.0.0.1 (a free port, see ``.port``)."""
        broadcaster = Broadcaster(*args, **options)
        await broadcaster.start("127.0.0.1", 0)
        self._broadcasters.append(broadcaster)
        return broadcaster

    async def receiver(self, broadcaster_or_port, name: str, notify_cb=None,
                       disconnect_cb=None, **options) -> Receiver:
        """A connected Receiver; given a Broadcaster, also waits until the
        broadcaster has taken it into channel ``name``."""
        receiver = Receiver(name, notify_cb if notify_cb is not None else Values(),
                            disconnect_cb, **options)
        await self.connect(receiver, broadcaster_or_port)
        return receiver

    async def connect(self, receiver: Receiver, broadcaster_or_port) -> None:
        """Connect ``receiver`` (again), as :meth:`receiver` does."""
        if receiver not in self._receivers:
            self._receivers.append(receiver)
        await self._joined(broadcaster_or_port, receiver.name,
                           lambda port: within(receiver.connect("127.0.0.1", port)))

    async def raw(self, broadcaster_or_port, name: str | None = None):
        """(reader, writer) of a bare connection that has sent the handshake
        for ``name`` (None: nothing sent)."""
        port = _port(broadcaster_or_port)
        reader, writer = await within(asyncio.open_connection("127.0.0.1", port))
        self._writers.append(writer)
        if name is not None:
            await self._joined(broadcaster_or_port, name,
                               lambda port: _send(writer, HELLO + name.encode() + b"\n"))
        return reader, writer

    async def stalled(self, broadcaster: Broadcaster, name: str,
                      rcvbuf: int = 4096, sndbuf: int = 4096) -> socket.socket:
        """A connected socket with a small receive buffer that has asked for
        ``name`` and that nobody reads (hand it to :meth:`attach` to read);
        the broadcaster's end of it gets a small send buffer."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sockets.append(sock)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        await within(loop.sock_connect(sock, ("127.0.0.1", broadcaster.port)))
        outlet = await self._joined(
            broadcaster, name, lambda port: loop.sock_sendall(sock, HELLO + name.encode() + b"\n"))
        # a small send buffer on the broadcaster's side too: the kernel soon stops taking bytes
        outlet.writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF,
                                                          sndbuf)
        return sock

    async def attach(self, sock: socket.socket):
        """Start reading a socket made by :meth:`stalled`: (reader, writer)."""
        reader, writer = await asyncio.open_connection(sock=sock)
        self._writers.append(writer)
        return reader, writer

    async def _joined(self, broadcaster_or_port, name, connect):
        """Run ``connect(port)``; given a Broadcaster, wait until it has taken
        the new receiver into ``name`` and return that receiver's queue."""
        if not isinstance(broadcaster_or_port, Broadcaster):
            await connect(broadcaster_or_port)
            return None
        broadcaster = broadcaster_or_port
        before = set(outlets(broadcaster, name))  # held, so no new one can take an old id
        await connect(broadcaster.port)
        new = []

        def joined():
            new[:] = [o for o in outlets(broadcaster, name) if o not in before]
            return bool(new)

        await eventually(joined, what=f"the broadcaster took a receiver into {name!r}")
        return new[0]

    async def aclose(self) -> None:
        for receiver in self._receivers:
            await receiver.close()
        for writer in self._writers:
            writer.transport.abort()
        for sock in self._sockets:
            if sock.fileno() >= 0:
                sock.close()
        for broadcaster in self._broadcasters:
            await broadcaster.stop()


def _port(broadcaster_or_port) -> int:
    if isinstance(broadcaster_or_port, Broadcaster):
        return broadcaster_or_port.port
    return broadcaster_or_port


async def _send(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    await writer.drain()
