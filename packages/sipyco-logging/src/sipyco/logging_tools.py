"""Forwarding log records to a central server, and the helpers around it.

A program adds a :class:`LogForwarder` to its loggers; it sends every record
to a :class:`Server`, which re-emits it locally through a logger of the same
name, with the sender's name in ``record.source``.  The line format is
sipyco's (``SOURCE:LEVEL:NAME:MESSAGE``, ``LEVEL<N>`` for N-line messages), so
upstream forwarders and servers interoperate with ours.

Unlike upstream, the forwarder never blocks or raises into the program: when
its queue is full it drops the oldest records and says how many once the
link is back; records queued while the server is away are delivered when it
returns.  The server skips a malformed line (logging a warning) instead of
dropping the connection.  The server and :class:`LogParser` (a child
process's console output) rebuild multi-line messages the same way, one
record each, counting continuation lines, so a message's own newlines cannot
forge records.

``AsyncioServer`` and ``TaskObject`` are :mod:`sipyco.asyncio_tools`' own,
importable from here as from sipyco 1.10's ``sipyco.logs``.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
import threading

from sipyco._bounds import (
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_LOG_MESSAGE_SIZE,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_MESSAGE_SIZE,
    HANDSHAKE_LINE_LIMIT,
    check_message_size,
    check_timeout,
)
from sipyco._framing import LineTooLong
from sipyco._logfmt import MultilineFormatter
from sipyco._streams import StreamLines, discard_until_closed
from sipyco._tls import (
    TLS_RECORD_START,
    began_tls,
    client_context,
    log_tls_on_plain,
    session_refused,
    start_tls,
)
from sipyco.asyncio_tools import AsyncioServer, TaskObject, peer_name
from sipyco.errors import HandshakeTimeout, TLSError

from ._logs.emit import emit_received
from ._logs.wire import (
    LEVELS,
    TRACE,
    MalformedLine,
    MessageAssembler,
    Record,
    RecordAssembler,
    parse_log_message,
)

__all__ = [
    "TRACE", "MultilineFormatter", "LogForwarder", "Server", "SourceFilter", "LogParser",
    "parse_log_message", "log_with_name", "multiline_log_config", "LEVELS",
    # sipyco.asyncio_tools' own objects, importable from here as in sipyco 1.10
    "AsyncioServer", "TaskObject",
]

logging.addLevelName(TRACE, "TRACE")
logger = logging.getLogger(__name__)

HELLO = b"ARTIQ logging\n"
# Lines one source may have taken before the log server lets the others in.
_FAIR_SHARE = 64


def log_with_name(name: str, *args, **kwargs) -> None:
    """``logging.getLogger(name).log(*args, **kwargs)``."""
    logging.getLogger(name).log(*args, **kwargs)


def _log_record(record: Record, source) -> None:
    """Re-emit a received record as the local logger of its name would,
    without creating loggers for names a peer invents (see _logs/emit.py)."""
    emit_received(record.name, record.level, record.message, source)


def multiline_log_config(level: int) -> logging.Handler:
    """Log to stderr at ``level`` in the ``LEVEL<N>:name:message`` format
    (what a controller manager parses with :class:`LogParser`)."""
    root = logging.getLogger()
    root.setLevel(level)
    handler = logging.StreamHandler()
    handler.setFormatter(MultilineFormatter())
    root.addHandler(handler)
    return handler


class SourceFilter:
    """Tags local records with ``local_source`` and passes them from
    ``local_level`` up; records that already carry another source (forwarded
    from elsewhere, and filtered there) always pass."""

    def __init__(self, local_level: int, local_source: str):
        self.local_level = local_level
        self.local_source = local_source

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` passes: a record without a source is given
        ``local_source`` first; a local one passes from ``local_level`` up,
        any other always."""
        if not hasattr(record, "source"):
            record.source = self.local_source
        if record.source == self.local_source:
            return record.levelno >= self.local_level
        return True


