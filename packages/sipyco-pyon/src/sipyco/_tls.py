"""Where every connection point meets ``ssl_config``: mutual TLS, once.

``ssl_config`` is what upstream 1.10 takes: a
:class:`~sipyco.tools.SimpleSSLConfig` (or any object with
``create_server_context()`` / ``create_client_context()``), or None for plain
TCP.  An :class:`ssl.SSLContext` is accepted as well and used as it is (for
a lab with its own certificate authority, say): its verification settings
are then the caller's business.

Servers (:func:`start_server`) accept plain TCP connections and make the TLS
handshake in a task of their own, so that a failed handshake is known: it is
logged in one line naming the peer and the reason, the socket is closed, and
nothing of the connection ever reaches the protocol's handler.  (Handing the
context to ``asyncio.start_server`` instead would have asyncio make the
handshake and drop a failed one without a word outside debug mode.)

Clients make the TCP connection first and the handshake second
(:func:`start_tls`, :func:`wrap_socket`), so that a failed handshake can be
told from nobody listening: it raises :class:`~sipyco.errors.TLSError`
naming the reason, or :class:`~sipyco.errors.HandshakeTimeout`.

With TLS 1.3 a client finishes its handshake before the server has checked
the client's certificate; a server that refuses the certificate then simply
closes the connection (asyncio sends no alert).  A client tells that apart
from a server that accepted it and closed for its own reasons by the session
tickets a TLS 1.3 server sends once it has accepted the client
(:func:`session_refused`).  Clients that read during their protocol's opening
exchange (pc_rpc, sync_struct) then raise :func:`refused`'s TLSError at
connect; those that never read there (broadcast receivers, log forwarders)
say so when the connection ends.

A connection a server closes because it is over ``max_connections`` (see
``AsyncioServer``) is closed before its handshake: TLS handshakes in
progress count as connections.

A plain-TCP server that receives the start of a TLS handshake
(:func:`began_tls`) hangs up at once and logs :func:`log_tls_on_plain`'s
line, so that the TLS client fails at its handshake rather than at the
server's handshake deadline.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable
from typing import Any

from .errors import ConnectionClosed, HandshakeTimeout, TLSError

__all__ = ["server_context", "client_context", "start_server", "start_tls", "wrap_socket",
           "handshake_error", "session_refused", "refused", "describe", "closed_on_plain",
           "TLS_RECORD_START", "began_tls", "log_tls_on_plain"]

#: Bytes a StreamReader buffers before pausing its transport (asyncio's default).
_STREAM_LIMIT = 1 << 16

# What OpenSSL says when the bytes it gets are not TLS at all.
_NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "HTTPS_PROXY_REQUEST",
                      "UNKNOWN_PROTOCOL", "PACKET_LENGTH_TOO_LONG", "RECORD_LENGTH_MISMATCH",
                      "UNSUPPORTED_PROTOCOL"})
# The alerts a peer sends when it does not accept the certificate it got.
_CERT_ALERTS = ("ALERT_UNKNOWN_CA", "ALERT_BAD_CERTIFICATE", "ALERT_CERTIFICATE_UNKNOWN",
                "ALERT_CERTIFICATE_REQUIRED", "ALERT_UNSUPPORTED_CERTIFICATE",
                "ALERT_CERTIFICATE_EXPIRED", "ALERT_CERTIFICATE_REVOKED")


#: Added to what a plain-TCP client says when a server hangs up before its
#: protocol's first answer: what a TLS server does to such a client.
_PLAIN_HINT = "(a server that requires TLS does this to a client without ssl_config)"

#: How a TLS client's first bytes begin: a handshake record (content type
#: 22) of protocol version 3.x.  No SiPyCo protocol can open so: each opens
#: with a line of ASCII text.
TLS_RECORD_START = b"\x16\x03"


def began_tls(start: bytes | bytearray) -> bool:
    """Whether ``start``, the first bytes a peer sent to a plain-TCP server,
    are the start of a TLS handshake."""
    return start[:len(TLS_RECORD_START)] == TLS_RECORD_START


def log_tls_on_plain(log: logging.Logger, peer: str) -> None:
    """The one line a plain-TCP server logs when it hangs up on a TLS client."""
    log.info("%s began a TLS handshake, but this server has no ssl_config (plain TCP): "
             "hanging up", peer)


# ---------------------------------------------------------------- contexts ---

def _context(ssl_config: Any, side: str) -> ssl.SSLContext | None:
    if ssl_config is None:
        return None
    if isinstance(ssl_config, ssl.SSLContext):
        wrong = ssl.PROTOCOL_TLS_CLIENT if side == "server" else ssl.PROTOCOL_TLS_SERVER
        if ssl_config.protocol == wrong:
            raise ValueError(f"ssl_config: this SSLContext is for the other side "
                             f"(a {side} needs PROTOCOL_TLS_{side.upper()})")
        return ssl_config
    make = getattr(ssl_config, f"create_{side}_context", None)
    if not callable(make):
        raise TypeError(f"ssl_config must be a SimpleSSLConfig (or an ssl.SSLContext) "
                        f"or None, not {type(ssl_config).__name__}")
    return make()


def server_context(ssl_config: Any) -> ssl.SSLContext | None:
    """The context a server uses for ``ssl_config`` (None: plain TCP).  A
    missing or unreadable file raises OSError, a bad one ssl.SSLError: the
    caller's mistakes, raised before anything listens."""
    return _context(ssl_config, "server")


