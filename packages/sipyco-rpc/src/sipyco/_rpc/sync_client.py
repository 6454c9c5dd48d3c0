"""Blocking-socket pc_rpc clients: Client and BestEffortClient.

Both drive a :class:`~.connection.ClientConnection`: this module only moves
bytes through a socket and applies deadlines.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from sipyco._bounds import DEFAULT_MAX_MESSAGE_SIZE
from sipyco._tls import (
    client_context,
    closed_on_plain,
    describe,
    refused,
    session_refused,
    wrap_socket,
)
from sipyco.errors import (
    CallTimeout,
    ConnectionClosed,
    HandshakeTimeout,
    IncompatibleServer,
    ServerUnreachable,
    TLSError,
    TransportError,
)

from .connection import NEED_DATA, ClientConnection
from .facade import ClientFacade, handshake_deadline
from .protocol import AutoTarget, check_target_name

__all__ = ["AutoTarget", "Client", "BestEffortClient"]

logger = logging.getLogger("sipyco.pc_rpc")

_RECV_SIZE = 1 << 18


class Client(ClientFacade):
    """Calls the methods of a remote target as if they were local.

    ``Client(host, port)`` connects at once (to the server's only target by
    default; ``target_name=None`` connects without selecting, see
    :meth:`select_rpc_target`).  ``c.foo(1, x=2)`` then runs ``foo`` on the
    server and returns its result, or raises the exception it raised (a
    :class:`~sipyco.errors.RemoteError` deriving from the builtin class it
    raised, or GenericRemoteException, each with the remote
    ``parent_traceback``).

    Only the target's methods exist as attributes: the server lists them
    right after target selection, and any other public name raises
    AttributeError when it is looked up (naming close matches), as upstream
    clients do; so does every name before a target is selected.  (A server
    that sends no method list lets every name through; the call then says.)

    Connection failures raise :class:`~sipyco.errors.TransportError`
    subclasses that are also what upstream raised: ServerUnreachable is a
    ConnectionRefusedError, ConnectionClosed an EOFError, CallTimeout a
    TimeoutError (``socket.timeout``).  ``timeout`` bounds each whole call
    (None: no bound); a call that times out closes the connection, so a late
    reply can never be returned to a later call.  ``handshake_timeout`` bounds
    connecting and the handshake (default: ``timeout`` if given, else 10 s).
    ``max_message_size`` bounds requests and replies.  Use as a context
    manager or call :meth:`close_rpc`.

    ``ssl_config`` (a :class:`~sipyco.tools.SimpleSSLConfig`) makes the
    connection mutual TLS, the handshake included in ``handshake_timeout``.
    A server whose certificate is not in ``peer_cert``, one that does not
    accept this side's certificate, or one that does not speak TLS raises
    :class:`~sipyco.errors.TLSError` (HandshakeTimeout if it stays silent);
    unreadable certificate files raise OSError or ssl.SSLError before
    connecting.
    """

    def __init__(self, host: str, port: int, target_name: Any = AutoTarget,
                 timeout: float | None = None, ssl_config: Any = None, *,
                 handshake_timeout: float | None = None,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE):
        context = client_context(ssl_config)  # unreadable files raise here
        handshake = handshake_deadline(handshake_timeout, timeout)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._conn = ClientConnection(max_message_size=max_message_size)
        deadline = time.monotonic() + handshake
        try:
            sock = socket.create_connection((host, port), handshake)
        except TimeoutError:
            self._conn.close("connecting timed out")
            raise HandshakeTimeout(f"connecting to {host}:{port}", handshake) from None
        except OSError as exc:
            self._conn.close("nobody accepted the connection")
            raise ServerUnreachable(f"cannot connect to {host}:{port}: {exc}") from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if context is not None:
            try:
                sock = wrap_socket(sock, context, host, port,
                                   max(deadline - time.monotonic(), 1e-3))
            except BaseException:
                self._conn.close("the TLS handshake failed")
                raise
        self._where = f"{host}:{port}"
        self._sock = sock
        self._sock_timeout: float | None = handshake
        self._local_host = sock.getsockname()[0]
        self._handshake_timeout = handshake
        self._handshake_timed_out = lambda: HandshakeTimeout(
            f"the handshake with {host}:{port}", handshake)
        self._call_timed_out = lambda: CallTimeout(
            f"no reply within {timeout} s; the connection was closed")
        try:
            try:
                self._send(self._conn.initiate(), deadline)
                self._next_event(deadline)
            except BaseException as exc:
                if isinstance(exc, (ConnectionClosed, ConnectionError, ssl.SSLEOFError)) \
                        and not isinstance(exc, TLSError):
                    if context is None:
                        error = closed_on_plain(exc)
                    elif session_refused(self._sock):
                        error = refused(f"the server at {host}:{port}")
                    else:
                        error = None
                    if error is not None:
                        self._abort(str(error))
                        raise error from None
                self._failed(exc, self._handshake_timed_out)
                raise
            target_name = self._conn.resolve_target(target_name)
            if target_name is not None:
                self._select(target_name, deadline)
        except BaseException:
            self._abort("the handshake failed")
            raise

    # ---- moving bytes

    def _time_left(self, deadline: float | None) -> None:
        """Set the socket's timeout to what is left until ``deadline``."""
        if deadline is None:
            if self._sock_timeout is not None:
                self._sock.settimeout(None)
                self._sock_timeout = None
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self._sock.settimeout(remaining)
        self._sock_timeout = remaining

    def _send(self, data: bytes, deadline: float | None) -> None:
        self._time_left(deadline)
        self._sock.sendall(data)

    def _next_event(self, deadline: float | None):
        while (event := self._conn.next_event()) is NEED_DATA:
            self._time_left(deadline)
            self._conn.receive_data(self._sock.recv(_RECV_SIZE))
        return event

    def _failed(self, exc: BaseException, timed_out: Callable[[], TransportError]) -> None:
        """Close the connection after a failure while bytes moved; raise what
        the failure means in the library's terms, or return to let the
        caller re-raise ``exc`` (already one of ours, or not an I/O error)."""
        if isinstance(exc, TransportError):
            self._abort(str(exc))
        elif isinstance(exc, TimeoutError):
            error = timed_out()
            self._abort(str(error))
            raise error from None
        elif isinstance(exc, ssl.SSLError):
            error = TLSError(f"TLS error on the connection with {self._where}: "
                             f"{describe(exc, 'server')}")
            self._abort(str(error))
            raise error from None
        elif isinstance(exc, OSError):
            self._abort(f"connection failed: {exc}")
            raise ConnectionClosed(f"connection failed: {exc}") from exc
        else:  # KeyboardInterrupt...: the stream is out of step all the same
            self._abort(f"interrupted by {type(exc).__name__}")

    def _abort(self, why: str) -> None:
        if self._conn is not None:
            self._conn.close(why)
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    # ---- the API

    def _select(self, target_name: str, deadline: float) -> None:
        line = self._conn.select(target_name)  # the caller's mistakes raise here
        try:
            self._send(line, deadline)
            self._next_event(deadline)
        except BaseException as exc:
            self._failed(exc, self._handshake_timed_out)
            raise

    def select_rpc_target(self, target_name: str) -> None:
        """Select a target by name (once, after connecting with ``target_name=None``)."""
        with self._lock:
            self._select(target_name, time.monotonic() + self._handshake_timeout)

    def get_rpc_method_list(self) -> dict:
        """``{"docstring": ..., "methods": {name: (argspec, docstring)}}``."""
        return self._request(self._conn.method_list_request)

    def close_rpc(self) -> None:
        """Close the connection; further calls raise ConnectionClosed."""
        self._abort("close_rpc() was called")

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close_rpc()

    def _request(self, make_line: Callable[..., bytes], *args: Any) -> Any:
        with self._lock:
            line = make_line(*args)  # the caller's mistakes raise here, nothing is sent
            timeout = self._timeout
            deadline = None if timeout is None else time.monotonic() + timeout
            try:
                self._send(line, deadline)
                reply = self._next_event(deadline)
            except BaseException as exc:
                self._failed(exc, self._call_timed_out)
                raise
        return reply.unwrap()

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        missing = self._conn.missing_method(name)
        if missing is not None:
            raise AttributeError(missing)
        request = self._request
        call = self._conn.call

        def remote_method(*args, **kwargs):
            return request(call, name, args, kwargs)
        remote_method.__name__ = name
        return remote_method