class LogParser:
    """Turns a child process's ``LEVEL<N>:name:message`` output (what
    :class:`MultilineFormatter` writes) back into log records, with
    ``source_cb()`` as their source.

    A message of N lines is one record, its lines joined by newlines: after a
    ``LEVEL<N>`` header the next N-1 lines are taken verbatim, whatever they
    hold, even if they look like headers.  Lines that do not parse become
    INFO records of logger ``print``, and so does a header announcing more
    than ``MAX_RECORD_LINES`` (100000) lines.  :meth:`flush` (which
    :meth:`stream_task` calls when the stream ends) emits a record still
    waiting for lines with those that arrived.
    """

    def __init__(self, source_cb):
        self.source_cb = source_cb
        self._assembler = MessageAssembler()

    def line_input(self, msg: str) -> None:
        """Take ``msg``, one line of output (a str without its newline).
        Nothing raises: a line that does not parse becomes a ``print`` record."""
        try:
            record = self._assembler.feed(msg)
        except MalformedLine:  # an absurd line count: not a header after all
            record = Record(None, logging.INFO, "print", msg)
        self._emit(record)

    def flush(self) -> None:
        """Emit the record still waiting for continuation lines, if any, with
        the lines it has; the next line is read as a header."""
        self._emit(self._assembler.flush())

    def _emit(self, record: Record | None) -> None:
        if record is not None:
            _log_record(record, self.source_cb())

    async def stream_task(self, stream: asyncio.StreamReader, *,
                          max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        """Parse ``stream`` line by line until it ends, then :meth:`flush`.
        A line longer than ``max_message_size`` is skipped with a warning (in
        a multi-line message, a placeholder line takes its place)."""
        lines = StreamLines(stream, max_message_size)
        try:
            while True:
                line = await lines.next()
                if isinstance(line, LineTooLong):
                    logger.warning("skipping a %d-byte line of output (over max_message_size=%d)",
                                   line.size, max_message_size)
                    self._emit(self._assembler.drop_line())
                    continue
                if line is None:  # the end; a last line may lack its newline
                    if lines.rest:
                        self.line_input(lines.rest.decode("utf-8", "replace").rstrip("\r"))
                    return
                self.line_input(line.decode("utf-8", "replace").rstrip("\r"))
        finally:
            self.flush()


class LogForwarder(logging.Handler, TaskObject):
    """A logging handler that sends records to a :class:`Server`.

    ``host`` (a name or address) and ``port`` say where the server listens.

    Add it to a logger and :meth:`~TaskObject.start` it on the event loop;
    :meth:`emit` only queues, so it never blocks and never raises.  Up to
    ``queue_size`` records wait while the server is unreachable (the oldest
    are dropped beyond that, and a WARNING record reports how many once the
    link is back; default 1000, and less than 1 raises ``ValueError``).
    Records written to a connection and not yet known to be sent count
    against ``queue_size`` too, so at no time does the forwarder hold more;
    a new record finding all of them in flight is the one dropped.  The
    connection is retried every ``reconnect_timer`` seconds (default 5).
    A record's source is its ``source`` attribute (see
    :class:`SourceFilter`), else ``source`` (default: the host name).  Other
    keyword arguments go to :class:`logging.Handler` (e.g. ``level``).

    With ``ssl_config`` (a :class:`~sipyco.tools.SimpleSSLConfig`) the
    connection is mutual TLS; unreadable certificate files raise OSError or
    ssl.SSLError here.  A TLS failure (a server certificate not in
    ``peer_cert``, a server that does not accept this side's certificate)
    is logged once as a WARNING on ``sipyco.logging_tools`` and retried like
    any other.  With TLS 1.3 a server refusing the certificate is only known
    when it closes the connection: records written in that instant are lost.
    """

    def __init__(self, host: str, port: int, reconnect_timer: float = 5.0,
                 queue_size: int = 1000, ssl_config=None, *, source: str | None = None,
                 **kwargs):
        self._ssl_context = client_context(ssl_config)  # unreadable files raise here
        self._tls_trouble: str | None = None  # the TLS failure last logged
        logging.Handler.__init__(self, **kwargs)
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.host = host
        self.port = port
        self.reconnect_timer = reconnect_timer
        self.queue_size = queue_size
        self.source = socket.gethostname() if source is None else source
        self.setFormatter(MultilineFormatter())
        self._queue: collections.deque[str] = collections.deque()
        self._queue_lock = threading.Lock()
        self._dropped = 0
        self._in_flight = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._wakeup: asyncio.Event | None = None
        self.connected = False

    # ---- the logging side: any thread, never blocks ----------------------

    def emit(self, record: logging.LogRecord) -> None:
        """Queue ``record`` to be sent (see the class: never blocks, never
        raises; past ``queue_size`` the oldest queued record is dropped)."""
        try:
            source = getattr(record, "source", None) or self.source
            line = f"{source}:{self.format(record)}\n"
            with self._queue_lock:
                # records written and not yet known to be sent count too:
                # never more than queue_size held, even while reconnecting
                if len(self._queue) + self._in_flight >= self.queue_size:
                    self._dropped += 1
                    if not self._queue:  # all are in flight: this one is the one to go
                        return
                    self._queue.popleft()
                self._queue.append(line)
            self._wake()
        except Exception:  # noqa: BLE001 - logging must never break the program
            self.handleError(record)

    def _wake(self) -> None:
        loop, event = self._loop, self._wakeup
        if loop is None or event is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            event.set()
        else:
            loop.call_soon_threadsafe(event.set)

    @property
    def queued(self) -> int:
        """Records not yet known to be sent (queued, or written and waiting
        for the connection to take them)."""
        return len(self._queue) + self._in_flight

    # ---- the network side: one task on the event loop ----------------------

    async def _do(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._wakeup = asyncio.Event()
        try:
            while True:
                trouble = ssl_object = None
                try:
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                    if self._ssl_context is not None:
                        reader, writer = await start_tls(reader, writer, self._ssl_context,
                                                         self.host, self.port,
                                                         DEFAULT_HANDSHAKE_TIMEOUT)
                        ssl_object = writer.get_extra_info("ssl_object")  # gone once closed
                except OSError as exc:
                    if isinstance(exc, (TLSError, HandshakeTimeout)):
                        trouble = str(exc)  # the TLS handshake failed
                    else:
                        await asyncio.sleep(self.reconnect_timer)
                        continue
                if trouble is None:
                    try:
                        await self._send_all(reader, writer)
                    except (OSError, asyncio.IncompleteReadError):
                        pass
                    finally:
                        self.connected = False
                        writer.close()
                    if session_refused(ssl_object):
                        trouble = (f"the log server at {self.host}:{self.port} closed the "
                                   "connection as soon as the TLS handshake ended, without "
                                   "accepting the session: it does not accept this side's "
                                   "certificate (is it in the server's peer_cert?)")
                if trouble is not None and trouble != self._tls_trouble:
                    logger.warning("cannot forward log records: %s; retrying every %g s",
                                   trouble, self.reconnect_timer)
                self._tls_trouble = trouble
                await asyncio.sleep(self.reconnect_timer)
        finally:
            self._wakeup = None

    async def _send_all(self, reader, writer) -> None:
        writer.write(HELLO)
        self.connected = True
        server_gone = asyncio.ensure_future(discard_until_closed(reader))
        try:
            while True:
                self._wakeup.clear()
                with self._queue_lock:  # records in flight leave the queue...
                    batch = list(self._queue)
                    self._queue.clear()
                    self._in_flight = len(batch)  # ...but still count against queue_size
                    dropped, self._dropped = self._dropped, 0
                if batch or dropped:
                    notice = [self._dropped_notice(dropped)] if dropped else []
                    try:
                        writer.write("".join(notice + batch).encode("utf-8", "replace"))
                        await writer.drain()
                    except BaseException:
                        self._requeue(batch, dropped)  # ...and come back if not sent
                        raise
                    with self._queue_lock:
                        self._in_flight = 0
                    continue
                wakeup = asyncio.ensure_future(self._wakeup.wait())
                try:
                    await asyncio.wait([wakeup, server_gone], return_when=asyncio.FIRST_COMPLETED)
                finally:
                    wakeup.cancel()
                if server_gone.done():
                    raise ConnectionResetError("the log server closed the connection")
        finally:
            server_gone.cancel()

    def _requeue(self, batch: list[str], dropped: int) -> None:
        """Put unsent records back in front of newer ones (some may already
        have arrived: a record may then be delivered twice, never lost
        silently).  Records in flight counted against ``queue_size`` while
        they were out, so together they still fit; the check stays, cheap."""
        with self._queue_lock:
            combined = batch + list(self._queue)
            excess = max(0, len(combined) - self.queue_size)
            self._queue.clear()
            self._queue.extend(combined[excess:])
            self._in_flight = 0
            self._dropped += dropped + excess

    def _dropped_notice(self, dropped: int) -> str:
        record = logging.LogRecord(
            __name__, logging.WARNING, __file__, 0,
            "%d log records were dropped while the log server was unreachable "
            "(queue_size=%d)", (dropped, self.queue_size), None)
        return f"{self.source}:{self.format(record)}\n"


class Server(AsyncioServer):
    """Receives records from forwarders and re-emits each one through the
    local logger of its name, with ``record.source`` set to the sender's.

    A malformed line is logged and skipped; the connection goes on.  Lines
    longer than ``max_message_size`` bytes are skipped the same way (inside a
    multi-line record, a placeholder takes the line's place), and a
    multi-line record keeps at most ``max_message_size`` characters (its
    further lines are dropped, and a last line says how many).  A peer must
    send the logging banner within ``handshake_timeout`` seconds; at most
    ``max_connections`` are served at once.  No logger is created for the
    names peers send: a name that is not a logger yet is handled as a new
    logger of that name would be, through its nearest existing ancestor.
    """

    def __init__(self, *, max_message_size: int = DEFAULT_LOG_MESSAGE_SIZE,
                 handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS):
        super().__init__(max_connections=max_connections)
        self.max_message_size = check_message_size(max_message_size)
        self.handshake_timeout = check_timeout(handshake_timeout, "handshake_timeout",
                                               allow_none=False)

    @staticmethod
    async def _hello(lines: StreamLines, writer: asyncio.StreamWriter) -> bytes | None:
        """The first line; None (hang up) for a client beginning TLS."""
        if began_tls(await lines.opening(len(TLS_RECORD_START))):
            log_tls_on_plain(logger, peer_name(writer))
            return None
        line = await lines.next()
        return line if type(line) is bytes else None

    async def _handle_connection_cr(self, reader: asyncio.StreamReader,
                                    writer: asyncio.StreamWriter) -> None:
        lines = StreamLines(reader, HANDSHAKE_LINE_LIMIT, hang_up_on_overflow=True)
        try:
            hello = await asyncio.wait_for(self._hello(lines, writer), self.handshake_timeout)
        except asyncio.TimeoutError:
            return
        if hello != HELLO[:-1]:
            return
        lines.hang_up_on_overflow = False
        lines.limit = self.max_message_size
        peer = peer_name(writer)
        assembler = RecordAssembler(max_record_size=self.max_message_size)
        taken = 0  # lines since this source last let the others be served
        while True:
            line = await lines.next()
            if line is None:
                break
            taken += 1
            if taken >= _FAIR_SHARE:
                # thousands of lines may already be here: let the event loop
                # serve the other sources now and then
                taken = 0
                await asyncio.sleep(0)
            if isinstance(line, LineTooLong):
                logger.warning("skipping a log line of %d bytes from %s (over "
                               "max_message_size=%d)", line.size, peer, self.max_message_size)
                record = assembler.drop_line()
            else:
                try:
                    record = assembler.feed(line.decode("utf-8", "replace"))
                except MalformedLine as exc:
                    logger.warning("skipping a malformed log line from %s: %s", peer, exc)
                    continue
            if record is not None:
                _log_record(record, record.source)
        record = assembler.flush()
        if record is not None:  # the sender left in the middle of a record
            _log_record(record, record.source)
