"""The asyncio pc_rpc client, pipelining calls from many tasks.

A driver of :class:`~.connection.ClientConnection` on an
:class:`asyncio.Protocol`: bytes go from the transport's callbacks straight
into the connection object, and each reply is handed to the future of the
call it answers, with no reader task to wake in between.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from typing import Any

from sipyco._bounds import DEFAULT_MAX_MESSAGE_SIZE
from sipyco._tls import (
    client_context,
    closed_on_plain,
    describe,
    handshake_error,
    refused,
    session_refused,
)
from sipyco.errors import (
    CallTimeout,
    ConnectionClosed,
    HandshakeTimeout,
    ServerUnreachable,
    TLSError,
    TransportError,
)

from .connection import NEED_DATA, ClientConnection, Reply
from .facade import ClientFacade, handshake_deadline
from .protocol import AutoTarget

__all__ = ["AsyncioClient"]

logger = logging.getLogger("sipyco.pc_rpc")

# Past this many unsent bytes a caller waits for the socket to drain.
_WRITE_HIGH_WATER = 1 << 20


class _Closing:
    """What :meth:`AsyncioClient.close_rpc` returns: it closes the connection
    when awaited (1.10's ``await remote.close_rpc()``, or the cleanup idiom
    that makes it early and awaits it later), or, never awaited, when it is
    dropped (1.8's bare ``remote.close_rpc()``)."""

    __slots__ = ("_client",)

    def __init__(self, client: AsyncioClient):
        self._client = client

    def _close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client._shutdown("close_rpc() was called")

    def __await__(self):
        self._close()
        return iter(())

    def __del__(self) -> None:
        try:
            self._close()
        except Exception:  # noqa: BLE001 - e.g. its event loop is gone already
            pass


class _Link(asyncio.Protocol):
    """The transport's side: passes bytes and the end of the connection to
    the client, and lets writers wait while the send buffer is full."""

    def __init__(self, client: AsyncioClient):
        self.client = client
        self.paused = False
        self._drained: list[asyncio.Future] = []

    def data_received(self, data: bytes) -> None:
        self.client._received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.client._lost(exc)
        self.resume_writing()

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        waiters, self._drained = self._drained, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    async def drain(self) -> None:
        if self.paused:
            fut = asyncio.get_running_loop().create_future()
            self._drained.append(fut)
            await fut


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
    ``timeout`` if given, else 10 s).  ``max_message_size`` (default 1 GiB)
    bounds requests and replies in bytes: a request over it raises
    :class:`~sipyco.errors.MessageTooLarge` and is not sent; a value that is
    not a positive int makes :meth:`connect_rpc` raise ``ValueError``.

    As with :class:`~sipyco.pc_rpc.Client`, only the target's methods exist
    as attributes: any other public name raises AttributeError when it is
    looked up (before connecting and before selecting a target too).
    """

    def __init__(self, *, timeout: float | None = None,
                 handshake_timeout: float | None = None,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE):
        self._handshake_timeout = handshake_deadline(handshake_timeout, timeout)
        self._timeout = timeout
        self._max_message_size = max_message_size
        self._transport: asyncio.Transport | None = None
        self._link: _Link | None = None
        self._handshake_waiter: asyncio.Future | None = None
        self._peer = ""
        self._tls = False

    async def connect_rpc(self, host: str, port: int, target_name: Any = AutoTarget,
                          ssl_config: Any = None) -> None:
        """Connect to the server at ``host`` (a name or address) and ``port``,
        and select ``target_name`` unless it is None.

        By default (``AutoTarget``) the server's only target is selected;
        a server with several raises :class:`~sipyco.errors.IncompatibleServer`,
        as does a name the server does not offer.  Nobody accepting the
        connection raises :class:`~sipyco.errors.ServerUnreachable`, and a
        client already connected ``RuntimeError``.

        With ``ssl_config`` (a :class:`~sipyco.tools.SimpleSSLConfig`) the
        connection is mutual TLS: a failed handshake raises
        :class:`~sipyco.errors.TLSError` naming the reason, one that takes
        longer than ``handshake_timeout`` HandshakeTimeout; unreadable
        certificate files raise OSError or ssl.SSLError before connecting."""
        context = client_context(ssl_config)  # unreadable files raise here
        if self._transport is not None:
            raise RuntimeError("already connected")
        self._conn = conn = ClientConnection(max_message_size=self._max_message_size)
        self._peer = f"{host}:{port}"
        handshake = self._handshake_timeout
        loop = asyncio.get_running_loop()
        ssl_object = None
        self._tls = context is not None
        try:
            transport, self._link = await asyncio.wait_for(
                loop.create_connection(lambda: _Link(self), host, port), handshake)
        except asyncio.TimeoutError:
            conn.close("connecting timed out")
            raise HandshakeTimeout(f"connecting to {host}:{port}", handshake) from None
        except OSError as exc:
            conn.close("nobody accepted the connection")
            raise ServerUnreachable(f"cannot connect to {host}:{port}: {exc}") from exc
        if context is not None:
            try:
                transport = await loop.start_tls(transport, self._link, context,
                                                 server_hostname=host,
                                                 ssl_handshake_timeout=handshake)
            except asyncio.CancelledError:
                transport.abort()
                conn.close("cancelled during the TLS handshake")
                raise
            except Exception as exc:  # noqa: BLE001 - turned into ours
                transport.abort()
                error = handshake_error(exc, self._peer, handshake)
                conn.close(str(error))
                raise error from None
            ssl_object = transport.get_extra_info("ssl_object")  # gone once closed
        if conn.closed:  # lost between connecting and here
            raise ConnectionClosed(f"connection is closed ({conn.closed_because})")
        self._transport = transport
        transport.set_write_buffer_limits(high=_WRITE_HIGH_WATER)
        self._local_host = transport.get_extra_info("sockname")[0]
        try:
            transport.write(conn.initiate())
            try:
                await self._handshake_step()
            except (ConnectionClosed, ConnectionError) as exc:
                if isinstance(exc, TLSError):
                    raise
                if context is None:
                    raise closed_on_plain(exc) from None
                if session_refused(ssl_object):
                    raise refused(f"the server at {self._peer}") from None
                raise
            target_name = conn.resolve_target(target_name)
            if target_name is not None:
                await self.select_rpc_target(target_name)
        except BaseException:
            self._shutdown("the handshake failed")
            raise

    # ---- bytes in

    def _received(self, data: bytes) -> None:
        self._conn.receive_data(data)
        self._deliver()

    def _lost(self, exc: Exception | None) -> None:
        conn = self._conn
        if conn.closed:
            return
        if exc is not None:
            if isinstance(exc, ssl.SSLError):
                error: TransportError | None = TLSError(
                    f"TLS error on the connection with {self._peer}: {describe(exc, 'server')}")
            else:
                error = ConnectionClosed(f"connection failed: {exc}")
            waiter, self._handshake_waiter = self._handshake_waiter, None
            if waiter is not None and not waiter.done():  # a handshake step waits
                waiter.set_exception(error)
                error = None
            self._shutdown(f"connection failed: {exc}", error)
            return
        conn.receive_data(b"")
        self._deliver()

    def _deliver(self) -> None:
        """Hand out the events the received bytes complete: replies to their
        callers, a handshake step to the task waiting for it."""
        conn = self._conn
        try:
            while True:
                if self._handshake_waiter is None and conn.target is None:
                    return  # a handshake step nobody waits for yet: keep it
                event = conn.next_event()
                if event is NEED_DATA:
                    return
                if type(event) is Reply:
                    fut = event.tag
                    if not fut.done():  # a cancelled caller's reply is simply dropped
                        fut.set_result(event)
                else:
                    waiter, self._handshake_waiter = self._handshake_waiter, None
                    waiter.set_result(event)
        except TransportError as exc:
            waiter, self._handshake_waiter = self._handshake_waiter, None
            if waiter is not None and not waiter.done():
                waiter.set_exception(exc)
                exc = None
            self._shutdown(str(conn.closed_because), exc)

    # ---- the handshake

    async def _handshake_step(self):
        """The next event of the handshake, within ``handshake_timeout``; on
        any failure the connection is closed."""
        self._handshake_waiter = waiter = asyncio.get_running_loop().create_future()
        self._deliver()  # it may have arrived already
        try:
            return await asyncio.wait_for(waiter, self._handshake_timeout)
        except asyncio.TimeoutError:
            error = HandshakeTimeout(f"the handshake with {self._peer}",
                                     self._handshake_timeout)
            self._shutdown(str(error))
            raise error from None
        except BaseException as exc:
            self._shutdown(f"the handshake failed: {exc!r}")
            raise
        finally:
            self._handshake_waiter = None

    async def select_rpc_target(self, target_name: str) -> None:
        """Select a target by name (once, after ``connect_rpc(..., None)``).

        ``target_name`` must be one the server offers, or this raises
        :class:`~sipyco.errors.IncompatibleServer`; a name that is not a
        non-empty string without whitespace raises ``ValueError``, and a second
        selection ``RuntimeError``."""
        line = self._connection().select(target_name)  # the caller's mistakes raise here
        self._transport.write(line)
        await self._handshake_step()

    # ---- the API

    async def get_rpc_method_list(self) -> dict:
        """``{"docstring": ..., "methods": {name: (argspec, docstring)}}``."""
        return await self._request(self._connection().method_list_request)

    def close_rpc(self) -> _Closing:
        """Close the connection: when the result is awaited, or at once when
        it is not kept (a plain ``remote.close_rpc()`` statement).  Code that
        keeps it to await later (``addCleanup(loop.run_until_complete,
        remote.close_rpc())``) can go on calling until then."""
        return _Closing(self)

    def _shutdown(self, why: str, error: BaseException | None = None) -> None:
        """Close everything; calls still waiting get ``error`` (the first of
        them) or ConnectionClosed."""
        conn = self._conn
        abandoned = []
        if conn is not None:
            conn.close(why)
            abandoned = conn.abandon()
        transport, self._transport = self._transport, None
        if transport is not None:
            if self._tls:
                # no TLS closing exchange: it would keep the socket open until
                # the server answers, on a loop that may be about to close
                transport.abort()
            else:
                transport.close()
        for fut in abandoned:
            if not fut.done():
                if error is None:
                    error = ConnectionClosed(f"connection is closed ({conn.closed_because})")
                fut.set_exception(error)
                error = None

    async def _request(self, make_line: Callable[..., bytes], *args: Any) -> Any:
        fut = asyncio.get_running_loop().create_future()
        line = make_line(*args, fut)  # the caller's mistakes raise here, nothing is sent
        self._transport.write(line)
        if self._link.paused:
            await self._link.drain()
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
        conn = self._conn
        missing = (f"not connected, so there is no method {name!r}" if conn is None
                   else conn.missing_method(name))
        if missing is not None:
            raise AttributeError(missing)
        request = self._request

        async def remote_method(*args, **kwargs):
            conn = self._conn
            if conn is None:
                raise ConnectionClosed("not connected")
            return await request(conn.call, name, args, kwargs)
        remote_method.__name__ = name
        return remote_method
