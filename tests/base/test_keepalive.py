"""sipyco.keepalive on real sockets: the options are read back from the kernel."""

from __future__ import annotations

import asyncio
import socket
import sys

import pytest
from support.net import within

from sipyco import keepalive
from sipyco.keepalive import async_open_connection, create_connection, set_keepalive

IDLE = getattr(socket, "TCP_KEEPIDLE", None)
if IDLE is None and sys.platform == "darwin":
    IDLE = getattr(socket, "TCP_KEEPALIVE", 0x10)
INTERVAL = getattr(socket, "TCP_KEEPINTVL", None)
COUNT = getattr(socket, "TCP_KEEPCNT", None)


def tcp_option(sock, option):
    return sock.getsockopt(socket.IPPROTO_TCP, option)


def assert_keepalive(sock, after_idle=None, interval=None, max_fails=None):
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0
    for option, value in ((IDLE, after_idle), (INTERVAL, interval), (COUNT, max_fails)):
        if option is not None and value is not None:
            assert tcp_option(sock, option) == value


@pytest.fixture
def listener():
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server


def test_set_keepalive_on_a_plain_socket(listener):
    with socket.create_connection(listener.getsockname()) as sock:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
        set_keepalive(sock, after_idle=7, interval=3, max_fails=4)
        assert_keepalive(sock, 7, 3, 4)


def test_only_what_is_given_changes(listener):
    with socket.create_connection(listener.getsockname()) as sock:
        before = {opt: tcp_option(sock, opt) for opt in (IDLE, INTERVAL, COUNT)
                  if opt is not None}
        set_keepalive(sock)
        assert_keepalive(sock)
        assert {opt: tcp_option(sock, opt) for opt in before} == before
        if INTERVAL is not None:
            set_keepalive(sock, interval=11)
            assert tcp_option(sock, INTERVAL) == 11
            for opt in (IDLE, COUNT):
                if opt is not None:
                    assert tcp_option(sock, opt) == before[opt]


def test_fractions_of_seconds_round_up(listener):
    with socket.create_connection(listener.getsockname()) as sock:
        set_keepalive(sock, after_idle=0.2, interval=2.5)
        assert_keepalive(sock, after_idle=1, interval=3)


@pytest.mark.parametrize("kwargs, error", [
    ({"after_idle": 0}, ValueError),
    ({"interval": -1}, ValueError),
    ({"max_fails": float("nan")}, ValueError),
    ({"after_idle": float("inf")}, ValueError),
    ({"max_fails": "3"}, TypeError),
    ({"interval": True}, TypeError),
])
def test_bad_values_are_refused_before_anything_changes(listener, kwargs, error):
    with socket.create_connection(listener.getsockname()) as sock:
        with pytest.raises(error, match=next(iter(kwargs))):
            set_keepalive(sock, **kwargs)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0


def test_create_connection(listener):
    host, port = listener.getsockname()
    with create_connection(host, port, 5, after_idle=9, interval=2, max_fails=6) as sock:
        assert sock.gettimeout() == 5  # positional arguments reach socket.create_connection
        assert_keepalive(sock, 9, 2, 6)
        peer, _ = listener.accept()
        with peer:
            sock.sendall(b"ping")
            assert peer.recv(4) == b"ping"


def test_create_connection_passes_keyword_arguments(listener):
    host, port = listener.getsockname()
    with create_connection(host, port, timeout=3, source_address=("127.0.0.1", 0)) as sock:
        assert sock.gettimeout() == 3
        assert sock.getsockname()[0] == "127.0.0.1"
        assert_keepalive(sock)


def test_create_connection_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening
        with pytest.raises(ConnectionRefusedError):
            create_connection("127.0.0.1", port, after_idle=5)


def test_create_connection_checks_values_before_connecting(listener):
    host, port = listener.getsockname()
    with pytest.raises(ValueError, match="interval"):
        create_connection(host, port, interval=0)


@pytest.mark.asyncio
async def test_async_open_connection():
    received = asyncio.Queue()

    async def handle(reader, writer):
        await received.put(await reader.readline())
        writer.write(b"pong\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await within(async_open_connection(
            "127.0.0.1", port, after_idle=12, interval=4, max_fails=2))
        assert_keepalive(writer.get_extra_info("socket"), 12, 4, 2)
        writer.write(b"ping\n")
        assert await within(received.get()) == b"ping\n"
        assert await within(reader.readline()) == b"pong\n"
        writer.close()
        await writer.wait_closed()
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.asyncio
async def test_async_open_connection_passes_other_arguments():
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await within(async_open_connection(
            "127.0.0.1", port, local_addr=("127.0.0.1", 0)))
        assert writer.get_extra_info("sockname")[0] == "127.0.0.1"
        assert_keepalive(writer.get_extra_info("socket"))
        writer.close()
        await writer.wait_closed()
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.asyncio
async def test_async_open_connection_checks_values_before_connecting():
    with pytest.raises(ValueError, match="max_fails"):
        await async_open_connection("127.0.0.1", 9, max_fails=0)


def test_public_names():
    assert set(keepalive.__all__) == {"set_keepalive", "async_open_connection",
                                      "create_connection"}
