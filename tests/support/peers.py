"""Scripted peers: a TCP server on 127.0.0.1 whose every connection runs a
script written as plain blocking code, so a test can play a well-behaved or
a hostile sipyco 1.8/1.10 peer byte by byte, for any client kind."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

__all__ = ["ScriptedPeer", "ScriptedServer"]


class ScriptedPeer:
    """One accepted connection, as the script sees it."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.sock.settimeout(30)
        self._buf = b""
        self.received: list[bytes] = []

    def line(self) -> bytes:
        """The next line the client sent (with its newline; b"" at its end)."""
        while b"\n" not in self._buf:
            data = self.sock.recv(65536)
            if not data:
                line, self._buf = self._buf, b""
                return line
            self._buf += data
        line, _, self._buf = self._buf.partition(b"\n")
        self.received.append(line + b"\n")
        return line + b"\n"

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def until_closed(self) -> None:
        """Read and drop until the client closes (or 30 s pass)."""
        try:
            while self.sock.recv(65536):
                pass
        except OSError:
            pass


class ScriptedServer:
    """Runs ``script(peer)`` for each connection, in its own thread; the
    connection is closed when the script returns."""

    def __init__(self, script: Callable[[ScriptedPeer], None]):
        self.script = script
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.peers: list[ScriptedPeer] = []
        self.errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            peer = ScriptedPeer(sock)
            self.peers.append(peer)
            thread = threading.Thread(target=self._run, args=(peer,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _run(self, peer: ScriptedPeer) -> None:
        try:
            self.script(peer)
        except OSError:
            pass  # the client went away first: part of many scripts
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            try:
                peer.sock.close()
            except OSError:
                pass

    def close(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self.listener.close()
        for peer in self.peers:
            try:
                peer.sock.close()
            except OSError:
                pass
        for thread in self._threads:
            thread.join(10)
        if self.errors:
            raise self.errors[0]

    def __enter__(self) -> ScriptedServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
