"""The pc_rpc server: an AsyncioServer that speaks the protocol of
:mod:`sipyco._rpc.protocol` to each connection."""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

from sipyco._streams import LineTooLong, read_line, set_buffer_limit
from sipyco.asyncio_tools import AsyncioServer, peer_name
from sipyco.errors import DecodeError, MessageTooLarge

from . import protocol as p
from .introspect import argspec, method_list, public_callables

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
                 max_message_size: int = p.DEFAULT_MAX_MESSAGE_SIZE,
                 handshake_timeout: float = 30.0,
                 advertise_v2: bool = True):
        if not isinstance(targets, dict) or not targets:
            raise ValueError("targets must be a non-empty dict of name -> object")
        for name in targets:
            if not isinstance(name, str) or not name or any(c.isspace() for c in name):
                raise ValueError(f"invalid target name {name!r}: names are non-empty "
                                 "strings without whitespace")
        if max_message_size < 1024:
            raise ValueError("max_message_size must be at least 1024 bytes")
        super().__init__(stream_limit=p.HANDSHAKE_LINE_LIMIT)
        self.targets = targets
        self.description = description
        self.builtin_terminate = builtin_terminate
        self.allow_parallel = allow_parallel
        self.max_message_size = max_message_size
        self.handshake_timeout = handshake_timeout
        self._features = [p.FEATURE_PYON_V2] if advertise_v2 else []
        self._call_lock = asyncio.Lock()
        self._terminate = asyncio.Event()

    async def wait_terminate(self) -> None:
        """Wait until a client calls ``terminate()`` (with builtin_terminate)
        or a target method raises SystemExit."""
        await self._terminate.wait()

    def request_terminate(self) -> None:
        self._terminate.set()

    async def _handshake(self, reader, writer):
        """Hello, identification and target selection; ``None`` to hang up."""
        try:
            hello = await read_line(reader, p.HANDSHAKE_LINE_LIMIT, resync=False)
            if hello != p.HELLO:
                return None
            writer.write(p.identification_line(self.targets, self.description,
                                               self._features))
            target_name, features = p.parse_selection(
                await read_line(reader, p.HANDSHAKE_LINE_LIMIT, resync=False))
        except (ValueError, LineTooLong, asyncio.IncompleteReadError):
            return None
        if target_name not in self.targets or not set(features) <= set(self._features):
            return None
        return target_name, (p.V2 if p.FEATURE_PYON_V2 in features else p.V1)

    async def _handle_connection_cr(self, reader: asyncio.StreamReader,
                                    writer: asyncio.StreamWriter) -> None:
        # Until the handshake is done a peer gets a small buffer and a deadline.
        set_buffer_limit(reader, p.HANDSHAKE_LINE_LIMIT)
        try:
            selected = await asyncio.wait_for(self._handshake(reader, writer),
                                              self.handshake_timeout)
        except asyncio.TimeoutError:
            logger.info("%s did not complete the handshake in %s s",
                        peer_name(writer), self.handshake_timeout)
            return
        if selected is None:
            return
        target_name, codec = selected
        set_buffer_limit(reader, self.max_message_size + 1)
        target = self.targets[target_name]
        if callable(target):
            target = target()
        names = public_callables(target)
        if self.builtin_terminate:
            names.add("terminate")
        writer.write(codec.encode(names))
        await writer.drain()

        while True:
            try:
                line = await read_line(reader, self.max_message_size + 1)
            except LineTooLong as exc:
                reply = self._too_large(exc.size, "at least ")
                logger.warning("%s sent a request over max_message_size=%d",
                               peer_name(writer), self.max_message_size)
            else:
                if not line:
                    return  # the client closed the connection
                if len(line) > self.max_message_size:
                    reply = self._too_large(len(line))
                else:
                    reply = await self._process(codec, target, line)
                    if reply is None:  # SystemExit under builtin_terminate
                        self.request_terminate()
                        return
            writer.write(p.encode_reply(codec, reply, self.max_message_size))
            if writer.transport.get_write_buffer_size() > _WRITE_HIGH_WATER:
                await writer.drain()  # a slow reader: wait rather than buffer without end

    def _too_large(self, size: int, qualifier: str = "") -> dict:
        return p.failed_reply(MessageTooLarge(
            f"request of {qualifier}{size} bytes exceeds the server's "
            f"max_message_size={self.max_message_size}", self.max_message_size, size))

    async def _process(self, codec: p.WireCodec, target: Any, line: bytes) -> dict | None:
        try:
            request = p.parse_request(codec.decode(line))
        except (DecodeError, p.BadRequest) as exc:
            return p.failed_reply(ValueError(f"malformed request: {exc}"))
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
_TERMINATE_ENTRY = {"terminate": (argspec(_terminate), inspect.getdoc(_terminate))}


async def _invoke(method, request: p.Call):
    ret = method(*request.args, **request.kwargs)
    if inspect.isawaitable(ret):
        ret = await ret
    return ret

