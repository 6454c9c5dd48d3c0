"""Blocking-socket pc_rpc clients: Client and BestEffortClient."""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

from sipyco.errors import (
    CallTimeout,
    ConnectionClosed,
    DecodeError,
    IncompatibleServer,
    MessageTooLarge,
    ProtocolViolation,
    RPCTransportError,
    ServerUnreachable,
)

from . import protocol as p
from .protocol import AutoTarget

__all__ = ["AutoTarget", "Client", "BestEffortClient"]

logger = logging.getLogger("sipyco.pc_rpc")

_RECV_SIZE = 1 << 18


class _LineSocket:
    """Whole lines from a socket, with a per-call deadline and a size bound."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self._buf = bytearray()
        self._scanned = 0

    def read_line(self, limit: int, deadline: float | None) -> bytes:
        buf = self._buf
        dropped = 0  # bytes of an over-long line thrown away so far
        while True:
            i = buf.find(b"\n", self._scanned)
            if i >= 0:
                line = bytes(memoryview(buf)[:i + 1])
                del buf[:i + 1]
                self._scanned = 0
                if dropped or len(line) > limit:
                    raise MessageTooLarge(
                        f"reply of {dropped + len(line)} bytes exceeds this client's "
                        f"max_message_size={limit}", limit, dropped + len(line))
                return line
            if len(buf) > limit:  # keep the stream in step without keeping the bytes
                dropped += len(buf)
                buf.clear()
            self._scanned = len(buf)
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("timed out")
                self.sock.settimeout(remaining)
            data = self.sock.recv(_RECV_SIZE)
            if not data:
                raise ConnectionClosed("the server closed the connection")
            buf += data

    def send(self, data: bytes, deadline: float | None) -> None:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("timed out")
            self.sock.settimeout(remaining)
        self.sock.sendall(data)


class Client:
    """Calls the methods of a remote target as if they were local.

    ``Client(host, port)`` connects at once (to the server's only target by
    default; ``target_name=None`` connects without selecting, see
    :meth:`select_rpc_target`).  ``c.foo(1, x=2)`` then runs ``foo`` on the
    server and returns its result, or raises the exception it raised (builtin
    classes as themselves, others as GenericRemoteException, each with the
    remote ``parent_traceback``).

    Connection failures raise :class:`~sipyco.errors.RPCTransportError`
    subclasses that are also what upstream raised: ServerUnreachable is a
    ConnectionRefusedError, ConnectionClosed an EOFError, CallTimeout a
    TimeoutError (``socket.timeout``).  ``timeout`` bounds connecting and each
    whole call; a call that times out closes the connection, so a late reply
    can never be returned to a later call.  ``connect_timeout`` (default:
    ``timeout``) bounds only connecting and the handshake.  ``max_message_size`` bounds
    requests and replies.  Use as a context manager or call :meth:`close_rpc`.
    """

    def __init__(self, host: str, port: int, target_name: Any = AutoTarget,
                 timeout: float | None = None, *,
                 connect_timeout: float | None = None,
                 max_message_size: int = p.DEFAULT_MAX_MESSAGE_SIZE):
        for t in (timeout, connect_timeout):
            if t is not None and not t > 0:
                raise ValueError("timeouts must be a positive number of seconds or None")
        if connect_timeout is None:
            connect_timeout = timeout
        self.__timeout = connect_timeout
        self.__max = max_message_size
        self.__codec = p.V1
        self.__selected = None
        self.__closed_because = None
        self.__lock = threading.Lock()
        try:
            sock = socket.create_connection((host, port), connect_timeout)
        except TimeoutError:
            raise CallTimeout(f"connecting to {host}:{port} timed out") from None
        except OSError as exc:
            raise ServerUnreachable(f"cannot connect to {host}:{port}: {exc}") from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.__sock = sock
        self.__lines = _LineSocket(sock)
        try:
            deadline = self.__deadline()
            self.__lines.send(p.HELLO, deadline)
            ident = p.parse_identification(
                self.__lines.read_line(p.HANDSHAKE_LINE_LIMIT, deadline))
            self.__ident = ident
            target_name = p.resolve_target(ident, target_name)
            if target_name is not None:
                self.select_rpc_target(target_name)
            self.__timeout = timeout
        except BaseException as exc:
            self.__abort(f"handshake failed: {exc}")
            if isinstance(exc, socket.timeout):
                raise CallTimeout(f"handshake with {host}:{port} timed out") from None
            if isinstance(exc, OSError) and not isinstance(exc, RPCTransportError):
                raise ConnectionClosed(f"connection lost during handshake: {exc}") from exc
            raise

    def __deadline(self) -> float | None:
        return None if self.__timeout is None else time.monotonic() + self.__timeout

    def __abort(self, why: str) -> None:
        self.__closed_because = why
        sock, self.__sock = self.__sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def select_rpc_target(self, target_name: str) -> None:
        """Select a target by name (once, after connecting with ``target_name=None``)."""
        line, codec = p.select(self.__ident, self.__selected, target_name)
        deadline = self.__deadline()
        self.__lines.send(line, deadline)
        try:
            codec.decode(self.__lines.read_line(self.__max, deadline))
        except DecodeError as exc:
            raise ProtocolViolation(f"server sent a malformed method list: {exc}") from None
        self.__codec = codec
        self.__selected = target_name

    def get_selected_target(self) -> str | None:
        """The selected target's name, or None."""
        return self.__selected

    def get_rpc_id(self) -> tuple[list[str], str | None]:
        """``(target_names, description)`` as the server announced them."""
        return list(self.__ident.targets), self.__ident.description

    def get_local_host(self) -> str:
        """The address of this end of the connection."""
        if self.__sock is None:
            raise ConnectionClosed("connection is closed")
        return self.__sock.getsockname()[0]

    def get_rpc_method_list(self) -> dict:
        """``{"docstring": ..., "methods": {name: (argspec, docstring)}}``."""
        return self.__do_rpc(p.METHOD_LIST_REQUEST)

    def close_rpc(self) -> None:
        """Close the connection; further calls raise ConnectionClosed."""
        self.__abort("close_rpc() was called")

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close_rpc()

    def __do_rpc(self, request: dict) -> Any:
        with self.__lock:
            if self.__sock is None:
                raise ConnectionClosed(f"connection is closed ({self.__closed_because})")
            if self.__selected is None:
                raise IncompatibleServer("no target selected; call select_rpc_target() first")
            line = self.__codec.encode(request)        # EncodeError: the caller's mistake
            p.check_size(line, self.__max, "request")  # MessageTooLarge: likewise
            deadline = self.__deadline()
            try:
                self.__lines.send(line, deadline)
                reply = self.__lines.read_line(self.__max, deadline)
            except MessageTooLarge:
                raise  # the over-long reply was consumed: still in step
            except TimeoutError:
                self.__abort("a call timed out")
                raise CallTimeout(f"no reply within {self.__timeout} s; "
                                  "the connection was closed") from None
            except ConnectionClosed as exc:
                self.__abort(str(exc))
                raise
            except OSError as exc:
                self.__abort(f"connection failed: {exc}")
                raise ConnectionClosed(f"connection failed during the call: {exc}") from exc
            try:
                ok, value = p.reply_outcome(self.__codec.decode(reply))
            except (DecodeError, ProtocolViolation) as exc:
                self.__abort("the server sent a malformed reply")
                raise ProtocolViolation(f"malformed reply from the server: {exc}") from None
        if ok:
            return value
        raise value

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)

        def proxy(*args, **kwargs):
            return self.__do_rpc(p.call_request(name, args, kwargs))
        proxy.__name__ = name
        return proxy


