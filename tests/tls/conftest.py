"""Fixtures for the mutual-TLS tests: certificates made in the session, servers
on an event loop in a background thread (so blocking clients can be used
from the test's own thread), the log lines servers write, and the process's
open file descriptors.

Identities: ``server``, ``client`` and ``friend`` trust each other (the
server's ``peer_cert`` holds both client certificates: one file, several
certificates); ``stranger`` is trusted by nobody.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import ssl
import threading
from typing import Any, NamedTuple

import pytest
from support.certs import bundle, make_identities
from support.net import wait_until

from sipyco.asyncio_tools import SimpleSSLConfig


class Certificates:
    """The session's identities and the SimpleSSLConfigs made of them."""

    def __init__(self, folder):
        self.folder = folder
        self.ids = make_identities(folder, ("server", "client", "friend", "stranger"))
        self.clients = bundle(folder / "clients.pem", self.ids["client"], self.ids["friend"])

    def config(self, me: str, trusts: str | None = None) -> SimpleSSLConfig:
        """``me``'s certificate and key, trusting ``trusts`` (default: the
        server trusts both clients, anyone else trusts the server)."""
        if trusts is None:
            trusts = "clients" if me == "server" else "server"
        peer = self.clients if trusts == "clients" else self.ids[trusts].cert
        return SimpleSSLConfig(str(self.ids[me].cert), str(self.ids[me].key), str(peer))

    @property
    def server(self) -> SimpleSSLConfig:
        return self.config("server")

    @property
    def client(self) -> SimpleSSLConfig:
        return self.config("client")

    def without_certificate(self) -> ssl.SSLContext:
        """A client context trusting the server but presenting no certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.load_verify_locations(cafile=str(self.ids["server"].cert))
        return context


@pytest.fixture(scope="session")
def certs(tmp_path_factory) -> Certificates:
    return Certificates(tmp_path_factory.mktemp("tls"))


class Failure(NamedTuple):
    """One way a client gets TLS wrong against a TLS server."""

    name: str
    ssl_config: Any         # what the client passes
    server_says: str        # a regular expression for the server's one line


#: The client's ``ssl_config`` for each (a function of the Certificates) and
#: what the server's line says.  For "server not trusted" the client's alert
#: may or may not arrive before the connection ends.
_FAILURES = {
    "no certificate": (lambda c: c.without_certificate(), r"sent no certificate"),
    "untrusted certificate": (lambda c: c.config("stranger"),
                              r"client's certificate is not trusted"),
    "plain TCP": (lambda c: None, r"does not speak TLS"),
    "server not trusted": (lambda c: c.config("client", "stranger"),
                           r"does not accept this side's certificate|closed the connection "
                           r"during the handshake"),
}


@pytest.fixture(params=list(_FAILURES))
def failure(request, certs) -> Failure:
    """Each way a client gets it wrong against a TLS server, in turn."""
    make, says = _FAILURES[request.param]
    return Failure(request.param, make(certs), says)


class LoopThread:
    """An event loop running in a daemon thread: servers live there."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def background():
    """A LoopThread; servers started there with :meth:`serve` are stopped
    afterwards."""
    lt = LoopThread()
    started = []

    def serve(server, ssl_config=None):
        lt.run(server.start("127.0.0.1", 0, ssl_config))
        started.append(server)
        return server

    lt.serve = serve
    yield lt
    for server in started:
        lt.run(server.stop())
    lt.close()


class LogLines(logging.Handler):
    """Records of level INFO and above, from every thread."""

    #: Loggers client code writes to (with messages starting so); anything
    #: else a test sees comes from a server.
    CLIENT_LINES = ("first connection to", "RPC ", "reconnect", "subscriber of",
                    "receiver of channel", "cannot forward log records")

    def __init__(self):
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []
        self._lock2 = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "asyncio" and record.levelno < logging.WARNING:
            return  # its debug mode's chatter ("... is serving")
        with self._lock2:
            self.records.append(record)

    def server_lines(self) -> list[str]:
        with self._lock2:
            records = list(self.records)
        return [r.getMessage() for r in records
                if not r.getMessage().startswith(self.CLIENT_LINES)]

    def client_lines(self) -> list[str]:
        with self._lock2:
            records = list(self.records)
        return [r.getMessage() for r in records
                if r.getMessage().startswith(self.CLIENT_LINES)]

    def clear(self) -> None:
        with self._lock2:
            self.records.clear()

    def tls_on_plain_line(self) -> str:
        """Wait for a plain server's one line about a client that began a
        TLS handshake, and return it (it must be the only line so far)."""
        wait_until(self.server_lines, what="the plain server's log line")
        lines = self.server_lines()
        assert len(lines) == 1, lines
        assert re.fullmatch(r"127\.0\.0\.1:\d+ began a TLS handshake, but this server has "
                            r"no ssl_config \(plain TCP\): hanging up", lines[0]), lines
        return lines[0]

    def one_server_line(self, pattern: str) -> str:
        """Wait for the server's line about a failed handshake and return it:
        it must be the only one so far, name the peer and match ``pattern``.
        (Callers check again later that no second line came.)"""
        wait_until(self.server_lines, what="the server's log line")
        lines = self.server_lines()
        assert len(lines) == 1, lines
        assert re.match(r"\w+ on port \d+: TLS handshake with 127\.0\.0\.1:\d+ failed: ",
                        lines[0]), lines
        assert re.search(pattern, lines[0]), lines
        return lines[0]


@pytest.fixture
def log_lines():
    handler = LogLines()
    root = logging.getLogger()
    old = root.level
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old)


class Descriptors:
    """The process's open file descriptors."""

    @staticmethod
    def count() -> int:
        return len(os.listdir("/proc/self/fd"))

    def back_to(self, baseline: int) -> None:
        """Wait until no more than ``baseline`` descriptors are open (closing
        a socket may take a few loop iterations); fail if that never happens."""
        try:
            wait_until(lambda: self.count() <= baseline)
        except AssertionError:
            raise AssertionError(f"open descriptors not back to {baseline}: "
                                 f"{self.describe()}") from None

    @staticmethod
    def describe() -> dict[int, str]:
        """What each open descriptor is."""
        out = {}
        for fd in os.listdir("/proc/self/fd"):
            try:
                out[int(fd)] = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                pass
        return dict(sorted(out.items()))


@pytest.fixture
def fds() -> Descriptors:
    return Descriptors()
