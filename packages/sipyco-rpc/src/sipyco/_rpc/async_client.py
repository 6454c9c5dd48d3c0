"""The asyncio pc_rpc client, pipelining calls from many tasks."""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import Any

from sipyco._streams import LineTooLong, read_line, set_buffer_limit
from sipyco.errors import (
    CallTimeout,
    ConnectionClosed,
    DecodeError,
    IncompatibleServer,
    MessageTooLarge,
    ProtocolViolation,
    ServerUnreachable,
)

from . import protocol as p
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


class AsyncioClient:
    """The asyncio counterpart of :class:`~sipyco.pc_rpc.Client`: remote
    methods are coroutines.

    Calls from many tasks share one connection without waiting for each
    other: each request is sent at once and replies, which the server sends
    in order, are matched to callers in order.  Cancelling a caller discards
    its reply when it arrives, so no other caller ever gets it.  With
    ``timeout``, a call not answered in time raises CallTimeout and closes the
    connection (failing the calls still waiting with ConnectionClosed).
    """

    def __init__(self, *, timeout: float | None = None,
                 max_message_size: int = p.DEFAULT_MAX_MESSAGE_SIZE):
        if timeout is not None and not timeout > 0:
            raise ValueError("timeout must be a positive number of seconds or None")
        self.__timeout = timeout
        self.__max = max_message_size
        self.__reader: asyncio.StreamReader | None = None
        self.__writer: asyncio.StreamWriter | None = None
        self.__ident: p.Identification | None = None
        self.__selected: str | None = None
        self.__codec = p.V1
        self.__pending: collections.deque = collections.deque()
        self.__receiver: asyncio.Task | None = None
        self.__closed_because: str | None = "not connected"
        self.__drain_lock = asyncio.Lock()

    async def connect_rpc(self, host: str, port: int, target_name: Any = AutoTarget) -> None:
        """Connect, and select ``target_name`` unless it is None."""
        if self.__writer is not None:
            raise RuntimeError("already connected")
        try:
            opening = asyncio.open_connection(host, port, limit=p.HANDSHAKE_LINE_LIMIT)
            if self.__timeout is not None:
                opening = asyncio.wait_for(opening, self.__timeout)
            self.__reader, self.__writer = await opening
        except asyncio.TimeoutError:
            raise CallTimeout(f"connecting to {host}:{port} timed out") from None
        except OSError as exc:
            raise ServerUnreachable(f"cannot connect to {host}:{port}: {exc}") from exc
        self.__closed_because = None
        try:
            self.__writer.write(p.HELLO)
            line = await self.__handshake_read(p.HANDSHAKE_LINE_LIMIT)
            self.__ident = ident = p.parse_identification(line)
            target_name = p.resolve_target(ident, target_name)
            if target_name is not None:
                await self.select_rpc_target(target_name)
        except BaseException:
            self.close_rpc()
            raise

    async def __handshake_read(self, limit: int) -> bytes:
        reading = read_line(self.__reader, limit)
        if self.__timeout is not None:
            reading = asyncio.wait_for(reading, self.__timeout)
        try:
            line = await reading
        except asyncio.TimeoutError:
            raise CallTimeout("the server did not complete the handshake in time") from None
        except LineTooLong:
            raise ProtocolViolation("handshake line too long") from None
        except (asyncio.IncompleteReadError, OSError) as exc:
            raise ConnectionClosed(f"connection lost during the handshake: {exc}") from None
        if not line:
            raise ConnectionClosed("the server closed the connection during the handshake")
        return line

    async def select_rpc_target(self, target_name: str) -> None:
        """Select a target by name (once, after ``connect_rpc(..., None)``)."""
        if self.__ident is None:
            raise ConnectionClosed("not connected")
        line, codec = p.select(self.__ident, self.__selected, target_name)
        self.__writer.write(line)
        set_buffer_limit(self.__reader, self.__max + 1)
        try:
            codec.decode(await self.__handshake_read(self.__max + 1))
        except DecodeError as exc:
            raise ProtocolViolation(f"server sent a malformed method list: {exc}") from None
        self.__codec = codec
        self.__selected = target_name
        self.__receiver = asyncio.ensure_future(self.__receive())

    def get_selected_target(self) -> str | None:
        return self.__selected

    def get_rpc_id(self) -> tuple[list[str], str | None]:
        if self.__ident is None:
            raise ConnectionClosed("not connected")
        return list(self.__ident.targets), self.__ident.description

    def get_local_host(self) -> str:
        if self.__writer is None:
            raise ConnectionClosed("not connected")
        return self.__writer.get_extra_info("sockname")[0]

    async def get_rpc_method_list(self) -> dict:
        return await self.__do_rpc(p.METHOD_LIST_REQUEST)

    def close_rpc(self) -> _Done:
        """Close the connection.  Works called plainly or awaited."""
        self.__shutdown("close_rpc() was called")
        return _Done()

    def __shutdown(self, why: str, error: BaseException | None = None) -> None:
        if self.__closed_because is None:
            self.__closed_because = why
        writer, self.__writer = self.__writer, None
        if writer is not None:
            writer.close()
        receiver, self.__receiver = self.__receiver, None
        if receiver is not None and receiver is not _current_task():
            receiver.cancel()
        pending, self.__pending = self.__pending, collections.deque()
        for fut in pending:
            if not fut.done():
                fut.set_exception(error if error is not None else ConnectionClosed(
                    f"connection closed before the reply arrived ({why})"))

    async def __receive(self) -> None:
        reader = self.__reader
        codec = self.__codec
        pending = self.__pending
        while True:
            try:
                line = await read_line(reader, self.__max + 1)
            except LineTooLong as exc:
                outcome = (False, MessageTooLarge(
                    f"reply of at least {exc.size} bytes exceeds this client's "
                    f"max_message_size={self.__max}", self.__max, exc.size))
            except (asyncio.IncompleteReadError, OSError) as exc:
                self.__shutdown(f"connection lost: {exc}")
                return
            else:
                if not line:
                    self.__shutdown("the server closed the connection")
                    return
                if len(line) > self.__max:
                    outcome = (False, MessageTooLarge(
                        f"reply of {len(line)} bytes exceeds this client's "
                        f"max_message_size={self.__max}", self.__max, len(line)))
                else:
                    try:
                        outcome = p.reply_outcome(codec.decode(line))
                    except (DecodeError, ProtocolViolation) as exc:
                        self.__shutdown("the server sent a malformed reply",
                                        ProtocolViolation(f"malformed reply: {exc}"))
                        return
            if not pending:
                self.__shutdown("the server sent a reply nobody asked for",
                                ProtocolViolation("unexpected reply from the server"))
                return
            fut = pending.popleft()
            if not fut.done():  # a cancelled caller's reply is simply dropped
                fut.set_result(outcome)

    async def __do_rpc(self, request: dict) -> Any:
        writer = self.__writer
        if writer is None or self.__closed_because is not None:
            raise ConnectionClosed(f"connection is closed ({self.__closed_because})")
        if self.__selected is None:
            raise IncompatibleServer("no target selected; await select_rpc_target() first")
        line = self.__codec.encode(request)        # EncodeError: the caller's mistake
        p.check_size(line, self.__max, "request")  # MessageTooLarge: likewise
        fut = asyncio.get_running_loop().create_future()
        self.__pending.append(fut)
        writer.write(line)
        if writer.transport.get_write_buffer_size() > _WRITE_HIGH_WATER:
            async with self.__drain_lock:
                try:
                    await writer.drain()
                except (ConnectionError, OSError) as exc:
                    self.__shutdown(f"connection lost: {exc}")
        if self.__timeout is None:
            ok, value = await fut
        else:
            try:
                ok, value = await asyncio.wait_for(fut, self.__timeout)
            except asyncio.TimeoutError:
                self.__shutdown("a call timed out")
                raise CallTimeout(f"no reply within {self.__timeout} s; "
                                  "the connection was closed") from None
        if ok:
            return value
        raise value

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)

        async def proxy(*args, **kwargs):
            return await self.__do_rpc(p.call_request(name, args, kwargs))
        proxy.__name__ = name
        return proxy


def _current_task():
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None