def client_context(ssl_config: Any) -> ssl.SSLContext | None:
    """The context a client uses for ``ssl_config`` (None: plain TCP); raises
    as :func:`server_context` does, before anything connects."""
    return _context(ssl_config, "client")


# ----------------------------------------------------------- what went wrong ---

def _reason_code(exc: BaseException) -> str:
    return (getattr(exc, "reason", None) or "").upper()


def describe(exc: BaseException, peer: str) -> str:
    """Why a TLS handshake failed, in words; ``peer`` is ``"client"`` or
    ``"server"`` (the other side, seen from here)."""
    code = _reason_code(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = exc.verify_message or code.lower() or str(exc)
        return f"the {peer}'s certificate is not trusted ({detail}; peer_cert must hold it)"
    if code == "PEER_DID_NOT_RETURN_A_CERTIFICATE":
        return f"the {peer} sent no certificate"
    if code in _NOT_TLS:
        return f"the {peer} does not speak TLS ({code.lower().replace('_', ' ')})"
    if any(code.endswith(alert) for alert in _CERT_ALERTS):
        return (f"the {peer} does not accept this side's certificate "
                f"({code.lower().replace('_', ' ')})")
    if isinstance(exc, ssl.SSLError) and "ALERT" in code:
        return f"the {peer} aborted the handshake ({code.lower().replace('_', ' ')})"
    if isinstance(exc, (ssl.SSLEOFError, ConnectionResetError, BrokenPipeError, EOFError)) \
            or code == "UNEXPECTED_EOF_WHILE_READING":
        if peer == "server":
            return ("the server closed the connection during the handshake (is it serving "
                    "TLS? does it accept this side's certificate?)")
        return ("the client closed the connection during the handshake (does it trust "
                "this server's certificate?)")
    if isinstance(exc, ssl.SSLError):
        return f"{code.lower().replace('_', ' ') or 'TLS error'}: {exc}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _timed_out(exc: BaseException) -> bool:
    # how asyncio ends a handshake past ssl_handshake_timeout
    return isinstance(exc, (TimeoutError, asyncio.TimeoutError)) or (
        isinstance(exc, ConnectionAbortedError) and "taking longer" in str(exc))


def handshake_error(exc: BaseException, where: str, timeout: float) -> Exception:
    """The exception a client raises for its TLS handshake with ``where``
    (``host:port``) failing with ``exc``: HandshakeTimeout or TLSError."""
    if _timed_out(exc):
        return HandshakeTimeout(f"the TLS handshake with {where} (is it serving TLS?)",
                                timeout)
    return TLSError(f"TLS handshake with {where} failed: {describe(exc, 'server')}")


def session_refused(ssl_object: Any) -> bool:
    """Whether a server that has just closed a TLS connection most likely
    refused this client's certificate: it never accepted the session (a
    TLS 1.3 server that accepts the client sends session tickets, which
    arrive before anything else it sends).  False for plain connections."""
    if ssl_object is None:
        return False
    try:
        if ssl_object.version() not in ("TLSv1.3", None):
            return False  # before 1.3 a refused certificate fails the handshake itself
        session = ssl_object.session
    except (AttributeError, ValueError, OSError):
        return False
    return session is None or not session.has_ticket


def closed_on_plain(exc: BaseException) -> ConnectionClosed:
    """What a plain-TCP client raises when the server ends the connection
    (``exc``) before its protocol's first answer: ConnectionClosed, saying
    that a server requiring TLS does that."""
    said = str(exc) if isinstance(exc, ConnectionClosed) else f"connection failed: {exc}"
    return ConnectionClosed(f"{said} {_PLAIN_HINT}")


def refused(where: str) -> TLSError:
    """What a client raises when a server ends the connection right after
    the TLS handshake, before its protocol's first answer, without accepting
    the session (see :func:`session_refused`)."""
    return TLSError(f"{where} closed the connection as soon as the TLS handshake ended, "
                    "without accepting the session: it does not accept this side's "
                    "certificate (is it in the server's peer_cert?)")


# ------------------------------------------------------------------ servers ---

def _peer(transport: asyncio.BaseTransport) -> str:
    try:
        return "{}:{}".format(*transport.get_extra_info("peername")[:2])
    except Exception:  # noqa: BLE001 - only used to word a log message
        return "a client"


class _Handshaking(asyncio.Protocol):
    """A new TCP connection until its TLS handshake starts.

    The first bytes the client sends (the start of its ClientHello) are kept
    and reading is paused at once, so that nothing more is read before the
    TLS layer takes the connection over; the handshake then starts with the
    bytes kept.  (Pausing in connection_made instead does not hold on
    Python 3.10, whose transports start reading after it all the same.)
    """

    def __init__(self, begin: Callable[[asyncio.Transport, _Handshaking], None]):
        self._begin = begin
        self.transport: asyncio.Transport | None = None
        self.early = bytearray()
        #: done at the first bytes (result None) or at the end of the
        #: connection before them (result: an exception saying so)
        self.first: asyncio.Future | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.first = asyncio.get_running_loop().create_future()
        self._begin(transport, self)

    def data_received(self, data: bytes) -> None:
        self.early += data
        self.transport.pause_reading()
        if not self.first.done():
            self.first.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.first is not None and not self.first.done():
            self.first.set_result(exc or ConnectionResetError(
                "the client closed the connection before starting the handshake"))


def _feed(transport: asyncio.BaseTransport, data: bytes) -> None:
    """Hand ``data`` to the protocol now reading ``transport`` (the TLS
    layer), as if the transport had just received it."""
    protocol = transport.get_protocol()
    if isinstance(protocol, _Handshaking) or transport.is_closing():
        return  # the TLS layer never took over
    if isinstance(protocol, asyncio.BufferedProtocol):
        view = memoryview(data)
        while view:
            buffer = protocol.get_buffer(len(view))
            n = min(len(buffer), len(view))
            buffer[:n] = view[:n]
            protocol.buffer_updated(n)
            view = view[n:]
    else:
        protocol.data_received(data)


async def start_server(accept: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any],
                       host, port: int, context: ssl.SSLContext, *,
                       handshake_timeout: float, tasks: set, log: logging.Logger,
                       admit: Callable[[asyncio.Transport], bool] | None = None,
                       ended: Callable[[asyncio.Task], None] | None = None,
                       name: str = "server") -> asyncio.base_events.Server:
    """Listen like ``asyncio.start_server(accept, host, port)``, with every
    connection going through a TLS handshake (server side, ``context``) first.

    Each handshake runs as a task kept in ``tasks`` while it lasts (so that
    whoever stops the server cancels it with the connections; ``ended(task)``,
    default ``tasks.discard``, is its done callback); ``accept`` gets the
    stream pair only once the handshake succeeded.  A handshake that fails,
    or does not end within ``handshake_timeout`` seconds of connecting, is
    logged as one WARNING on ``log`` naming the server (``name`` and port),
    the peer and the reason, and its socket is closed.  ``admit(transport)``,
    if given, is asked first: when it says False the connection is closed at
    once, with no handshake (``admit`` says why, if anyone).
    """
    loop = asyncio.get_running_loop()

    def failed(transport: asyncio.Transport, peer: str, why: str) -> None:
        transport.abort()
        try:
            port = transport.get_extra_info("sockname")[1]
        except Exception:  # noqa: BLE001 - only used to word a log message
            port = "?"
        log.warning("%s on port %s: TLS handshake with %s failed: %s; connection closed",
                    name, port, peer, why)

    async def handshake(transport: asyncio.Transport, early: _Handshaking) -> None:
        peer = _peer(transport)
        deadline = loop.time() + handshake_timeout
        no_handshake = f"no TLS handshake within handshake_timeout={handshake_timeout:g} s"
        try:
            try:
                ended = await asyncio.wait_for(early.first, handshake_timeout)
            except asyncio.TimeoutError:
                failed(transport, peer, no_handshake)
                return
            if ended is not None:
                failed(transport, peer, str(ended) or describe(ended, "client"))
                return
            reader = asyncio.StreamReader(limit=_STREAM_LIMIT)
            protocol = asyncio.StreamReaderProtocol(reader, accept)
            starting = loop.create_task(loop.start_tls(
                transport, protocol, context, server_side=True,
                ssl_handshake_timeout=max(deadline - loop.time(), 1e-3)))
            # once start_tls has put the TLS layer in place (and scheduled its
            # connection_made and the resumption of reading), give it the
            # bytes already read, before anything newer
            await asyncio.sleep(0)
            loop.call_soon(_feed, transport, bytes(early.early))
            tls = await starting
        except asyncio.CancelledError:
            transport.abort()
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is logged, then dropped
            failed(transport, peer, no_handshake if _timed_out(exc) else describe(exc, "client"))
            return
        if tls is None or tls.is_closing():
            failed(transport, peer, "the connection ended with it")
            return
        tasks.discard(asyncio.current_task())  # from here on it is the handler's
        protocol.connection_made(tls)  # makes the writer and calls accept

    def begin(transport: asyncio.Transport, early: _Handshaking) -> None:
        if admit is not None and not admit(transport):
            transport.abort()
            return
        task = loop.create_task(handshake(transport, early))
        tasks.add(task)
        task.add_done_callback(tasks.discard if ended is None else ended)

    return await loop.create_server(lambda: _Handshaking(begin), host, port)


