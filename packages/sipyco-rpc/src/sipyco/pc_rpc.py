"""Remote procedure calls between Python programs over TCP.

A :class:`Server` exposes objects ("targets"); :class:`Client`,
:class:`AsyncioClient` and :class:`BestEffortClient` call their public methods
as if they were local.  Arguments and results travel as PYON, so numpy
arrays, tuples, sets and dicts with any keys arrive as they were sent; the
server works on copies, so mutating an argument does not change the caller's
object.

The wire protocol is that of sipyco 1.8 and 1.10: our server serves their
clients and our clients talk to their servers, negotiating PYON v2 when both
sides offer it.  Unlike upstream, the server never evaluates what a client
sends, lets only public methods (no leading underscore) be called, answers
malformed requests with an error instead of hanging up, and has no 4 MiB
limit on message size (``max_message_size``, 1 GiB by default on both ends).

A minimal controller::

    from sipyco.pc_rpc import simple_server_loop

    class Lamp:
        def set_power(self, watts: float) -> None:
            self.watts = watts

    simple_server_loop({"lamp": Lamp()}, "127.0.0.1", 3249)

Errors: a remote method's exception is raised as a :class:`RemoteError`
that derives from the builtin class it raised (``except ValueError`` works),
or as :class:`GenericRemoteException` for other classes, each with
``parent_traceback``.
Connection failures are :class:`~sipyco.errors.TransportError` subclasses
that are also ``ConnectionRefusedError``, ``EOFError`` or ``TimeoutError``.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
from typing import Any

from sipyco._bounds import DEFAULT_MAX_MESSAGE_SIZE
from sipyco.asyncio_tools import SignalHandler, idle_thread_loop, made_for_start
from sipyco.errors import (
    CallTimeout,
    ConnectionClosed,
    GenericRemoteException,
    HandshakeTimeout,
    IncompatibleServer,
    MessageTooLarge,
    ProtocolViolation,
    RemoteError,
    RPCError,
    RPCTransportError,
    ServerUnreachable,
    TransportError,
)

# Re-exported, not part of __all__: sipyco 1.10 programs import them from here.
from sipyco.packed_exceptions import current_exc_packed, raise_packed_exc  # noqa: F401

from ._rpc.async_client import AsyncioClient
from ._rpc.server import Server
from ._rpc.sync_client import AutoTarget, BestEffortClient, Client

__all__ = [
    "Server", "Client", "AsyncioClient", "BestEffortClient", "AutoTarget",
    "simple_server_loop", "IncompatibleServer", "GenericRemoteException",
    "RPCError", "TransportError", "RPCTransportError", "ServerUnreachable", "ConnectionClosed",
    "CallTimeout", "HandshakeTimeout", "ProtocolViolation", "MessageTooLarge", "RemoteError",
    "DEFAULT_MAX_MESSAGE_SIZE",
]

logger = logging.getLogger("sipyco.pc_rpc")


def simple_server_loop(targets: dict[str, Any], host, port: int,
                       description: str | None = None, allow_parallel: bool = False,
                       ssl_config: Any = None,
                       *, loop: asyncio.AbstractEventLoop | None = None,
                       max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
    """Serve ``targets`` until Ctrl-C, SIGTERM, or a client's ``terminate()``.

    ``targets`` maps names to objects, as for :class:`Server`; an empty dict
    or a bad name raises ``ValueError``.  ``description`` (default None) is
    the free text the server sends clients with its target names.

    ``host`` is an address or a list of them (as ``bind_address_from_args``
    returns; None for every interface).  Each address and port listened on
    is logged at INFO (the real port when ``port`` is 0), and at DEBUG each
    call is logged as it comes.  A port that cannot be listened on (in use,
    or an address this host does not have) ends the program with one line
    naming it, not a traceback.

    ``allow_parallel``: let calls of different clients run at the same time
    (see :class:`Server`); without it a coroutine method holds every other
    client until it returns.  ``max_message_size``: the largest request and
    reply, in bytes (see :class:`Server`).  With ``ssl_config`` (a
    :class:`~sipyco.tools.SimpleSSLConfig`) every connection is mutual TLS
    (see :meth:`Server.start <sipyco.asyncio_tools.AsyncioServer.start>`).

    The event loop: ``loop`` if given; else the one set for this thread, if
    it is idle (so that tasks started before, such as a
    :class:`~sipyco.logging_tools.LogForwarder` started with ``start()``,
    run while the server does); else a new one.  Tasks still pending on it
    when serving ends are cancelled; a loop made here (or for such a task)
    is closed.
    """
    own_loop = loop is None
    if own_loop:
        loop = idle_thread_loop()
        if loop is None:
            loop = asyncio.new_event_loop()
        elif not made_for_start(loop):
            own_loop = False  # the program's own loop: left open
    try:
        signals = SignalHandler()
        signals.setup(loop)
        try:
            server = Server(targets, description, builtin_terminate=True,
                            allow_parallel=allow_parallel, max_message_size=max_message_size)
            try:
                loop.run_until_complete(server.start(host, port, ssl_config))
            except OSError as exc:
                raise SystemExit(_cannot_listen(exc, host, port, ssl_config)) from None
            for address, bound in _listening(server):
                logger.info("listening on %s port %d", address, bound)
            try:
                loop.run_until_complete(_wait_for_end(server, signals))
            finally:
                loop.run_until_complete(server.stop())
        finally:
            signals.teardown()
            _cancel_pending(loop)
    finally:
        if own_loop:
            loop.close()


def _listening(server: Server) -> list[tuple[str, int]]:
    """(address, port) of each socket ``server`` listens on."""
    return [sock.getsockname()[:2] for sock in server.server.sockets]


def _cannot_listen(exc: OSError, host, port: int, ssl_config: Any = None) -> str:
    """One line for a failed start: which address and port, and what to do
    (or which file: a certificate of ``ssl_config`` that cannot be read)."""
    for name in ("local_cert", "local_key", "peer_cert"):
        path = getattr(ssl_config, name, None)
        if isinstance(path, (str, os.PathLike)) and not os.access(path, os.R_OK):
            return f"cannot read {path} ({name} of ssl_config): " \
                   f"{os.strerror(errno.ENOENT if not os.path.exists(path) else errno.EACCES)}"
    hosts = [host] if isinstance(host, str) or host is None else list(host)
    culprit = None
    for h in hosts:  # which one: try each as the server did
        try:
            with socket.socket(socket.AF_INET6 if h and ":" in h else socket.AF_INET) as s:
                if hasattr(socket, "SO_REUSEADDR") and os.name == "posix":
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((h or "", port))
        except OSError:
            culprit = h
            break
    if culprit is not None:
        where = f"port {port} on {culprit or 'every interface'}"
    else:
        where = f"port {port} on every interface" if host is None else f"port {port}"
    if exc.errno == errno.EADDRINUSE:
        return (f"{where} is in use: is another controller running? "
                f"choose one with -p")
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: this host has no such address (see --bind)"
    return f"cannot listen on {where}: {exc.strerror or exc}"


def _cancel_pending(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the tasks still pending on ``loop`` and let them finish."""
    if loop.is_closed():
        return
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


async def _wait_for_end(server: Server, signals: SignalHandler) -> None:
    waits = [asyncio.ensure_future(signals.wait_terminate()),
             asyncio.ensure_future(server.wait_terminate())]
    try:
        done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
    if waits[0] in done and not waits[0].cancelled():
        logger.info("terminating on signal %s", waits[0].result())
    else:
        logger.info("terminating on client request")
