"""The sync_struct Subscriber: keeps a local copy of a published structure."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sipyco import pyon
from sipyco._bounds import (
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_MAX_MESSAGE_SIZE,
    check_message_size,
    check_timeout,
)
from sipyco._framing import LineBuffer, LineTooLong
from sipyco._streams import READ_CHUNK
from sipyco._tls import client_context, closed_on_plain, refused, session_refused, start_tls
from sipyco.errors import (
    ConnectionClosed,
    DecodeError,
    HandshakeTimeout,
    MessageTooLarge,
    ProtocolViolation,
    ServerUnreachable,
)

from .mods import ModAction, process_mod
from .publisher import HELLO

__all__ = ["Subscriber"]

logger = logging.getLogger("sipyco.sync_struct")


class Subscriber:
    """Connects to a Publisher and mirrors the notifier ``notifier_name``.

    ``target_builder(struct)`` turns the initial structure into the local
    object mods are applied to (it may simply return it); the result is
    ``target``.  ``notify_cb`` (a callable or a list of them) is called
    with each mod, the init included, after it was applied; one that raises
    is logged and the structure stays in sync.  ``disconnect_cb`` is called
    exactly once when the connection ends for any reason other than
    :meth:`close`.  Mods written as PYON v1 (sipyco 1.8 publishers) and v2
    (1.10 publishers) are both read.

    Limits: a mod (the initial structure included) may be at most
    ``max_message_size`` bytes; a longer one ends the subscription.
    :meth:`connect` gives up when the publisher leaves the connection silent
    for ``handshake_timeout`` seconds before the initial structure has
    arrived.
    """

    def __init__(self, notifier_name: str, target_builder: Callable[[Any], Any],
                 notify_cb: Callable | list[Callable] | None = None,
                 disconnect_cb: Callable[[], None] | None = None, *,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT):
        if not notifier_name or any(c in notifier_name for c in "\r\n"):
            raise ValueError(f"invalid notifier name {notifier_name!r}")
        self.notifier_name = notifier_name
        self.target_builder = target_builder
        if notify_cb is None:
            notify_cb = []
        elif not isinstance(notify_cb, list):
            notify_cb = [notify_cb]
        self.notify_cbs = notify_cb
        self.disconnect_cb = disconnect_cb
        self.max_message_size = check_message_size(max_message_size)
        self.handshake_timeout = check_timeout(handshake_timeout, "handshake_timeout",
                                               allow_none=False)
        self.target: Any = None
        self._reader: asyncio.StreamReader | None = None
        #: The connection's StreamWriter while connected (None otherwise):
        #: ``writer.get_extra_info("socket")`` tells this side's address.
        self.writer: asyncio.StreamWriter | None = None
        self._lines: LineBuffer | None = None
        #: The task following the mods, from connect() on: it ends when the
        #: publisher goes away (programs await it to learn that).
        self.receive_task: asyncio.Task | None = None
        self._closing = False
        self._tls = False

    async def connect(self, host: str, port: int,
                      before_receive_cb: Callable[[], None] | None = None,
                      ssl_config: Any = None) -> None:
        """Connect, wait for the initial structure and start following mods.

        ``host`` (a name or address) and ``port`` say where the Publisher
        listens.  ``before_receive_cb`` (default None), if given, is called
        with no arguments once the connection is made and the notifier asked
        for, before the initial structure is read.

        Raises ServerUnreachable when nobody listens, ConnectionClosed when
        the publisher hangs up instead of sending the structure (most often:
        it has no notifier of that name, or it is a pc_rpc server: the
        message says so), HandshakeTimeout when it stays
        silent, MessageTooLarge for a structure over ``max_message_size``
        and ProtocolViolation for one that cannot be read.  With
        ``ssl_config`` (a :class:`~sipyco.tools.SimpleSSLConfig`) the
        connection is mutual TLS: a failed handshake, or a publisher that
        does not accept this side's certificate, raises
        :class:`~sipyco.errors.TLSError` naming the reason; unreadable
        certificate files raise OSError or ssl.SSLError before connecting.
        """
        context = client_context(ssl_config)  # unreadable files raise here
        limit = self.handshake_timeout
        what = f"subscribing to notifier {self.notifier_name!r} at {host}:{port}"
        try:
            self._reader, self.writer = await asyncio.wait_for(
                asyncio.open_connection(host, port), limit)
        except asyncio.TimeoutError:
            raise HandshakeTimeout(what, limit) from None
        except OSError as exc:
            raise ServerUnreachable(f"cannot connect to {host}:{port}: {exc}") from exc
        ssl_object = None
        self._tls = context is not None
        if context is not None:
            try:
                self._reader, self.writer = await start_tls(
                    self._reader, self.writer, context, host, port, limit)
            except BaseException:
                self.writer = None
                raise
            ssl_object = self.writer.get_extra_info("ssl_object")  # gone once closed
        self._closing = False
        self._lines = LineBuffer(self.max_message_size)
        try:
            self.writer.write(HELLO + self.notifier_name.encode("utf-8") + b"\n")
            if before_receive_cb is not None:
                before_receive_cb()
            try:
                line = await self._first_line(what, f"{host}:{port}")
            except ConnectionClosed as exc:
                if self._lines.buffered:
                    raise
                if context is None:
                    raise closed_on_plain(exc) from None
                if session_refused(ssl_object):
                    raise refused(f"the publisher at {host}:{port}") from None
                raise
            mod = self._decode(line)
            if _is_identification(mod):
                raise _not_a_publisher(host, port)
            if not isinstance(mod, dict) or mod.get("action") != ModAction.init \
                    or "struct" not in mod:
                raise ProtocolViolation("the publisher did not start with an init message")
            self.target = self.target_builder(mod["struct"])
            self._notify(mod)
        except BaseException:
            self._shutdown()
            raise
        self.receive_task = asyncio.ensure_future(self._receive())

    async def _first_line(self, what: str, where: str) -> bytes:
        lines = self._lines
        while True:
            line = lines.next_line()
            if isinstance(line, bytes):
                return line
            if line is not None or lines.overflow:
                size = line.size if line is not None else lines.overflow
                raise MessageTooLarge("the initial structure", size, self.max_message_size,
                                      at_least=line is None)
            try:
                data = await asyncio.wait_for(self._reader.read(READ_CHUNK),
                                              self.handshake_timeout)
            except asyncio.TimeoutError:
                raise HandshakeTimeout(what, self.handshake_timeout) from None
            except OSError as exc:
                raise ConnectionClosed(f"connection lost before the initial structure: "
                                       f"{exc!r}") from None
            if not data:
                if lines.buffered:
                    raise ConnectionClosed("the publisher closed the connection in the "
                                           "middle of the initial structure")
                raise ConnectionClosed(
                    f"the publisher at {where} closed the connection instead of "
                    f"sending notifier {self.notifier_name!r} (does it have one by that name?)")
            lines.feed(data)

    @staticmethod
    def _decode(line: bytes) -> Any:
        try:
            return pyon.decode(line)
        except DecodeError as exc:
            raise ProtocolViolation(f"undecodable mod: {exc}") from None

    async def close(self) -> None:
        """Disconnect (``disconnect_cb`` is not called)."""
        self._closing = True
        task, self.receive_task = self.receive_task, None
        self._shutdown()
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _shutdown(self) -> None:
        writer, self.writer = self.writer, None
        if writer is not None:
            if self._tls:
                # no TLS closing exchange: it would keep the socket open until
                # the publisher answers, on a loop that may be about to close
                writer.transport.abort()
            else:
                writer.close()

    def _notify(self, mod: dict) -> None:
        for cb in self.notify_cbs:
            try:
                cb(mod)
            except Exception:
                logger.exception("notify callback %r failed on %s mod", cb, mod.get("action"))

    async def _receive(self) -> None:
        reason = "the publisher closed the connection"
        try:
            await self._follow()
        except (ProtocolViolation, MessageTooLarge) as exc:
            reason = str(exc)
            logger.error("subscriber of %r: %s", self.notifier_name, reason)
        except ConnectionClosed as exc:
            reason = str(exc)
        except OSError as exc:
            reason = f"connection lost: {exc!r}"
        finally:
            if not self._closing:
                self._shutdown()
                logger.info("subscriber of %r disconnected: %s", self.notifier_name, reason)
                if self.disconnect_cb is not None:
                    try:
                        self.disconnect_cb()
                    except Exception:
                        logger.exception("disconnect callback failed")

    async def _follow(self) -> None:
        """Apply mods until the stream ends.  Reads in large chunks and takes
        all the lines of a chunk at once: a burst of small mods costs one
        wake-up, not one per line."""
        reader = self._reader
        lines = self._lines
        limit = self.max_message_size
        decode = self._decode
        while True:
            for line in lines.take_lines():
                if type(line) is LineTooLong:
                    raise MessageTooLarge("a mod", line.size, limit)
                mod = decode(line)
                if not isinstance(mod, dict) or "action" not in mod:
                    raise ProtocolViolation("a mod that is not a dict with an action")
                try:
                    process_mod(self.target, mod)
                except (ValueError, TypeError, KeyError, IndexError, AttributeError,
                        OverflowError) as exc:
                    # the copy can no longer be trusted to match the publisher's
                    raise ProtocolViolation(f"a mod could not be applied: {exc!r}") from None
                self._notify(mod)
            if lines.overflow:
                raise MessageTooLarge("a mod", lines.overflow, limit, at_least=True)
            data = await reader.read(READ_CHUNK)
            if not data:
                if lines.buffered:
                    raise ProtocolViolation("the connection ended in the middle of a mod")
                return
            lines.feed(data)


def _not_a_publisher(host: str, port: int) -> ConnectionClosed:
    return ConnectionClosed(f"the server at {host}:{port} is a pc_rpc server, "
                            "not a sync_struct publisher")


def _is_identification(obj: Any) -> bool:
    """Whether ``obj`` is a pc_rpc server's identification (the line it
    answers a subscriber's hello with, before hanging up)."""
    return isinstance(obj, dict) and "action" not in obj \
        and isinstance(obj.get("targets"), list)
