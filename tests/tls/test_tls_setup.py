"""What ``ssl_config`` may be, certificates made by the openssl command, and
TLS in AsyncioServer itself (every server kind's base)."""

from __future__ import annotations

import asyncio
import socket
import ssl

import pytest
from support.certs import OPENSSL, make_identity, make_identity_with_openssl
from support.net import wait_until

from sipyco import _tls
from sipyco.asyncio_tools import AsyncioServer, SimpleSSLConfig
from sipyco.pc_rpc import AsyncioClient, Client, Server

# ---- what ssl_config may be --------------------------------------------------


def test_none_is_plain_tcp():
    assert _tls.server_context(None) is None
    assert _tls.client_context(None) is None


def test_a_simple_ssl_config_gives_mutual_authentication(certs):
    server = _tls.server_context(certs.server)
    client = _tls.client_context(certs.client)
    assert server.protocol == ssl.PROTOCOL_TLS_SERVER
    assert client.protocol == ssl.PROTOCOL_TLS_CLIENT
    for context in (server, client):
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname is False
    # the server trusts exactly the two client certificates of its peer_cert file
    names = sorted(dict(c["subject"][0])["commonName"] for c in server.get_ca_certs())
    assert names == ["client", "friend"]


def test_an_ssl_context_is_used_as_it_is(certs):
    made = certs.server.create_server_context()
    assert _tls.server_context(made) is made
    made = certs.client.create_client_context()
    assert _tls.client_context(made) is made


def test_an_ssl_context_for_the_other_side_is_refused(certs):
    with pytest.raises(ValueError, match="other side"):
        _tls.server_context(certs.client.create_client_context())
    with pytest.raises(ValueError, match="other side"):
        _tls.client_context(certs.server.create_server_context())


def test_anything_else_is_refused_by_name():
    with pytest.raises(TypeError, match="ssl_config must be a SimpleSSLConfig"):
        _tls.client_context(("cert.pem", "key.pem", "peer.pem"))


def test_a_duck_typed_config_is_accepted(certs):
    class MyConfig:  # anything with upstream's two methods
        def create_client_context(self):
            return certs.client.create_client_context()

        def create_server_context(self):
            return certs.server.create_server_context()

    assert isinstance(_tls.client_context(MyConfig()), ssl.SSLContext)
    assert isinstance(_tls.server_context(MyConfig()), ssl.SSLContext)


# ---- certificates made with the openssl command ---------------------------------

@pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed "
                                            "(the other TLS tests do not need it)")
def test_certificates_made_by_the_openssl_command(background, tmp_path, certs, fds):
    """As upstream's tests make them (``openssl req -x509 -newkey rsa ...``),
    also trusted next to one made otherwise."""
    server = make_identity_with_openssl(tmp_path, "osl-server")
    client = make_identity_with_openssl(tmp_path, "osl-client")
    other = make_identity(tmp_path, "other-client")  # by the cryptography package
    trusted = tmp_path / "clients.pem"
    trusted.write_text(client.cert.read_text() + other.cert.read_text())
    rpc = background.serve(Server({"t": Target()}),
                           SimpleSSLConfig(str(server.cert), str(server.key), str(trusted)))
    baseline = fds.count()
    for me in (client, other):
        config = SimpleSSLConfig(str(me.cert), str(me.key), str(server.cert))
        with Client("127.0.0.1", rpc.port, "t", 10, config) as c:
            assert c.ping() == "pong"

        async def call(config=config):
            remote = AsyncioClient()
            await remote.connect_rpc("127.0.0.1", rpc.port, "t", config)
            try:
                return await remote.ping()
            finally:
                await remote.close_rpc()
        assert asyncio.run(call()) == "pong"
    fds.back_to(baseline)


class Target:
    def ping(self):
        return "pong"


# ---- AsyncioServer ---------------------------------------------------------------

class Echo(AsyncioServer):
    """Echoes one line, then waits for the client to leave."""

    async def _handle_connection_cr(self, reader, writer):
        writer.write(await reader.readline())
        await writer.drain()
        await reader.read()


def tls_socket(certs, port) -> ssl.SSLSocket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    return certs.client.create_client_context().wrap_socket(sock)


def test_a_handler_sees_only_what_came_after_the_handshake(background, certs):
    echo = background.serve(Echo(), certs.server)
    with tls_socket(certs, echo.port) as s:
        s.sendall(b"first line\n")
        assert s.recv(100) == b"first line\n"
        assert s.version() is not None


def test_tls_handshakes_count_against_max_connections(background, certs, log_lines, fds):
    """A connection still in its TLS handshake is a connection: past
    max_connections the next one is closed before any handshake."""
    echo = background.serve(Echo(max_connections=1), certs.server)
    baseline = fds.count()
    idle = socket.create_connection(("127.0.0.1", echo.port), timeout=20)  # no handshake
    try:
        wait_until(lambda: len(echo._connections) == 1, what="the first connection accepted")
        with socket.create_connection(("127.0.0.1", echo.port), timeout=20) as refused:
            try:
                assert refused.recv(100) == b""
            except ConnectionResetError:
                pass
        wait_until(log_lines.server_lines, what="the refusal's log line")
        [line] = log_lines.server_lines()
        assert "max_connections=1" in line
    finally:
        idle.close()
    wait_until(lambda: not echo._connections, what="the first connection gone")
    with tls_socket(certs, echo.port) as s:  # room again
        s.sendall(b"again\n")
        assert s.recv(100) == b"again\n"
    fds.back_to(baseline)


def test_the_client_handshake_without_streamwriter_start_tls(background, certs):
    """Python 3.10's StreamWriter has no start_tls: _tls.start_tls then makes
    a new stream pair over the TLS transport (forced here on any version)."""
    echo = background.serve(Echo(), certs.server)

    class OldWriter:  # a 3.10 StreamWriter, as far as start_tls looks
        def __init__(self, writer):
            self.transport = writer.transport

    async def exchange():
        # (the plain writer is kept: since 3.11.? dropping one closes its transport)
        reader, plain_writer = await asyncio.open_connection("127.0.0.1", echo.port)
        reader, writer = await _tls.start_tls(reader, OldWriter(plain_writer),
                                              certs.client.create_client_context(),
                                              "127.0.0.1", echo.port, 10)
        writer.write(b"through the fallback\n")
        line = await reader.readline()
        assert writer.get_extra_info("ssl_object").version() is not None
        writer.transport.abort()
        return line

    assert asyncio.run(exchange()) == b"through the fallback\n"
