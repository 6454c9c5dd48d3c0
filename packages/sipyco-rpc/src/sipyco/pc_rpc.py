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
import logging
from typing import Any

from sipyco._bounds import DEFAULT_MAX_MESSAGE_SIZE
from sipyco.asyncio_tools import SignalHandler
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
                       *, loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Serve ``targets`` until Ctrl-C, SIGTERM, or a client's ``terminate()``.

    ``host`` is an address or a list of them (as ``bind_address_from_args``
    returns).  A new event loop is used and closed unless ``loop`` is given.
    With ``ssl_config`` (a :class:`~sipyco.tools.SimpleSSLConfig`) every
    connection is mutual TLS (see :meth:`Server.start`).
    """
    own_loop = loop is None
    if own_loop:
        loop = asyncio.new_event_loop()
    try:
        signals = SignalHandler()
        signals.setup(loop)
        try:
            server = Server(targets, description, builtin_terminate=True,
                            allow_parallel=allow_parallel)
            loop.run_until_complete(server.start(host, port, ssl_config))
            try:
                loop.run_until_complete(_wait_for_end(server, signals))
            finally:
                loop.run_until_complete(server.stop())
        finally:
            signals.teardown()
    finally:
        if own_loop:
            loop.close()


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
