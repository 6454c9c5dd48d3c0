"""Connection-level failures: one exception family, each member also the
builtin upstream raised in that situation."""

from __future__ import annotations

import asyncio
import socket

import pytest
from support.net import free_port
from support.rpc_targets import Echo

from sipyco import pyon
from sipyco.errors import (
    CallTimeout,
    ConnectionClosed,
    NestingTooDeep,
    RemoteError,
    RPCTransportError,
    ServerUnreachable,
)
from sipyco.pc_rpc import AsyncioClient, Client


def test_nobody_listening(connect):
    with pytest.raises(ServerUnreachable) as info:
        connect(free_port())
    assert isinstance(info.value, ConnectionRefusedError)
    assert isinstance(info.value, RPCTransportError)


def test_timeout_closes_the_connection(connect, serve):
    port = serve({"echo": Echo()}).port
    c = connect(port, timeout=0.3)
    assert c.echo(1) == 1
    with pytest.raises(CallTimeout) as info:
        c.slow("late", 3.0)
    assert isinstance(info.value, TimeoutError) and isinstance(info.value, socket.timeout)
    # the late reply can never be returned to a later call
    with pytest.raises(ConnectionClosed) as info2:
        c.echo(2)
    assert isinstance(info2.value, EOFError)


def test_server_closing_mid_call_is_eof(connect, serve):
    st = serve({"echo": Echo()}, builtin_terminate=True)
    c = connect(st.port)
    with pytest.raises(ConnectionClosed) as info:
        c.quit()  # SystemExit: termination requested, no reply
    assert isinstance(info.value, EOFError)
    st.run(st.server.wait_terminate(), timeout=10)


def test_systemexit_without_builtin_terminate_is_an_error_reply(connect, serve):
    c = connect(serve({"echo": Echo()}).port)
    with pytest.raises(Exception) as info:
        c.quit()
    assert not isinstance(info.value, SystemExit)
    assert c.echo(3) == 3


def test_server_stopped_under_a_client(connect, serve):
    st = serve({"echo": Echo()})
    c = connect(st.port)
    assert c.echo(1) == 1
    st.run(st.server.stop())
    with pytest.raises(ConnectionClosed):
        c.echo(2)


def test_closed_client_says_so(connect, serve):
    c = connect(serve({"echo": Echo()}).port)
    c.close_rpc()
    with pytest.raises(ConnectionClosed, match="close_rpc"):
        c.echo(1)


def test_bad_timeout_is_refused():
    with pytest.raises(ValueError):
        Client("127.0.0.1", 1, timeout=0)
    with pytest.raises(ValueError):
        AsyncioClient(timeout=-1)


def test_peer_that_talks_nonsense(connect):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    import threading

    def nonsense():
        conn, _ = srv.accept()
        with conn:
            conn.recv(100)
            conn.sendall(b"HTTP/1.0 400 Bad Request\n\n")
            conn.recv(100)
    t = threading.Thread(target=nonsense, daemon=True)
    t.start()
    try:
        with pytest.raises(RPCTransportError):
            connect(port, timeout=5)
    finally:
        srv.close()
        t.join(10)


# ----------------------------------------------------------------- asyncio ---

async def _client(port, **options):
    c = AsyncioClient(**options)
    await c.connect_rpc("127.0.0.1", port)
    return c


def test_pipelined_calls_from_many_tasks(serve):
    echo = Echo()
    port = serve({"echo": echo}).port

    async def go():
        c = await _client(port)
        try:
            results = await asyncio.gather(*[c.slow(i, 0.001) for i in range(50)],
                                           *[c.echo(("e", i)) for i in range(50)])
        finally:
            await c.close_rpc()
        return results
    results = asyncio.run(go())
    assert results == list(range(50)) + [("e", i) for i in range(50)]


def test_cancelling_one_waiter_never_mismatches_replies(serve):
    port = serve({"echo": Echo()}).port

    async def go():
        c = await _client(port)
        try:
            slow = asyncio.ensure_future(c.slow("slow", 0.2))
            others = [asyncio.ensure_future(c.echo(i)) for i in range(10)]
            await asyncio.sleep(0.05)
            slow.cancel()
            got = await asyncio.gather(*others)
            with pytest.raises(asyncio.CancelledError):
                await slow
            after = [await c.echo(("after", i)) for i in range(3)]
        finally:
            c.close_rpc()
        return got, after
    got, after = asyncio.run(go())
    assert got == list(range(10))
    assert after == [("after", i) for i in range(3)]


def test_close_rpc_plain_and_awaited(serve):
    port = serve({"echo": Echo()}).port

    async def go():
        a = await _client(port)
        b = await _client(port)
        a.close_rpc()          # the seed API: a plain call
        await b.close_rpc()    # upstream 1.10 code awaits it
        for c in (a, b):
            with pytest.raises(ConnectionClosed):
                await c.echo(1)
    asyncio.run(go())


def test_pending_calls_fail_when_the_server_goes_away(serve):
    st = serve({"echo": Echo()})

    async def go():
        c = await _client(st.port)
        pending = asyncio.ensure_future(c.slow("x", 5.0))
        await asyncio.sleep(0.1)
        await asyncio.get_running_loop().run_in_executor(None, st.run, st.server.stop())
        with pytest.raises(ConnectionClosed):
            await pending
        c.close_rpc()
    asyncio.run(go())


@pytest.mark.parametrize("parallel", [False, True])
def test_allow_parallel(serve, parallel):
    echo = Echo()
    port = serve({"echo": echo}, allow_parallel=parallel).port

    async def go():
        clients = [await _client(port) for _ in range(3)]
        try:
            await asyncio.gather(*[c.slow(i, 0.1) for i, c in enumerate(clients)])
            return await clients[0].get_peak()
        finally:
            for c in clients:
                c.close_rpc()
    peak = asyncio.run(go())
    assert peak == (3 if parallel else 1)


class Nesting:
    def nested(self, depth: int):
        value: object = 0
        for _ in range(depth):
            value = (value,)  # tuples: v1 text the JSON reader cannot take
        return value


def test_a_reply_deeper_than_the_client_reads_fails_that_call_only(connect, serve):
    # 300 levels: the server writes it, a PYON v1 reader stops at max_depth
    # (256); the call fails with a clear error and the connection stays.
    c = connect(serve({"n": Nesting()}, advertise_v2=False).port)
    with pytest.raises(NestingTooDeep, match="nests deeper than this client reads"):
        c.nested(300)
    assert c.nested(3) == (((0,),),)


def test_a_request_over_max_items_is_refused_and_the_connection_goes_on(connect, serve):
    # 2**22 + 1 empty lists: 12 MB of request that would cost the server
    # some 270 MB to build; refused before anything is built
    c = connect(serve({"echo": Echo()}).port)
    with pytest.raises(ValueError, match=f"max_items={pyon.DEFAULT_MAX_ITEMS}") as info:
        c.echo([[]] * (pyon.DEFAULT_MAX_ITEMS + 1))
    assert isinstance(info.value, RemoteError)
    assert c.echo(1) == 1
