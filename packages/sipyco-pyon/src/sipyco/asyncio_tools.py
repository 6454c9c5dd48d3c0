"""Small asyncio building blocks shared by SiPyCo's servers and clients.

This module has two names: ``sipyco.asyncio_tools`` (sipyco 1.8) and
``sipyco.tools`` (the name 1.10 gave it); both hold the same objects and
both ship in sipyco-pyon, so code written for either release imports with
any SiPyCo distribution installed.

Upstream 1.10 makes ``import sipyco.asyncio_tools`` emit a
DeprecationWarning.  This one does not, on purpose: test suites written for
1.8 often run with ``-W error`` (or ``filterwarnings = error``), where such a
warning is an import failure, and the point of this implementation is that
code written for either release runs unchanged.  Neither name is going away
here, so there is nothing to warn about.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import signal
import ssl
import warnings
import weakref
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from . import _tls
from ._bounds import DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, check_count

__all__ = ["AsyncioServer", "TaskObject", "SignalHandler", "atexit_register_coroutine",
           "peer_name", "Condition", "BackgroundTaskPool", "SimpleSSLConfig", "HAS_SIGHUP"]

logger = logging.getLogger(__name__)

_SIGHUP = getattr(signal, "SIGHUP", None)  # not on Windows
#: Whether this platform has SIGHUP (which SignalHandler then also handles).
HAS_SIGHUP = _SIGHUP is not None

# Seconds between two warnings about refused connections (see AsyncioServer).
_REFUSAL_LOG_INTERVAL = 60.0


class AsyncioServer:
    """A TCP server running one coroutine per connection.

    Subclasses implement ``_handle_connection_cr(reader, writer)``.  The
    server closes the writer when that coroutine ends, however it ends, and
    :meth:`stop` cancels the connections still open.  Protocols read with
    ``reader.read()`` into their own bounded line buffer
    (:mod:`sipyco._framing`), never with ``readline``.

    At most ``max_connections`` connections are served at once; one arriving
    beyond that is closed at once, unread.  The first refusal logs one
    WARNING naming the limit; later ones are counted, and reported in the
    next such warning (at most one a minute), not one line each.
    """

    def __init__(self, *, max_connections: int = DEFAULT_MAX_CONNECTIONS) -> None:
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task] = set()
        self.max_connections = check_count(max_connections, "max_connections")
        self._full = False             # refusing, and none taken since the first refusal
        self._refused = 0              # refusals not yet reported in a log line
        self._refusal_logged: float | None = None  # loop time of the last such line

    async def start(self, host: str | Iterable[str] | None, port: int,
                    ssl_config: SimpleSSLConfig | None = None) -> None:
        """Listen on ``host`` (an address, a list of them, or ``None`` for every
        interface) and ``port`` (0 picks a free one, see :attr:`port`).
        Call :meth:`stop` to release the resources afterwards.

        With ``ssl_config`` (a :class:`~sipyco.asyncio_tools.SimpleSSLConfig`), every connection is
        mutual TLS: a client must present a certificate found in its
        ``peer_cert`` and complete the handshake within the server's
        ``handshake_timeout`` (10 s by default), before anything it sends
        is read.  A failed handshake is logged as one WARNING naming the
        server, the client and the reason (``Server on port 3249: TLS
        handshake with 10.0.0.7:51234 failed: the client's certificate is
        not trusted (...)``), its socket is closed, and the server goes on
        serving.  Unreadable certificate files raise OSError (or
        ssl.SSLError) here, before anything listens.
        """
        context = _tls.server_context(ssl_config)
        if self._server is not None:
            raise RuntimeError("server already started")
        if host is not None and not isinstance(host, str):
            host = list(host)
        if context is None:
            self._server = await asyncio.start_server(self._accept, host, port)
        else:
            def admit(transport: asyncio.Transport) -> bool:
                # TLS handshakes in progress count as connections (they are
                # tasks in _connections until the handshake ends)
                if len(self._connections) < self.max_connections:
                    return True
                self._refuse(asyncio.StreamWriter(transport, transport.get_protocol(), None,
                                                  asyncio.get_running_loop()))
                return False

            timeout = getattr(self, "handshake_timeout", None) or DEFAULT_HANDSHAKE_TIMEOUT
            self._server = await _tls.start_server(
                self._accept, host, port, context, handshake_timeout=timeout,
                tasks=self._connections, log=logger, admit=admit,
                ended=self._connection_ended, name=type(self).__name__)

    @property
    def port(self) -> int:
        """The TCP port actually bound (useful after starting on port 0)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("server is not listening")
        return self._server.sockets[0].getsockname()[1]

    @property
    def server(self):
        """The underlying :class:`asyncio.Server` (None before :meth:`start`)."""
        return self._server

    async def stop(self) -> None:
        """Stop listening, cancel every open connection and wait for them."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._connections) >= self.max_connections:
            self._refuse(writer)
            return
        self._full = False  # taken: the next refusal starts a new episode
        task = asyncio.ensure_future(self._serve(reader, writer))
        self._connections.add(task)
        task.add_done_callback(self._connection_ended)

    def _connection_ended(self, task: asyncio.Task) -> None:
        """A connection's task (or a TLS handshake's) has ended."""
        self._connections.discard(task)
        if self._full and len(self._connections) < self.max_connections:
            self._full = False  # room again: the next refusal starts a new episode

    def _refuse(self, writer: asyncio.StreamWriter) -> None:
        """Close a connection over max_connections; log once per episode of
        refusals (and at most once per _REFUSAL_LOG_INTERVAL)."""
        writer.transport.abort()  # unread, and its descriptor released at once
        self._refused += 1
        if self._full:
            return
        self._full = True
        now = asyncio.get_running_loop().time()
        last = self._refusal_logged
        if last is not None and now - last < _REFUSAL_LOG_INTERVAL:
            return
        self._refusal_logged = now
        refused, self._refused = self._refused, 0
        logger.warning("%s on port %s: max_connections=%d reached, refusing new connections "
                       "until some close (%d refused since the last report)",
                       type(self).__name__, self._port_or_none(), self.max_connections,
                       refused)

    def _port_or_none(self) -> int | None:
        try:
            return self.port
        except RuntimeError:
            return None

    async def _serve(self, reader, writer) -> None:
        try:
            await self._handle_connection_cr(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("error while serving %s", peer_name(writer))
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError, asyncio.CancelledError):
                pass

    async def _handle_connection_cr(self, reader: asyncio.StreamReader,
                                    writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


def peer_name(writer: asyncio.StreamWriter) -> str:
    """``host:port`` of a connection's peer, for log messages.

    ``writer`` is the connection's ``asyncio.StreamWriter``.  Never raises:
    when the peer's address cannot be had, returns ``"a client"``."""
    try:
        return "{}:{}".format(*writer.get_extra_info("peername")[:2])
    except Exception:  # noqa: BLE001 - only used to word a log message
        return "a client"