class BestEffortClient:
    """Like :class:`Client`, but network trouble never raises.

    Attribute names are checked against the method list of the current
    connection, as :class:`Client` does; while disconnected there is no list,
    so any public name gives a method that returns None.

    While disconnected, calls return None at once and a background thread
    reconnects every ``retry`` seconds; each connection attempt (the first
    one, in the constructor, included) waits at most ``firstcon_timeout``
    seconds.  Remote exceptions are still raised.  :meth:`close_rpc` stops
    the retrying promptly.  With ``ssl_config`` every connection is mutual
    TLS (a refused handshake counts as network trouble: logged and retried);
    unreadable certificate files raise OSError or ssl.SSLError at once.

    ``host`` and ``port`` say where the server is; ``target_name`` is the
    target to select on each connection (``AutoTarget``: the server's only
    one).  A target the server does not offer counts as network trouble too
    (logged and retried); any other name (``AutoTarget`` and ``None``
    aside) that is not a non-empty string without whitespace raises
    ``ValueError`` from the constructor, before any connection is tried.
    ``max_message_size`` (default 1 GiB) bounds requests and replies in
    bytes, as for :class:`Client`.
    """

    def __init__(self, host: str, port: int, target_name: Any,
                 firstcon_timeout: float = 1.0, retry: float = 5.0,
                 ssl_config: Any = None, *,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE):
        if target_name is not AutoTarget and target_name is not None:
            # at once: the background retries would otherwise meet it alone
            check_target_name(target_name)
        # made once: a retry never fails on the caller's files
        self.__ssl_context = client_context(ssl_config)
        self.__host = host
        self.__port = port
        self.__target_name = target_name
        self.__firstcon_timeout = firstcon_timeout
        self.__retry = retry
        self.__max = max_message_size
        self.__lock = threading.Lock()
        self.__stop = threading.Event()
        self.__thread: threading.Thread | None = None
        self.__client: Client | None = None
        try:
            self.__client = self.__connect()
        except (TransportError, IncompatibleServer) as exc:
            logger.warning("first connection to %s:%s failed (%s); retrying in the "
                           "background", host, port, exc)
            self.__start_retrying()

    def __connect(self) -> Client:
        # connecting and the handshake are bounded; calls then block as long
        # as the server takes, as upstream's do
        return Client(self.__host, self.__port, self.__target_name, None,
                      self.__ssl_context, handshake_timeout=self.__firstcon_timeout,
                      max_message_size=self.__max)

    def __start_retrying(self) -> None:
        if self.__stop.is_set() or (self.__thread is not None and self.__thread.is_alive()):
            return
        self.__thread = threading.Thread(target=self.__retry_loop, daemon=True,
                                         name=f"BestEffortClient {self.__host}:{self.__port}")
        self.__thread.start()

    def __retry_loop(self) -> None:
        while not self.__stop.wait(self.__retry):
            try:
                client = self.__connect()
            except (TransportError, IncompatibleServer) as exc:
                logger.debug("reconnection to %s:%s failed: %s", self.__host, self.__port, exc)
                continue
            with self.__lock:
                if self.__stop.is_set():
                    client.close_rpc()
                    return
                self.__client = client
            logger.info("reconnected to %s:%s", self.__host, self.__port)
            return

    def __do_rpc(self, call: Callable[[Client], Any], what: str) -> Any:
        with self.__lock:
            client = self.__client
        if client is None:
            return None
        try:
            return call(client)
        except TransportError as exc:
            logger.warning("RPC %s to %s:%s failed (%s); reconnecting in the background",
                           what, self.__host, self.__port, exc)
            with self.__lock:
                if self.__client is client:
                    self.__client = None
            client.close_rpc()
            self.__start_retrying()
            return None

    def get_rpc_method_list(self) -> dict | None:
        """The target's method list (see :meth:`Client.get_rpc_method_list`),
        or None while the server is unreachable."""
        return self.__do_rpc(Client.get_rpc_method_list, "get_rpc_method_list")

    def get_selected_target(self) -> str | None:
        """The target the current connection selected; None while there is
        no connection."""
        with self.__lock:
            client = self.__client
        return None if client is None else client.get_selected_target()

    def get_local_host(self) -> str | None:
        """This side's address on the current connection (the address the
        server sees); None while there is no connection."""
        with self.__lock:
            client = self.__client
        try:
            return None if client is None else client.get_local_host()
        except TransportError:
            return None

    def close_rpc(self) -> None:
        """Close the connection and stop reconnecting (returns promptly)."""
        self.__stop.set()
        with self.__lock:
            client, self.__client = self.__client, None
        if client is not None:
            client.close_rpc()
        thread = self.__thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def __enter__(self) -> BestEffortClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close_rpc()

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        with self.__lock:
            client = self.__client
        if client is not None:
            getattr(client, name)  # AttributeError for a name the target lacks

        def remote_method(*args, **kwargs):
            return self.__do_rpc(lambda client: getattr(client, name)(*args, **kwargs), name)
        remote_method.__name__ = name
        return remote_method
