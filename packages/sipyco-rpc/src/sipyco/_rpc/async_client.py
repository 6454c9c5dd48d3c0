"""The asyncio pc_rpc client, pipelining calls from many tasks.

A driver of :class:`~.connection.ClientConnection`: it moves bytes between
the connection object and an asyncio stream and applies deadlines.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sipyco._bounds import DEFAULT_MAX_MESSAGE_SIZE
from sipyco._streams import READ_CHUNK
from sipyco.errors import (
    CallTimeout,
    ConnectionClosed,
    HandshakeTimeout,
    ServerUnreachable,
    TransportError,
)

from .connection import NEED_DATA, ClientConnection, Reply
from .facade import ClientFacade, handshake_deadline
from .protocol import AutoTarget

__all__ = ["AsyncioClient"]

logger = logging.getLogger("sipyco.pc_rpc")

# Past this many unsent bytes a caller waits for the socket to drain.
_WRITE_HIGH_WATER = 1 << 20


class _Done:
    """What :meth:`AsyncioClient.close_rpc` returns: the work is already done,
    and awaiting it (as code written for upstream 1.10 does) is harmless."""

    __slots__ = ()

    def __await__(self):
        return iter(())


class AsyncioClient(ClientFacade):
    """The asyncio counterpart of :class:`~sipyco.pc_rpc.Client`: remote
    methods are coroutines.

    Calls from many tasks share one connection without waiting for each
    other: each request is sent at once and replies, which the server sends
    in order, are matched to callers in order.  Cancelling a caller discards
    its reply when it arrives, so no other caller ever gets it.  With
    ``timeout``, a call not answered in time raises CallTimeout and closes the
    connection (failing the calls still waiting with ConnectionClosed).
    ``handshake_timeout`` bounds connecting and the handshake (default:
    ``timeout`` if given, else 10 s).
    """

    def __init__(self, *, timeout: float | None = None,
                 handshake_timeout: float | None = None,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE):
        self._handshake_timeout = handshake_deadline(handshake_timeout, timeout)
        self._timeout = timeout
        self._max_message_size = max_message_size
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._receiver: asyncio.Task | None = None
        self._drain_lock = asyncio.Lock()
        self._peer = ""

    async def connect_rpc(self, host: str, port: int, target_name: Any = AutoTarget) -> None:
        """Connect, and select ``target_name`` unless it is None."""
        if self._writer is not None:
            raise RuntimeError("already connected")
        self._conn = conn = ClientConnection(max_message_size=self._max_message_size)
        self._peer = f"{host}:{port}"
        handshake = self._handshake_timeout
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(host, port), handshake)
        except asyncio.TimeoutError:
            conn.close("connecting timed out")
            raise HandshakeTimeout(f"connecting to {host}:{port}", handshake) from None
        except OSError as exc:
            conn.close("nobody accepted the connection")
            raise ServerUnreachable(f"cannot connect to {host}:{port}: {exc}") from exc
        self._local_host = self._writer.get_extra_info("sockname")[0]
        try:
            self._writer.write(conn.initiate())
            await self._handshake_step()
            target_name = conn.resolve_target(target_name)
            if target_name is not None:
                await self.select_rpc_target(target_name)
        except BaseException:
            self._shutdown("the handshake failed")
            raise

    async def _handshake_step(self):
        """The next event of the handshake, within ``handshake_timeout``; on
        any failure the connection is closed."""
        try:
            return await asyncio.wait_for(self._next_event(), self._handshake_timeout)
        except asyncio.TimeoutError:
            error = HandshakeTimeout(f"the handshake with {self._peer}",
                                     self._handshake_timeout)
            self._shutdown(str(error))
            raise error from None
        except BaseException as exc:
            self._shutdown(f"the handshake failed: {exc!r}")
            raise

    async def _next_event(self):
        while (event := self._conn.next_event()) is NEED_DATA:
            try:
                data = await self._reader.read(READ_CHUNK)
            except OSError as exc:
                raise ConnectionClosed(f"connection failed: {exc}") from exc
            self._conn.receive_data(data)
        return event

    async def select_rpc_target(self, target_name: str) -> None:
        """Select a target by name (once, after ``connect_rpc(..., None)``)."""
        line = self._connection().select(target_name)  # the caller's mistakes raise here
        self._writer.write(line)
        await self._handshake_step()
        self._receiver = asyncio.ensure_future(self._receive())

    async def get_rpc_method_list(self) -> dict:
        """``{"docstring": ..., "methods": {name: (argspec, docstring)}}``."""
        return await self._request(self._connection().method_list_request)

    def close_rpc(self) -> _Done:
        """Close the connection.  Works called plainly or awaited."""
        self._shutdown("close_rpc() was called")
        return _Done()

    def _shutdown(self, why: str, error: BaseException | None = None) -> None:
        """Close everything; calls still waiting get ``error`` (the first of
        them) or ConnectionClosed."""
        conn = self._conn
        abandoned = []
        if conn is not None:
            conn.close(why)
            abandoned = conn.abandon()
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
        receiver, self._receiver = self._receiver, None
        if receiver is not None and receiver is not _current_task():
            receiver.cancel()
        for fut in abandoned:
            if not fut.done():
                if error is None:
                    error = ConnectionClosed(f"connection is closed ({conn.closed_because})")
                fut.set_exception(error)
                error = None

    async def _receive(self) -> None:
        # _next_event's loop, inlined: this runs once per reply
        conn = self._conn
        reader = self._reader
        try:
            while True:
                event = conn.next_event()
                if event is NEED_DATA:
                    try:
                        data = await reader.read(READ_CHUNK)
                    except OSError as exc:
                        raise ConnectionClosed(f"connection failed: {exc}") from exc
                    conn.receive_data(data)
                    continue
                fut = event.tag
                if not fut.done():  # a cancelled caller's reply is simply dropped
                    fut.set_result(event)
        except TransportError as exc:
            self._shutdown(str(exc), exc)

    async def _request(self, make_line: Callable[..., bytes], *args: Any) -> Any:
        fut = asyncio.get_running_loop().create_future()
        writer = self._writer
        line = make_line(*args, fut)  # the caller's mistakes raise here, nothing is sent
        writer.write(line)
        if writer.transport.get_write_buffer_size() > _WRITE_HIGH_WATER:
            async with self._drain_lock:
                try:
                    await writer.drain()
                except (ConnectionError, OSError) as exc:
                    self._shutdown(f"connection failed: {exc}")
        if self._timeout is None:
            reply: Reply = await fut
        else:
            try:
                reply = await asyncio.wait_for(fut, self._timeout)
            except asyncio.TimeoutError:
                error = CallTimeout(f"no reply within {self._timeout} s; "
                                    "the connection was closed")
                self._shutdown(str(error))
                raise error from None
        return reply.unwrap()

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        request = self._request

        async def remote_method(*args, **kwargs):
            conn = self._conn
            if conn is None:
                raise ConnectionClosed("not connected")
            return await request(conn.call, name, args, kwargs)
        remote_method.__name__ = name
        return remote_method


def _current_task():
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None
