"""The broadcast Receiver: follows one channel of a Broadcaster and hands
every value to its callbacks."""

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
from sipyco._tls import client_context, session_refused, start_tls
from sipyco.errors import (
    DecodeError,
    HandshakeTimeout,
    MessageTooLarge,
    ProtocolViolation,
    ServerUnreachable,
)

from .broadcaster import HELLO

__all__ = ["Receiver"]

logger = logging.getLogger("sipyco.broadcast")



class Receiver:
    """Receives the values a Broadcaster sends on channel ``name``.

    ``notify_cb`` is a callable or a list of callables; each is called with
    every value received, in order (PYON v1 from sipyco 1.8 broadcasters and
    v2 from 1.10's are both read).  One that raises is logged and the others,
    and later values, still run.  ``disconnect_cb()`` is called exactly once
    when the connection ends other than by :meth:`close`: the broadcaster
    went away, or sent a line over ``max_message_size`` bytes or one that is
    not PYON (both logged as errors).  :meth:`connect` gives up after
    ``handshake_timeout`` seconds without a connection.

    Raises ValueError for a channel name that cannot be sent (empty, or
    holding a line break) and for bad limits.
    """

    def __init__(self, name: str, notify_cb: Callable[[Any], Any] | list[Callable[[Any], Any]],
                 disconnect_cb: Callable[[], Any] | None = None, *,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT):
        if not isinstance(name, str) or not name or "\n" in name or "\r" in name:
            raise ValueError(f"invalid channel name {name!r}")
        self.name = name
        self.notify_cbs: list[Callable[[Any], Any]] = (
            list(notify_cb) if isinstance(notify_cb, list) else [notify_cb])
        self.disconnect_cb = disconnect_cb
        self.max_message_size = check_message_size(max_message_size)
        self.handshake_timeout = check_timeout(handshake_timeout, "handshake_timeout",
                                               allow_none=False)
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task | None = None

    async def connect(self, host: str, port: int, ssl_config: Any = None) -> None:
        """Connect to the broadcaster at ``host:port``, ask for the channel
        and start receiving in a task.

        Raises RuntimeError when already connected, ServerUnreachable when
        nobody listens and HandshakeTimeout when the connection takes longer
        than ``handshake_timeout``.  With ``ssl_config`` (a
        :class:`~sipyco.tools.SimpleSSLConfig`) the connection is mutual TLS:
        a broadcaster whose certificate is not trusted, or that does not
        speak TLS, raises :class:`~sipyco.errors.TLSError`; unreadable
        certificate files raise OSError or ssl.SSLError before connecting.
        A receiver never reads during connect, so a broadcaster that does not
        accept this side's certificate is only noticed when it closes the
        connection: that is logged as an error saying so, then
        ``disconnect_cb`` is called.
        """
        context = client_context(ssl_config)  # unreadable files raise here
        if self._task is not None:
            raise RuntimeError("this Receiver is already connected; close() it first")
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                                    self.handshake_timeout)
        except asyncio.TimeoutError:
            raise HandshakeTimeout(f"connecting to the broadcaster at {host}:{port}",
                                   self.handshake_timeout) from None
        except OSError as exc:
            raise ServerUnreachable(f"cannot connect to {host}:{port}: {exc}") from exc
        if context is not None:
            reader, writer = await start_tls(reader, writer, context, host, port,
                                             self.handshake_timeout)
        writer.write(HELLO + self.name.encode("utf-8") + b"\n")
        self._writer = writer
        self._task = asyncio.ensure_future(self._run(reader, writer))

    async def close(self) -> None:
        """Stop receiving and disconnect (the socket is closed when this
        returns); ``disconnect_cb`` is not called."""
        task, self._task = self._task, None
        writer, self._writer = self._writer, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if writer is not None:
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), self.handshake_timeout)
            except asyncio.TimeoutError:  # the broadcaster does not read what is left
                writer.transport.abort()
            except OSError:
                pass

    async def _run(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Receive until the connection ends, then tell ``disconnect_cb``.
        Cancellation (:meth:`close`) skips the callback."""
        ssl_object = writer.get_extra_info("ssl_object")  # gone once closed
        try:
            await self._receive(reader)
        except (ProtocolViolation, MessageTooLarge) as exc:
            logger.error("receiver of channel %r: %s", self.name, exc)
        except OSError as exc:
            if not session_refused(ssl_object):
                logger.info("receiver of channel %r: connection lost: %r", self.name, exc)
        if session_refused(ssl_object):
            logger.error("receiver of channel %r: the broadcaster closed the connection as "
                         "soon as the TLS handshake ended, without accepting the session: it "
                         "does not accept this side's certificate (is it in the "
                         "broadcaster's peer_cert?)", self.name)
        writer.close()
        if self._task is asyncio.current_task():
            self._task = None
            self._writer = None
        if self.disconnect_cb is not None:
            try:
                self.disconnect_cb()
            except Exception:
                logger.exception("disconnect callback of receiver %r failed", self.name)

    async def _receive(self, reader: asyncio.StreamReader) -> None:
        """Decode and deliver lines until the end of the stream.  Reads in
        large chunks and splits each into all its lines at once."""
        buffer = LineBuffer(self.max_message_size)
        decode = pyon.decode
        while True:
            data = await reader.read(READ_CHUNK)
            if not data:
                if buffer.buffered:
                    raise ProtocolViolation("the broadcaster closed the connection in the "
                                            "middle of a value")
                return
            buffer.feed(data)
            for line in buffer.take_lines():
                if type(line) is LineTooLong:
                    raise MessageTooLarge("a broadcast value", line.size,
                                          self.max_message_size)
                try:
                    value = decode(line)
                except DecodeError as exc:
                    raise ProtocolViolation(f"a line that is not PYON: {exc}") from None
                self._deliver(value)
            if buffer.overflow:
                raise MessageTooLarge("a broadcast value", buffer.overflow,
                                      self.max_message_size, at_least=True)

    def _deliver(self, value: Any) -> None:
        for cb in self.notify_cbs:
            try:
                cb(value)
            except Exception:
                logger.exception("notify callback %r of receiver %r failed", cb, self.name)
