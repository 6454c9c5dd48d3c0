"""The pc_rpc server: an AsyncioServer driving one
:class:`~.connection.ServerConnection` per client."""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

from sipyco._bounds import (
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_MAX_MESSAGE_SIZE,
    SMALLEST_SERVER_LIMIT,
    check_message_size,
    check_timeout,
)
from sipyco._streams import READ_CHUNK
from sipyco.asyncio_tools import AsyncioServer, peer_name

from . import protocol as p
from .connection import NEED_DATA, HangUp, SelectionRequested, ServerConnection
from .introspect import document, method_list, public_callables

__all__ = ["Server"]

logger = logging.getLogger("sipyco.pc_rpc")

# Past this many unsent reply bytes the server waits for the client to read.
_WRITE_HIGH_WATER = 1 << 20


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
    """

    def __init__(self, targets: dict[str, Any], description: str | None = None,
                 builtin_terminate: bool = False, allow_parallel: bool = False, *,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
                 advertise_v2: bool = True):
        if not isinstance(targets, dict) or not targets:
            raise ValueError("targets must be a non-empty dict of name -> object")
        for name in targets:
            if not isinstance(name, str) or not name or any(c.isspace() for c in name):
                raise ValueError(f"invalid target name {name!r}: names are non-empty "
                                 "strings without whitespace")
        check_message_size(max_message_size, minimum=SMALLEST_SERVER_LIMIT)
        check_timeout(handshake_timeout, "handshake_timeout", allow_none=False)
        super().__init__()
        self.targets = targets
        self.description = description
        self.builtin_terminate = builtin_terminate
        self.allow_parallel = allow_parallel
        self.max_message_size = max_message_size
        self.handshake_timeout = handshake_timeout
        self._features = [p.FEATURE_PYON_V2] if advertise_v2 else []
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
        self._terminate.set()

    async def _handshake(self, conn: ServerConnection, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> SelectionRequested | None:
        """Hello, identification and target selection; None if the client left."""
        while True:
            event = conn.next_event()  # HangUp for a client breaking the handshake
            if event is NEED_DATA:
                data = await reader.read(READ_CHUNK)
                if not data:
                    return None
                conn.receive_data(data)
            elif isinstance(event, SelectionRequested):
                return event
            else:
                writer.write(conn.identify())

    async def _handle_connection_cr(self, reader: asyncio.StreamReader,
                                    writer: asyncio.StreamWriter) -> None:
        conn = ServerConnection(self.targets, self._features, description=self.description,
                                max_message_size=self.max_message_size)
        try:
            selection = await asyncio.wait_for(self._handshake(conn, reader, writer),
                                               self.handshake_timeout)
        except asyncio.TimeoutError:
            logger.info("%s did not complete the handshake within handshake_timeout=%g s",
                        peer_name(writer), self.handshake_timeout)
            return
        except HangUp as exc:
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
        while True:
            event = conn.next_event()
            if event is NEED_DATA:
                data = await reader.read(READ_CHUNK)
                if not data:
                    return  # the client closed the connection
                conn.receive_data(data)
                continue
            if event.request is None:
                reply = event.refusal
            else:
                reply = await self._process(target, event.request)
                if reply is None:  # SystemExit under builtin_terminate
                    self.request_terminate()
                    return
            writer.write(conn.reply(reply))
            if transport.get_write_buffer_size() > _WRITE_HIGH_WATER:
                await writer.drain()  # a slow reader: wait rather than buffer without end

    async def _process(self, target: Any, request: p.Call | p.MethodListRequest) -> dict | None:
        """The reply to a request (None: stop serving, see builtin_terminate)."""
        if isinstance(request, p.MethodListRequest):
            extra = _TERMINATE_ENTRY if self.builtin_terminate else None
            try:
                return p.ok_reply(method_list(target, extra))
            except Exception as exc:  # noqa: BLE001 - reported to the caller
                return p.failed_reply(exc)
        name = request.name
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


def _terminate():
    """Ask the server to shut down."""


# how the built-in terminate() appears in a method list
_TERMINATE_ENTRY = {"terminate": document(_terminate)}


async def _invoke(method, request: p.Call):
    ret = method(*request.args, **request.kwargs)
    if inspect.isawaitable(ret):
        ret = await ret
    return ret