# Event loops TaskObject.start made for a thread that had none: the loop
# simple_server_loop then runs (and closes, as one of its own).
_MADE_FOR_START: weakref.WeakSet = weakref.WeakSet()


def idle_thread_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop set for this thread (``asyncio.set_event_loop``), if
    there is one, it is not closed and nothing runs it; else None.  Never
    makes one (where ``asyncio.get_event_loop`` would, it is asked with its
    deprecation warning made an error)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop()
        except (RuntimeError, DeprecationWarning):
            return None
    if loop.is_closed() or loop.is_running():
        return None
    return loop


def made_for_start(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether :meth:`TaskObject.start` made ``loop`` (see there)."""
    return loop in _MADE_FOR_START


class TaskObject:
    """Something that runs one background task: subclasses implement
    ``_do()``; :meth:`start` launches it, :meth:`stop` cancels and awaits it.
    An exception escaping ``_do`` (other than cancellation) is logged, then
    ends the task with that exception."""

    task: asyncio.Task | None = None

    def start(self, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Launch the task: on ``loop`` if given, else on the running loop.
        Called where no loop runs (a controller's ``main`` before
        :func:`~sipyco.pc_rpc.simple_server_loop`), it goes on the event
        loop set for this thread, which is made and set if there is none:
        the task runs once that loop runs, and ``simple_server_loop``
        runs it."""
        if self.task is not None and not self.task.done():
            raise RuntimeError("already started")
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = idle_thread_loop()
                if loop is None:
                    loop = asyncio.new_event_loop()
                    asyncio.set_event_loop(loop)
                    _MADE_FOR_START.add(loop)
        self.task = loop.create_task(self._run_logged())

    async def _run_logged(self) -> None:
        try:
            await self._do()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s task failed", type(self).__name__)
            raise

    async def stop(self) -> None:
        """Cancel the task and wait until it has ended (at once if it was
        never started or has ended already).  Its exception, if it failed,
        is not raised here: it was logged when it happened."""
        task, self.task = self.task, None
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def _do(self) -> None:
        raise NotImplementedError


class SignalHandler:
    """Turns SIGINT, SIGTERM and (where the platform has it) SIGHUP into an
    awaitable event.

    Call :meth:`setup` (from the thread running, or about to run, the event
    loop), await :meth:`wait_terminate`, and :meth:`teardown` to restore the
    previous handlers.  A SIGHUP that the process was started ignoring (as
    under ``nohup``) stays ignored.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM) + ((_SIGHUP,) if _SIGHUP is not None else ())

    def __init__(self) -> None:
        self._previous: dict[int, Any] = {}
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.received: int | None = None

    def setup(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Install the handlers (from the main thread, as Python requires).
        ``loop``: the loop :meth:`wait_terminate` will run on; by default the
        running loop, else the thread's current one.  A signal that arrives
        before anyone waits is kept, and the next wait returns at once."""
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = asyncio.get_event_loop_policy().get_event_loop()
        self._loop = loop
        self._event = asyncio.Event()
        for sig in self.SIGNALS:
            if sig == _SIGHUP and signal.getsignal(sig) is signal.SIG_IGN:
                continue  # started under nohup: the user asked to ignore it
            self._previous[sig] = signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        self.received = signum
        loop, event = self._loop, self._event
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)

    async def wait_terminate(self) -> int:
        """Wait for one of the signals; returns the signal number."""
        if self._event is None:
            raise RuntimeError("call setup() first")
        await self._event.wait()
        return self.received

    def teardown(self) -> None:
        """Put back the handlers that :meth:`setup` replaced."""
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()


