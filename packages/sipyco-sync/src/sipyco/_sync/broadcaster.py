"""The broadcast Broadcaster: pushes PYON lines to every receiver of a
channel, each receiver through a queue of its own with a bound.

``broadcast()`` only encodes the value and appends the line to the queues;
each receiver's connection task moves its queue to the socket.  The caller
never waits for a receiver, never touches a socket, and nothing on that path
logs (ARTIQ broadcasts its own log records: a log call there would come
straight back).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from sipyco._bounds import (
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_MAX_BACKLOG_BYTES,
    DEFAULT_MAX_BUFFERED_BYTES,
    DEFAULT_MAX_CONNECTIONS,
    check_message_size,
    check_timeout,
)
from sipyco.asyncio_tools import AsyncioServer, peer_name

from .fanout import (
    SharedBacklog,
    as_line,
    read_request,
    resolve_pyon_version,
    text_writer,
    until_gone,
)

__all__ = ["Broadcaster", "HELLO", "DEFAULT_QUEUE_LIMIT"]

HELLO = b"ARTIQ broadcast\n"

logger = logging.getLogger("sipyco.broadcast")

#: Lines that may wait for one receiver (upstream's default).
DEFAULT_QUEUE_LIMIT = 1024


class _Outlet:
    """One receiver's queue.  Lines wait in :attr:`waiting` until its
    connection task takes them as a batch; a batch is *in flight* until the
    transport has handed all of it to the kernel.  Both count against the
    bounds: at most ``line_limit`` lines and ``byte_limit`` bytes (or one
    line, however long, when nothing else is held).  A line that does not
    fit is missed: counted in :attr:`missed`, nothing else.

    What it holds is also charged to the broadcaster's
    :class:`SharedBacklog`; when that drops it, it is disconnected and
    :attr:`dropped_because` says why (its connection task logs it: nothing
    on the path of ``broadcast()`` logs)."""

    __slots__ = ("waiting", "waiting_bytes", "flight_lines", "flight_bytes",
                 "line_limit", "byte_limit", "missed", "wake", "writer",
                 "shared", "counted", "dropped_because")

    def __init__(self, writer: asyncio.StreamWriter, line_limit: int, byte_limit: int,
                 shared: SharedBacklog):
        self.writer = writer
        self.line_limit = line_limit
        self.byte_limit = byte_limit
        self.waiting: deque[bytes] = deque()
        self.waiting_bytes = 0
        self.flight_lines = 0
        self.flight_bytes = 0
        self.missed = 0
        self.wake = asyncio.Event()
        self.shared = shared
        self.counted = 0
        self.dropped_because: str | None = None
        shared.join(self)

    @property
    def queued_lines(self) -> int:
        """Lines held for this receiver: waiting or in flight."""
        return len(self.waiting) + self.flight_lines

    @property
    def queued_bytes(self) -> int:
        """Bytes held for this receiver: waiting or in flight."""
        return self.waiting_bytes + self.flight_bytes

    def offer(self, line: bytes) -> None:
        """Queue ``line`` if it fits, else miss it.  Never blocks, never logs."""
        if self.dropped_because is not None:
            return
        held = len(self.waiting) + self.flight_lines
        if held >= self.line_limit or (
                held and self.waiting_bytes + self.flight_bytes + len(line) > self.byte_limit):
            self.missed += 1
            return
        self.waiting.append(line)
        self.waiting_bytes += len(line)
        self.wake.set()
        self.shared.charge(self, self.waiting_bytes + self.flight_bytes)

    def held(self) -> int:
        return self.waiting_bytes + self.flight_bytes

    def drop_over_budget(self, total: int, limit: int) -> None:
        """Disconnect (without logging: see the class)."""
        self.dropped_because = (f"receivers' queues total {total} bytes, over "
                                f"max_buffered_bytes={limit}, and this one held the most "
                                f"({self.counted} bytes)")
        self.waiting.clear()
        self.waiting_bytes = 0
        self.flight_bytes = 0
        self.flight_lines = 0
        self.writer.transport.abort()
        self.wake.set()
        self.shared.leave(self)

    def take(self) -> list[bytes]:
        """Every waiting line, now in flight."""
        batch = list(self.waiting)
        self.waiting.clear()
        self.flight_lines += len(batch)
        self.flight_bytes += self.waiting_bytes
        self.waiting_bytes = 0
        self.wake.clear()
        return batch

    def landed(self) -> None:
        """The batch in flight has reached the kernel."""
        self.flight_lines = 0
        self.flight_bytes = 0
        if self.dropped_because is None:
            self.shared.charge(self, self.waiting_bytes)

    async def pump(self) -> None:
        """Move batches to the socket until the connection fails or the
        task is cancelled."""
        writer = self.writer
        transport = writer.transport
        # drain() then returns only once the transport holds nothing: the
        # batch in flight is exactly what the transport still holds
        transport.set_write_buffer_limits(high=0)
        try:
            while True:
                await self.wake.wait()
                if transport.is_closing():
                    return
                writer.writelines(self.take())
                if transport.get_write_buffer_size():
                    await writer.drain()
                self.landed()
        except ConnectionError:
            return


class Broadcaster(AsyncioServer):
    """Pushes values to Receivers by channel name (start it with
    :meth:`~sipyco.asyncio_tools.AsyncioServer.start`).

    :meth:`broadcast` sends a value to every receiver connected on a
    channel, as one PYON line of version ``pyon_version`` (1: what sipyco
    1.8 receivers read; 2: JSON, as 1.10 broadcasters write; None, the
    default: the process default :data:`sipyco.pyon.DEFAULT_VERSION`, v1
    unless the environment variable ``SIPYCO_PYON_VERSION`` is ``2``).

    Each receiver has a queue of at most ``queue_limit`` lines and
    ``max_backlog_bytes`` bytes (one longer line passes when its queue is
    empty), counting what its socket has not yet taken; a receiver whose
    queue is full misses values, silently, and stays connected.  A slow
    receiver delays nobody else.  What waits for all receivers together is
    bounded by ``max_buffered_bytes``: past it, the receivers holding the
    most are disconnected (each logged as a warning, from its own connection
    task).  A peer must complete its handshake within ``handshake_timeout``
    seconds, or it is hung up on; at most ``max_connections`` are served at
    once (see :class:`~sipyco.asyncio_tools.AsyncioServer`).

    Raises ValueError for a bad ``pyon_version`` or limit.
    """

    def __init__(self, queue_limit: int = DEFAULT_QUEUE_LIMIT, *,
                 pyon_version: int | None = None,
                 handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
                 max_backlog_bytes: int = DEFAULT_MAX_BACKLOG_BYTES,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 max_buffered_bytes: int = DEFAULT_MAX_BUFFERED_BYTES):
        version = resolve_pyon_version(pyon_version)
        for limit, value in (("queue_limit", queue_limit),
                             ("max_backlog_bytes", max_backlog_bytes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{limit} must be a positive int, not {value!r}")
        check_timeout(handshake_timeout, "handshake_timeout", allow_none=False)
        check_message_size(max_buffered_bytes, "max_buffered_bytes")
        super().__init__(max_connections=max_connections)
        self._shared = SharedBacklog(max_buffered_bytes)
        #: The PYON version written to receivers (1 or 2).
        self.pyon_version = version
        self.queue_limit = queue_limit
        self.max_backlog_bytes = max_backlog_bytes
        self.handshake_timeout = handshake_timeout
        self._encode_text = text_writer(version)
        self._channels: dict[str, set[_Outlet]] = {}

    @property
    def max_buffered_bytes(self) -> int:
        """The bound on bytes waiting for all receivers together."""
        return self._shared.limit

    @property
    def buffered_bytes(self) -> int:
        """Bytes waiting for all receivers together, now."""
        return self._shared.total

    def broadcast(self, name: str, obj: Any) -> None:
        """Queue ``obj`` to every receiver of channel ``name`` (nobody
        listening: nothing happens, ``obj`` is not even encoded).

        Synchronous: it never waits for a receiver and never logs.  Call it
        from the thread running the event loop.  Raises
        :class:`~sipyco.errors.EncodeError` (a ``TypeError``) for a value
        PYON cannot write, when someone listens.
        """
        outlets = self._channels.get(name)
        if not outlets:
            return
        line = as_line(self._encode_text(obj))
        for outlet in outlets:
            outlet.offer(line)

    async def _handle_connection_cr(self, reader: asyncio.StreamReader,
                                    writer: asyncio.StreamWriter) -> None:
        name = await read_request(reader, writer, HELLO, self.handshake_timeout, logger)
        if name is None:
            return
        outlet = _Outlet(writer, self.queue_limit, self.max_backlog_bytes, self._shared)
        channel = self._channels.setdefault(name, set())
        channel.add(outlet)
        pump = asyncio.ensure_future(outlet.pump())
        gone = asyncio.ensure_future(until_gone(reader, writer))
        try:
            await asyncio.wait([pump, gone], return_when=asyncio.FIRST_COMPLETED)
        finally:
            channel.discard(outlet)
            self._shared.leave(outlet)
            if not channel and self._channels.get(name) is channel:
                del self._channels[name]
            pump.cancel()
            gone.cancel()
            await asyncio.gather(pump, gone, return_exceptions=True)
            if outlet.dropped_because is not None:
                logger.warning("dropped receiver %s of channel %r: %s", peer_name(writer),
                               name[:80], outlet.dropped_because)
