"""Small asyncio building blocks shared by SiPyCo's servers and clients."""

from __future__ import annotations

import asyncio
import atexit
import logging
import signal
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

__all__ = ["AsyncioServer", "TaskObject", "SignalHandler", "atexit_register_coroutine",
           "peer_name"]

logger = logging.getLogger(__name__)


class AsyncioServer:
    """A TCP server running one coroutine per connection.

    Subclasses implement ``_handle_connection_cr(reader, writer)``.  The
    server closes the writer when that coroutine ends, however it ends, and
    :meth:`stop` cancels the connections still open.  Protocols read with
    ``reader.read()`` into their own bounded line buffer
    (:mod:`sipyco._framing`), never with ``readline``.
    """

    def __init__(self) -> None:
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task] = set()

    async def start(self, host: str | Iterable[str] | None, port: int) -> None:
        """Listen on ``host`` (an address, a list of them, or ``None`` for every
        interface) and ``port`` (0 picks a free one, see :attr:`port`).
        Call :meth:`stop` to release the resources afterwards."""
        if self._server is not None:
            raise RuntimeError("server already started")
        if host is not None and not isinstance(host, str):
            host = list(host)
        self._server = await asyncio.start_server(self._accept, host, port)

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
        task = asyncio.ensure_future(self._serve(reader, writer))
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)

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
    """``host:port`` of a connection's peer, for log messages."""
    try:
        return "{}:{}".format(*writer.get_extra_info("peername")[:2])
    except Exception:  # noqa: BLE001 - only used to word a log message
        return "a client"


class TaskObject:
    """Something that runs one background task: subclasses implement
    ``_do()``; :meth:`start` launches it, :meth:`stop` cancels and awaits it."""

    task: asyncio.Task | None = None

    def start(self, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if self.task is not None and not self.task.done():
            raise RuntimeError("already started")
        self.task = asyncio.ensure_future(self._do(), loop=loop)

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def _do(self) -> None:
        raise NotImplementedError


class SignalHandler:
    """Turns SIGINT and SIGTERM into an awaitable event.

    Call :meth:`setup` (from the thread running, or about to run, the event
    loop), await :meth:`wait_terminate`, and :meth:`teardown` to restore the
    previous handlers.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self._previous: dict[int, Any] = {}
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.received: int | None = None

    def setup(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = asyncio.get_event_loop_policy().get_event_loop()
        self._loop = loop
        self._event = asyncio.Event()
        for sig in self.SIGNALS:
            self._previous[sig] = signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        self.received = signum
        loop, event = self._loop, self._event
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)

    async def wait_terminate(self) -> int:
        """Wait for SIGINT or SIGTERM; returns the signal number."""
        if self._event is None:
            raise RuntimeError("call setup() first")
        await self._event.wait()
        return self.received

    def teardown(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()


def atexit_register_coroutine(coroutine: Callable[[], Coroutine],
                              *, loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Run ``coroutine()`` to completion on ``loop`` when the interpreter exits.

    ``loop`` must be given unless this is called from a running event loop.
    """
    if loop is None:
        loop = asyncio.get_running_loop()

    def run() -> None:
        if not loop.is_closed():
            loop.run_until_complete(coroutine())

    atexit.register(run)
