"""pc_rpc over mutual TLS, with each client kind: calls work; each way of
getting TLS wrong fails at connect with a clear error on the client, one log
line on the server, which goes on serving; no descriptor is left open."""

from __future__ import annotations

import asyncio
import socket

import pytest
from support.net import wait_until

from sipyco.errors import ConnectionClosed, HandshakeTimeout, TLSError, TransportError
from sipyco.pc_rpc import AsyncioClient, BestEffortClient, Client, Server


class Target:
    def ping(self):
        return "pong"


def call_sync(port, ssl_config):
    # ssl_config by position, as 1.10 code may pass it
    with Client("127.0.0.1", port, "t", None, ssl_config, handshake_timeout=10) as client:
        return client.ping()


def call_async(port, ssl_config):
    async def go():
        client = AsyncioClient(handshake_timeout=10)
        await client.connect_rpc("127.0.0.1", port, "t", ssl_config)
        try:
            return await client.ping()
        finally:
            await client.close_rpc()
    return asyncio.run(go())


def call_best_effort(port, ssl_config):
    client = BestEffortClient("127.0.0.1", port, "t", 10.0, 600.0, ssl_config)
    try:
        return client.ping()  # None when the connection could not be made
    finally:
        client.close_rpc()


CALLERS = {"Client": call_sync, "AsyncioClient": call_async,
           "BestEffortClient": call_best_effort}

#: What a client raises for each failure (class, message pattern).
CLIENT_SAYS = {
    "no certificate": (TLSError, "does not accept this side's certificate"),
    "untrusted certificate": (TLSError, "does not accept this side's certificate"),
    "plain TCP": (ConnectionClosed, "a server that requires TLS does this"),
    "server not trusted": (TLSError, "the server's certificate is not trusted"),
}


@pytest.fixture
def tls_server(background, certs):
    return background.serve(Server({"t": Target()}), certs.server)


@pytest.mark.parametrize("kind", CALLERS)
def test_calls_over_mutual_tls(kind, tls_server, certs, fds):
    baseline = fds.count()
    call = CALLERS[kind]
    assert call(tls_server.port, certs.client) == "pong"
    # the server's peer_cert holds several certificates: each is trusted
    assert call(tls_server.port, certs.config("friend")) == "pong"
    fds.back_to(baseline)


@pytest.mark.parametrize("kind", CALLERS)
def test_each_failure_is_refused_at_the_handshake(kind, failure, tls_server, certs, log_lines,
                                                  fds):
    baseline = fds.count()
    call = CALLERS[kind]
    error, says = CLIENT_SAYS[failure.name]
    if kind == "BestEffortClient":
        assert call(tls_server.port, failure.ssl_config) is None  # it never raises...
        [warning] = log_lines.client_lines()  # ...but says why
        assert says in warning
    else:
        with pytest.raises(error, match=says):
            call(tls_server.port, failure.ssl_config)
    line = log_lines.one_server_line(failure.server_says)
    # the server goes on serving, and said nothing more
    assert call(tls_server.port, certs.client) == "pong"
    assert log_lines.server_lines() == [line]
    fds.back_to(baseline)


@pytest.mark.parametrize("kind", ["Client", "AsyncioClient"])
def test_a_tls_client_against_a_plain_server_fails_at_once(kind, background, certs, log_lines,
                                                           fds):
    # the plain server recognises the TLS greeting and hangs up at once, in
    # one line (not at its handshake deadline, nor silently)
    plain = background.serve(Server({"t": Target()}))
    baseline = fds.count()
    call = CALLERS[kind]
    with pytest.raises(TLSError, match="TLS handshake with 127.0.0.1:.* failed: the server "
                       "closed the connection during the handshake"):
        call(plain.port, certs.client)
    line = log_lines.tls_on_plain_line()
    assert call(plain.port, None) == "pong"
    assert log_lines.server_lines() == [line]
    fds.back_to(baseline)


def test_tls_errors_are_what_upstream_code_catches():
    error = TLSError("x")
    assert isinstance(error, TransportError)
    import ssl
    assert isinstance(error, ssl.SSLError)  # 1.10 raised the ssl module's own
    assert isinstance(error, ConnectionError)
    assert str(error) == "x"


def test_a_client_that_never_starts_the_handshake_is_dropped(background, certs, log_lines,
                                                            fds):
    server = background.serve(Server({"t": Target()}, handshake_timeout=0.5), certs.server)
    baseline = fds.count()
    with socket.create_connection(("127.0.0.1", server.port)) as idle:
        idle.settimeout(30)
        assert idle.recv(100) == b""  # closed by the server, nothing sent
    log_lines.one_server_line(r"no TLS handshake within handshake_timeout=0\.5 s")
    assert call_sync(server.port, certs.client) == "pong"
    fds.back_to(baseline)


def test_stopping_the_server_during_a_handshake_leaks_nothing(background, certs, log_lines,
                                                             fds):
    baseline = fds.count()
    server = Server({"t": Target()})
    background.run(server.start("127.0.0.1", 0, certs.server))
    idle = socket.create_connection(("127.0.0.1", server.port))
    try:
        # once accepted (the handshake runs as one of the server's connections:
        # a connection still in the kernel's queue is no business of ours)
        wait_until(lambda: len(server._connections) == 1, what="the connection accepted")
        background.run(server.stop())
        idle.settimeout(30)
        assert idle.recv(100) == b""
    finally:
        idle.close()
    fds.back_to(baseline)
    assert log_lines.server_lines() == []


def test_a_client_handshake_is_bounded_by_handshake_timeout(certs, fds):
    """A server that accepts and then says nothing (neither TLS nor pc_rpc)."""
    with socket.create_server(("127.0.0.1", 0)) as mute:
        port = mute.getsockname()[1]
        baseline = fds.count()
        with pytest.raises(HandshakeTimeout, match="TLS handshake"):
            Client("127.0.0.1", port, "t", None, certs.client, handshake_timeout=0.3)

        async def connect():
            await AsyncioClient(handshake_timeout=0.3).connect_rpc("127.0.0.1", port, "t",
                                                                    certs.client)
        with pytest.raises(HandshakeTimeout, match="TLS handshake"):
            asyncio.run(connect())
        # the server's end of both connections is still in the listen queue
        conns = [mute.accept()[0] for _ in range(2)]
        for conn in conns:
            conn.close()
        fds.back_to(baseline)