# ------------------------------------------------------------------ clients ---

async def start_tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    context: ssl.SSLContext, host: str, port: int, timeout: float
                    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Make the client side of a TLS handshake on a fresh stream pair (from
    ``asyncio.open_connection``, nothing read or written yet); returns the
    pair to use from then on.  On failure the connection is closed and
    TLSError or HandshakeTimeout raised."""
    where = f"{host}:{port}"
    transport = writer.transport
    loop = asyncio.get_running_loop()
    try:
        if hasattr(writer, "start_tls"):  # Python 3.11 and later
            await writer.start_tls(context, server_hostname=host,
                                   ssl_handshake_timeout=timeout)
            return reader, writer
        new_reader = asyncio.StreamReader(limit=_STREAM_LIMIT)
        protocol = asyncio.StreamReaderProtocol(new_reader)
        tls = await loop.start_tls(transport, protocol, context, server_hostname=host,
                                   ssl_handshake_timeout=timeout)
    except asyncio.CancelledError:
        transport.abort()
        raise
    except Exception as exc:  # noqa: BLE001 - turned into ours
        transport.abort()
        raise handshake_error(exc, where, timeout) from None
    protocol.connection_made(tls)
    new_writer = asyncio.StreamWriter(tls, protocol, new_reader, loop)
    # keep the plain writer while the new one lives: where dropping a writer
    # closes its transport, that would close the TCP connection under TLS
    new_writer._sipyco_plain_writer = writer
    return new_reader, new_writer


def wrap_socket(sock: socket.socket, context: ssl.SSLContext, host: str, port: int,
                timeout: float) -> ssl.SSLSocket:
    """The client side of a TLS handshake on a connected blocking socket,
    within ``timeout`` seconds.  On failure ``sock`` is closed and TLSError
    or HandshakeTimeout raised."""
    sock.settimeout(timeout)
    try:
        return context.wrap_socket(sock, server_hostname=host)
    except Exception as exc:  # noqa: BLE001 - turned into ours
        sock.close()
        raise handshake_error(exc, f"{host}:{port}", timeout) from None
