"""The pc_rpc server: an AsyncioServer driving one
:class:`~.connection.ServerConnection` per client."""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

from sipyco._bounds import (
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_MAX_BUFFERED_BYTES,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_OFFLOAD_OVER,
    SMALLEST_SERVER_LIMIT,
    check_message_size,
    check_timeout,
)
from sipyco._pyon.gcpause import paused_gc
from sipyco._pyon.weight import heavier_than
from sipyco._streams import READ_CHUNK
from sipyco._tls import log_tls_on_plain
from sipyco.asyncio_tools import AsyncioServer, peer_name

from . import protocol as p
from .connection import (
    NEED_DATA,
    HangUp,
    RequestUnread,
    SelectionRequested,
    ServerConnection,
)
from .introspect import document, method_list, public_callables

__all__ = ["Server"]

logger = logging.getLogger("sipyco.pc_rpc")

# Past this many unsent reply bytes the server waits for the client to read.
_WRITE_HIGH_WATER = 1 << 20
# Requests one connection may have answered before it lets the event loop
# serve the others: a client pipelining thousands of calls, all already
# received, would otherwise have them all answered in one turn.
_FAIR_SHARE = 32
# How much of each argument's repr the per-call debug line shows.
_REPR_LIMIT = 100


class Server(AsyncioServer):
    """Serve the objects in ``targets`` (name -> object) to RPC clients.

    Clients call the public methods of the target they select; coroutine
    methods are awaited.  A target that is callable (a class or a factory) is
    called once per connection to make that connection's own object.  Calls
    on one connection run in order; calls from different connections are
    serialised by one lock unless ``allow_parallel`` is true.

    ``builtin_terminate`` adds a ``terminate()`` method that releases
    :meth:`wait_terminate`.  ``max_message_size`` bounds requests and replies
    (the client has the same option and default, 1 GiB); a request over it is
    answered with a ValueError naming the limit and the connection goes on.
    A client must finish the handshake within ``handshake_timeout`` seconds.
    ``advertise_v2=False`` makes the server look like a sipyco 1.8 one.
    ``description`` (default None) is a free text the server sends to every
    client with its target names (a client reads both with ``get_rpc_id()``).

    An empty ``targets``, a target name that is not a non-empty string
    without whitespace, or a size, timeout or ``offload_over`` that is not
    a positive number in range raises ``ValueError``.

    Memory is bounded for the server as a whole, not only per request: all
    connections together may hold at most ``max_buffered_bytes`` of requests
    received and not yet finished with (unfinished lines, and complete ones
    waiting to be processed).  Past it, the connection holding the most of an
    unfinished request is closed, with a warning naming the limit; small
    calls, which hold almost nothing, go on being served.  One request can
    therefore be no larger than the smaller of ``max_message_size`` and
    ``max_buffered_bytes``.  At most ``max_connections`` clients are served at
    once (see :class:`~sipyco.asyncio_tools.AsyncioServer`).

    No client holds the others up while its request is read or its reply
    written: a request slow to decode (a line of at least ``offload_over``
    bytes, default 64 KiB, dense in values; or 64 times as long, whatever it
    holds) is decoded in a worker thread, and so is a reply that looks as
    slow to write (a quick, bounded look at its values and bytes, not an
    encoding); the event loop meanwhile serves the other connections.
    Arrays and strings of a few MiB, which are decoded and encoded in C, stay
    on the loop: handing them over would cost more than it saves.  Python
    code in the thread lets the loop's thread in every few milliseconds; one
    long C call does not (the JSON scanner over a 4 MiB text of a million
    values takes up to a few hundred milliseconds, and holds the others up
    that long).  Calls themselves still run on the loop, one at a time as
    above; a connection lets the others in after every 32 answered calls.
    ``offload_over=None`` keeps everything on the event loop thread.
    """

    def __init__(self, targets: dict[str, Any], description: str | None = None,
                 builtin_terminate: bool = False, allow_parallel: bool = False, *,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
                 advertise_v2: bool = True,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 max_buffered_bytes: int = DEFAULT_MAX_BUFFERED_BYTES,
                 offload_over: int | None = DEFAULT_OFFLOAD_OVER):
        if not isinstance(targets, dict) or not targets:
            raise ValueError("targets must be a non-empty dict of name -> object")
        for name in targets:
            if not isinstance(name, str) or not name or any(c.isspace() for c in name):
                raise ValueError(f"invalid target name {name!r}: names are non-empty "
                                 "strings without whitespace")
        check_message_size(max_message_size, minimum=SMALLEST_SERVER_LIMIT)
        check_timeout(handshake_timeout, "handshake_timeout", allow_none=False)
        check_message_size(max_buffered_bytes, "max_buffered_bytes")
        if offload_over is not None:
            check_message_size(offload_over, "offload_over")
        super().__init__(max_connections=max_connections)
        self.targets = targets
        self.description = description
        self.builtin_terminate = builtin_terminate
        self.allow_parallel = allow_parallel
        self.max_message_size = max_message_size
        self.offload_over = offload_over
        self.handshake_timeout = handshake_timeout
        self._features = [p.FEATURE_PYON_V2] if advertise_v2 else []
        self._budget = _RequestBudget(max_buffered_bytes)
        self._call_lock = asyncio.Lock()
        self._terminate = asyncio.Event()

    @staticmethod
    def _document_function(function: Any) -> tuple[dict, str | None]:
        """``(argspec, docstring)`` for ``function`` as a method list carries
        them: the ``inspect.getfullargspec`` fields as a PYON-encodable dict
        (annotations of any kind as strings), and the cleaned docstring.
        Upstream's name for this; programs and tests call it."""
        return document(function)

    async def wait_terminate(self) -> None:
        """Wait until a client calls ``terminate()`` (with builtin_terminate)
        or a target method raises SystemExit."""
        await self._terminate.wait()

    def request_terminate(self) -> None:
        """Release :meth:`wait_terminate` (what a client's ``terminate()``
        does, with ``builtin_terminate``)."""
        self._terminate.set()

    @property
    def max_buffered_bytes(self) -> int:
        """The server-wide bound on bytes held in requests (see the class)."""
        return self._budget.limit

    @property
    def buffered_bytes(self) -> int:
        """Bytes all connections hold now in requests received and not yet
        finished with (what ``max_buffered_bytes`` bounds)."""
        return self._budget.total

    async def _read(self, conn: ServerConnection, holding: _Holding,
                    reader: asyncio.StreamReader) -> bool:
        """Feed ``conn`` what the client sends next.  False: the client is
        gone, or was disconnected to keep within max_buffered_bytes."""
        budget = self._budget
        holding.reading = True
        budget.hold(holding, conn.buffered)  # what is left: an unfinished line
        if budget.total > budget.limit:
            budget.enforce()
            if holding.evicted:
                return False
        try:
            data = await reader.read(READ_CHUNK)
        finally:
            holding.reading = False
        if not data or holding.evicted:
            return False
        conn.receive_data(data)
        budget.hold(holding, conn.buffered)
        return True

    async def _handshake(self, conn: ServerConnection, holding: _Holding,
                         reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> SelectionRequested | None:
        """Hello, identification and target selection; None if the client left."""
        while True:
            event = conn.next_event()  # HangUp for a client breaking the handshake
            if event is NEED_DATA:
                if not await self._read(conn, holding, reader):
                    return None
            elif isinstance(event, SelectionRequested):
                return event
            else:
                writer.write(conn.identify())

    async def _handle_connection_cr(self, reader: asyncio.StreamReader,
                                    writer: asyncio.StreamWriter) -> None:
        holding = self._budget.join(writer)
        try:
            await self._serve_client(holding, reader, writer)
        finally:
            self._budget.leave(holding)

    async def _serve_client(self, holding: _Holding, reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter) -> None:
        conn = ServerConnection(self.targets, self._features, description=self.description,
                                max_message_size=self.max_message_size,
                                read_over=self.offload_over)
        try:
            selection = await asyncio.wait_for(self._handshake(conn, holding, reader, writer),
                                               self.handshake_timeout)
        except asyncio.TimeoutError:
            logger.info("%s did not complete the handshake within handshake_timeout=%g s",
                        peer_name(writer), self.handshake_timeout)
            return
        except HangUp as exc:
            if exc.farewell:
                writer.write(exc.farewell)
            if exc.tls:
                log_tls_on_plain(logger, peer_name(writer))
            else:
                logger.debug("hanging up on %s: %s", peer_name(writer), exc.reason)
            return
        if selection is None:
            return
        target = self.targets[selection.target]
        if callable(target):
            target = target()
        names = public_callables(target)
        if self.builtin_terminate:
            names.add("terminate")
        writer.write(conn.accept(selection, names))
        await writer.drain()

        transport = writer.transport
        # a reply weighing this many units (values, KiB of bytes) is written
        # in a thread: about what a dense request of offload_over bytes holds
        reply_offload = None if self.offload_over is None else self.offload_over // 4
        answered = 0  # since this connection last let the others be served
        while True:
            event = conn.next_event()
            if event is NEED_DATA:
                if not await self._read(conn, holding, reader):
                    return  # the client closed the connection (or was closed)
                continue
            offloaded = type(event) is RequestUnread
            if offloaded:
                # (pyon pauses the collector itself for a text this long)
                event = await asyncio.to_thread(conn.read_request, event.line, True)
            request = event.request
            if request is None:
                reply = event.refusal
            else:
                reply = await self._process(target, request)
                if reply is None:  # SystemExit under builtin_terminate
                    self.request_terminate()
                    return
            method = request.name if type(request) is p.Call else None
            if reply_offload is not None and reply["status"] == "ok" \
                    and heavier_than(reply["ret"], reply_offload):
                offloaded = True
                line, unsent = await asyncio.to_thread(_write_reply, conn, reply, method)
            else:
                line, unsent = conn.reply_line(reply, method)
            if unsent is not None:
                _log_unsent(request, writer, unsent)
            if transport.is_closing():
                _log_unsent(request, writer, "the connection was closed before it was written")
                return
            writer.write(line)
            if offloaded:
                # Freeing a large request or reply can take as long as
                # building it: let a thread drop the last references.
                garbage = [event, reply]
                event = reply = None
                await asyncio.to_thread(garbage.clear)
            if transport.get_write_buffer_size() > _WRITE_HIGH_WATER:
                try:  # a slow reader: wait rather than buffer without end
                    await writer.drain()
                except ConnectionError as exc:
                    _log_unsent(request, writer, f"the connection broke while writing: {exc}")
                    return
            answered += 1
            if answered >= _FAIR_SHARE:
                answered = 0
                await asyncio.sleep(0)

    async def _process(self, target: Any, request: p.Call | p.MethodListRequest) -> dict | None:
        """The reply to a request (None: stop serving, see builtin_terminate)."""
        if isinstance(request, p.MethodListRequest):
            extra = _TERMINATE_ENTRY if self.builtin_terminate else None
            try:
                return p.ok_reply(method_list(target, extra))
            except Exception as exc:  # noqa: BLE001 - reported to the caller
                return p.failed_reply(exc)
        name = request.name
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("calling %s", _call_text(request))
        if self.builtin_terminate and name == "terminate":
            self.request_terminate()
            return p.ok_reply(None)
        if name.startswith("_"):
            return p.failed_reply(AttributeError(
                f"'{name}' is not callable remotely (names starting with '_' are private)"))
        try:
            method = getattr(target, name)
        except AttributeError:
            return p.failed_reply(AttributeError(f"target has no method '{name}'"))
        except Exception as exc:  # noqa: BLE001 - a failing property
            return p.failed_reply(exc)
        if not callable(method):
            return p.failed_reply(AttributeError(f"'{name}' is not a method"))
        try:
            if self.allow_parallel or not self._call_lock.locked():
                # Without an await before it returns, a plain method cannot
                # interleave with another call: the lock is only needed once
                # a coroutine method is running.
                ret = method(*request.args, **request.kwargs)
                if inspect.isawaitable(ret):
                    if self.allow_parallel:
                        ret = await ret
                    else:
                        async with self._call_lock:
                            ret = await ret
            else:
                async with self._call_lock:
                    ret = await _invoke(method, request)
        except SystemExit as exc:
            if self.builtin_terminate:
                return None
            return p.failed_reply(exc)
        except Exception as exc:  # noqa: BLE001 - the remote caller gets it
            return p.failed_reply(exc)
        return p.ok_reply(ret)


def _write_reply(conn: ServerConnection, reply: dict,
                 method: str | None) -> tuple[bytes, Exception | None]:
    with paused_gc():
        return conn.reply_line(reply, method)


def _log_unsent(request: Any, writer: asyncio.StreamWriter, why: object) -> None:
    """One warning: the reply to ``request`` did not reach the client as it was."""
    what = f"{request.name}()" if type(request) is p.Call else "a request"
    logger.warning("the reply to %s for %s could not be sent: %s", what,
                   peer_name(writer), why)


def _cut(value: Any) -> str:
    """The start of ``value``'s repr.  A long string, bytes, list or tuple is
    repr'd from a slice of it (its repr's start is the same): the log line
    of a call with a long argument does not cost a repr of all of it."""
    if type(value) in (str, bytes, list, tuple) and len(value) > _REPR_LIMIT:
        value = value[:_REPR_LIMIT + 1]
    text = repr(value)
    return text if len(text) <= _REPR_LIMIT else text[:_REPR_LIMIT] + "..."


def _call_text(request: p.Call) -> str:
    """``name(arg, ..., key=value)`` with each repr cut short, for the log."""
    parts = [_cut(a) for a in request.args]
    parts += [f"{k}={_cut(v)}" for k, v in request.kwargs.items()]
    return f"{request.name}({', '.join(parts)})"


class _Holding:
    """One connection as the budget sees it."""

    __slots__ = ("held", "reading", "evicted", "writer")

    def __init__(self, writer: asyncio.StreamWriter):
        self.held = 0          # bytes of requests received and not finished with
        self.reading = False   # waiting for more bytes (not busy with a request)
        self.evicted = False   # closed to keep within the budget
        self.writer = writer


class _RequestBudget:
    """What all connections of one server hold in requests received and not
    yet finished with, against ``max_buffered_bytes``.

    Each connection reports what it holds after every read and again before
    the next one.  Only reading can make the total grow, so the limit is
    applied before a read: while the total is over it, the connection
    holding the most among those waiting for more bytes is closed (its
    unfinished request would only grow), with a warning.  A connection busy
    with a request is never chosen: it holds that request only until it has
    been answered.  So the total exceeds the limit by at most what the
    connections read last (a READ_CHUNK each) before they next apply it.
    """

    def __init__(self, limit: int):
        self.limit = limit
        self.total = 0
        self.peak = 0          # the highest total seen (for tests and benchmarks)
        self._holdings: set[_Holding] = set()

    def join(self, writer: asyncio.StreamWriter) -> _Holding:
        holding = _Holding(writer)
        self._holdings.add(holding)
        return holding

    def leave(self, holding: _Holding) -> None:
        self.total -= holding.held
        holding.held = 0
        self._holdings.discard(holding)

    def hold(self, holding: _Holding, nbytes: int) -> None:
        if holding.evicted:
            return
        total = self.total + nbytes - holding.held
        holding.held = nbytes
        self.total = total
        if total > self.peak:
            self.peak = total

    def enforce(self) -> None:
        """Close the connections holding the most until the total is within
        the limit (or no connection waiting for bytes holds any)."""
        while self.total > self.limit:
            victim, most = None, 0
            for holding in self._holdings:
                if holding.reading and holding.held > most:
                    victim, most = holding, holding.held
            if victim is None:
                return
            logger.warning(
                "closing the connection of %s: requests not yet finished with hold %d bytes "
                "in this server, over max_buffered_bytes=%d, and this connection held the "
                "most (%d bytes of an unfinished request)",
                peer_name(victim.writer), self.total, self.limit, most)
            self.total -= most
            victim.held = 0
            victim.evicted = True
            victim.writer.transport.abort()


def _terminate():
    """Ask the server to shut down."""


# how the built-in terminate() appears in a method list
_TERMINATE_ENTRY = {"terminate": document(_terminate)}


async def _invoke(method, request: p.Call):
    ret = method(*request.args, **request.kwargs)
    if inspect.isawaitable(ret):
        ret = await ret
    return ret