def atexit_register_coroutine(coroutine: Callable[[], Coroutine],
                              *, loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Run ``coroutine()`` to completion on ``loop`` when the interpreter exits.

    Without ``loop``: the running loop when called from one, else the
    thread's current loop, so the usual ``main()`` can register its cleanup
    after ``asyncio.set_event_loop(loop)`` and before running anything.
    Nothing runs at exit if the loop has been closed by then.
    """
    if loop is None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = asyncio.get_event_loop_policy().get_event_loop()

    def run() -> None:
        if not loop.is_closed():
            loop.run_until_complete(coroutine())

    atexit.register(run)


class Condition:
    """Tasks wait until something happens; :meth:`notify` wakes every task
    waiting at that moment (later waiters wait for the next notification).

    Unlike :class:`asyncio.Condition` there is no lock to hold.  ``loop`` is
    accepted for compatibility and otherwise unused: waiting happens on the
    running loop.  Use it from that loop's thread only.
    """

    def __init__(self, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._waiters: list[asyncio.Future] = []

    async def wait(self) -> None:
        """Return after the next :meth:`notify`."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if waiter in self._waiters:  # cancelled before being notified
                self._waiters.remove(waiter)

    def notify(self) -> None:
        """Wake every task currently in :meth:`wait`."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


class BackgroundTaskPool:
    """Fire-and-forget tasks that are not lost: :meth:`create` starts a task
    and keeps a reference to it until it finishes (asyncio itself keeps only
    weak ones, so an unreferenced task may vanish mid-run).  An exception
    ending a task is logged.  :meth:`stop` cancels what is still running and
    waits for it.  ``loop`` is the loop tasks run on (default: the running
    loop at each :meth:`create`).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop
        self._tasks: set[asyncio.Task] = set()

    def create(self, coro: Coroutine) -> asyncio.Task:
        """Run ``coro`` as a task; returns the task."""
        loop = self.loop if self.loop is not None else asyncio.get_running_loop()
        task = loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task failed", exc_info=task.exception())

    @property
    def tasks(self) -> frozenset[asyncio.Task]:
        """The tasks still running."""
        return frozenset(self._tasks)

    def __len__(self) -> int:
        return len(self._tasks)

    async def stop(self) -> None:
        """Cancel every task still running and wait until all have ended."""
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.difference_update(tasks)


class SimpleSSLConfig:
    """Where this side's TLS certificate and key are, and which peers it trusts.

    ``local_cert`` and ``local_key`` are PEM files of this side's certificate
    and private key; ``peer_cert`` a PEM file holding the certificate(s) of
    the peers to accept (several may be concatenated).  Both ends present a
    certificate and both require one from the other (mutual authentication);
    trust is exactly ``peer_cert``, never the system's authorities, and host
    names are not checked (lab machines are known by certificate, not name).
    The files are read when a context is made; a missing or unreadable file
    raises OSError (or ssl.SSLError) there.
    """

    def __init__(self, local_cert: str, local_key: str, peer_cert: str) -> None:
        self.local_cert = local_cert
        self.local_key = local_key
        self.peer_cert = peer_cert

    def _context(self, protocol: int) -> ssl.SSLContext:
        context = ssl.SSLContext(protocol)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = False
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_cert_chain(self.local_cert, self.local_key)
        context.load_verify_locations(cafile=self.peer_cert)
        return context

    def create_client_context(self) -> ssl.SSLContext:
        """A context for the connecting side."""
        return self._context(ssl.PROTOCOL_TLS_CLIENT)

    def create_server_context(self) -> ssl.SSLContext:
        """A context for the listening side; clients without a trusted
        certificate are refused during the handshake."""
        return self._context(ssl.PROTOCOL_TLS_SERVER)

    def __repr__(self) -> str:
        return (f"SimpleSSLConfig(local_cert={self.local_cert!r}, "
                f"local_key={self.local_key!r}, peer_cert={self.peer_cert!r})")