class BestEffortClient:
    """Like :class:`Client`, but network trouble never raises.

    While disconnected, calls return None at once and a background thread
    reconnects every ``retry`` seconds; the first connection attempt, in the
    constructor, waits at most ``firstcon_timeout`` seconds.  Remote
    exceptions are still raised.  :meth:`close_rpc` stops the retrying
    promptly.
    """

    def __init__(self, host: str, port: int, target_name: Any,
                 firstcon_timeout: float = 1.0, retry: float = 5.0, *,
                 max_message_size: int = p.DEFAULT_MAX_MESSAGE_SIZE):
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
            self.__client = self.__connect(firstcon_timeout)
        except (OSError, RPCTransportError, IncompatibleServer) as exc:
            logger.warning("first connection to %s:%s failed (%s); retrying in the "
                           "background", host, port, exc)
            self.__start_retrying()

    def __connect(self, timeout: float) -> Client:
        # connecting and the handshake are bounded; calls then block as long
        # as the server takes, as upstream's do
        return Client(self.__host, self.__port, self.__target_name, None,
                      connect_timeout=timeout, max_message_size=self.__max)

    def __start_retrying(self) -> None:
        if self.__stop.is_set() or (self.__thread is not None and self.__thread.is_alive()):
            return
        self.__thread = threading.Thread(target=self.__retry_loop, daemon=True,
                                         name=f"BestEffortClient {self.__host}:{self.__port}")
        self.__thread.start()

    def __retry_loop(self) -> None:
        while not self.__stop.wait(self.__retry):
            try:
                client = self.__connect(self.__firstcon_timeout)
            except (OSError, RPCTransportError, IncompatibleServer) as exc:
                logger.debug("reconnection to %s:%s failed: %s", self.__host, self.__port, exc)
                continue
            with self.__lock:
                if self.__stop.is_set():
                    client.close_rpc()
                    return
                self.__client = client
            logger.info("reconnected to %s:%s", self.__host, self.__port)
            return

    def __do_rpc(self, fn_name: str, args, kwargs) -> Any:
        with self.__lock:
            client = self.__client
        if client is None:
            return None
        try:
            if fn_name == "get_rpc_method_list":
                return client.get_rpc_method_list()
            return getattr(client, fn_name)(*args, **kwargs)
        except (OSError, RPCTransportError) as exc:
            logger.warning("RPC %s to %s:%s failed (%s); reconnecting in the background",
                           fn_name, self.__host, self.__port, exc)
            with self.__lock:
                if self.__client is client:
                    self.__client = None
            client.close_rpc()
            self.__start_retrying()
            return None

    def get_rpc_method_list(self) -> dict | None:
        return self.__do_rpc("get_rpc_method_list", (), {})

    def get_selected_target(self) -> str | None:
        with self.__lock:
            client = self.__client
        return None if client is None else client.get_selected_target()

    def get_local_host(self) -> str | None:
        with self.__lock:
            client = self.__client
        try:
            return None if client is None else client.get_local_host()
        except RPCTransportError:
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

        def proxy(*args, **kwargs):
            return self.__do_rpc(name, args, kwargs)
        proxy.__name__ = name
        return proxy
