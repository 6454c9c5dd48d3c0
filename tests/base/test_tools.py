"""sipyco.tools (the 1.10 name of sipyco.asyncio_tools) and what 1.10 added
to it: Condition, BackgroundTaskPool, SimpleSSLConfig (with real TLS
handshakes), the ssl_config parameter; also SIGHUP in SignalHandler and the
logging of failed TaskObject tasks."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import ssl
import subprocess
import sys
import textwrap

import pytest
from support.certs import make_identities
from support.net import eventually, within

import sipyco.asyncio_tools
import sipyco.tools
from sipyco.tools import (
    AsyncioServer,
    BackgroundTaskPool,
    Condition,
    SimpleSSLConfig,
    TaskObject,
)

# ---- one module, two names, no warning --------------------------------------


def test_tools_is_asyncio_tools_under_another_name():
    assert sipyco.tools.__all__ == sipyco.asyncio_tools.__all__
    assert sipyco.tools.__all__ is not sipyco.asyncio_tools.__all__
    for name in sipyco.asyncio_tools.__all__:
        assert getattr(sipyco.tools, name) is getattr(sipyco.asyncio_tools, name)
    assert {"AsyncioServer", "TaskObject", "SignalHandler", "atexit_register_coroutine",
            "Condition", "BackgroundTaskPool", "SimpleSSLConfig"} <= set(sipyco.tools.__all__)


@pytest.mark.parametrize("modules", [
    ["sipyco.asyncio_tools"], ["sipyco.tools"], ["sipyco.tools", "sipyco.asyncio_tools"],
    ["sipyco.asyncio_tools", "sipyco.tools"],
    ["sipyco.logging_tools"], ["sipyco.logs"], ["sipyco.logs", "sipyco.logging_tools"],
])
def test_no_name_warns_on_import_even_under_w_error(modules):
    code = ("import importlib, warnings\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            f"    for name in {modules!r}:\n"
            "        importlib.import_module(name)\n"
            "print(len(caught))\n")
    out = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"


def test_the_module_says_why_it_does_not_warn():
    assert "-W error" in sipyco.asyncio_tools.__doc__


# ---- Condition -----------------------------------------------------------------

@pytest.mark.asyncio
async def test_notify_wakes_every_current_waiter():
    cond = Condition()
    woken = []

    async def waiter(i):
        await cond.wait()
        woken.append(i)

    tasks = [asyncio.ensure_future(waiter(i)) for i in range(5)]
    await asyncio.sleep(0)  # all five are waiting now
    cond.notify()
    await within(asyncio.gather(*tasks))
    assert sorted(woken) == [0, 1, 2, 3, 4]


@pytest.mark.asyncio
async def test_a_later_waiter_waits_for_the_next_notify():
    cond = Condition()
    cond.notify()  # nobody waiting: nothing remembered
    late = asyncio.ensure_future(cond.wait())
    await asyncio.sleep(0)
    assert not late.done()
    cond.notify()
    await within(late)


@pytest.mark.asyncio
async def test_waiters_during_a_wake_up_are_not_woken_by_it():
    cond = Condition()
    rounds = []

    async def rewaiting():
        await cond.wait()
        rounds.append(1)
        await cond.wait()
        rounds.append(2)

    task = asyncio.ensure_future(rewaiting())
    await asyncio.sleep(0)
    cond.notify()
    await eventually(lambda: rounds == [1], what="first wake-up")
    await asyncio.sleep(0)
    assert rounds == [1]
    cond.notify()
    await within(task)
    assert rounds == [1, 2]


@pytest.mark.asyncio
async def test_a_cancelled_waiter_leaves_the_others_alone():
    cond = Condition(loop=asyncio.get_running_loop())  # loop= is accepted
    gone = asyncio.ensure_future(cond.wait())
    stays = asyncio.ensure_future(cond.wait())
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    cond.notify()
    await within(stays)
    assert gone.cancelled()


# ---- BackgroundTaskPool ---------------------------------------------------------

@pytest.mark.asyncio
async def test_pool_keeps_tasks_alive_until_they_finish():
    pool = BackgroundTaskPool(asyncio.get_running_loop())
    release = asyncio.Event()
    done = asyncio.Event()

    async def job():
        await release.wait()
        done.set()
        return "result"

    task = pool.create(job())
    assert task in pool.tasks and len(pool) == 1
    del task
    gc.collect()  # asyncio holds tasks weakly; the pool must not
    release.set()
    await within(done.wait())
    await eventually(lambda: len(pool) == 0, what="the finished task to be dropped")


@pytest.mark.asyncio
async def test_pool_returns_the_task():
    pool = BackgroundTaskPool()  # the running loop
    task = pool.create(asyncio.sleep(0, result=7))
    assert await within(task) == 7


@pytest.mark.asyncio
async def test_pool_logs_a_failed_task(caplog):
    pool = BackgroundTaskPool(asyncio.get_running_loop())

    async def broken():
        raise ValueError("background trouble")

    task = pool.create(broken())
    await asyncio.gather(task, return_exceptions=True)
    await eventually(lambda: "background trouble" in caplog.text, what="the error logged")
    assert len(pool) == 0


@pytest.mark.asyncio
async def test_pool_stop_cancels_and_awaits_everything():
    pool = BackgroundTaskPool(asyncio.get_running_loop())
    cleaned = []

    async def forever(i):
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0)
            cleaned.append(i)

    tasks = [pool.create(forever(i)) for i in range(3)]
    await asyncio.sleep(0)
    await within(pool.stop())
    assert sorted(cleaned) == [0, 1, 2]
    assert all(t.cancelled() for t in tasks)
    assert len(pool) == 0
    await within(pool.stop())  # nothing left: fine


def test_pool_runs_tasks_on_its_loop_from_outside():
    loop = asyncio.new_event_loop()
    try:
        pool = BackgroundTaskPool(loop)
        task = pool.create(asyncio.sleep(0, result="ran"))
        assert loop.run_until_complete(task) == "ran"
    finally:
        loop.close()


# ---- TaskObject ---------------------------------------------------------------

@pytest.mark.asyncio
async def test_task_object_logs_a_failure_and_ends_with_it(caplog):
    class Failing(TaskObject):
        async def _do(self):
            raise RuntimeError("do failed")

    obj = Failing()
    obj.start()
    task = obj.task
    await asyncio.gather(task, return_exceptions=True)
    assert isinstance(task.exception(), RuntimeError)
    assert "Failing task failed" in caplog.text and "do failed" in caplog.text
    await obj.stop()


@pytest.mark.asyncio
async def test_task_object_cancellation_is_not_logged(caplog):
    class Waiting(TaskObject):
        async def _do(self):
            await asyncio.Event().wait()

    obj = Waiting()
    obj.start()
    await asyncio.sleep(0)
    await obj.stop()
    assert "failed" not in caplog.text


# ---- AsyncioServer's ssl_config ---------------------------------------------------

class Echo(AsyncioServer):
    async def _handle_connection_cr(self, reader, writer):
        writer.write(await reader.readline())


@pytest.mark.asyncio
async def test_server_start_accepts_ssl_config_none():
    server = Echo()
    await server.start("127.0.0.1", 0, ssl_config=None)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"plain\n")
        assert await within(reader.readline()) == b"plain\n"
        writer.close()
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_server_start_with_missing_certificate_files_listens_nowhere(tmp_path):
    server = Echo()
    config = SimpleSSLConfig(tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "p.pem")
    with pytest.raises(OSError):
        await server.start("127.0.0.1", 0, ssl_config=config)
    with pytest.raises(RuntimeError):
        server.port  # noqa: B018 - nothing was started
    await server.stop()


# ---- SimpleSSLConfig, with real certificates and handshakes --------------------------

def test_ssl_config_keeps_the_three_paths():
    config = SimpleSSLConfig("cert.pem", "key.pem", "peer.pem")
    assert (config.local_cert, config.local_key, config.peer_cert) == \
        ("cert.pem", "key.pem", "peer.pem")
    assert "peer.pem" in repr(config)


def test_missing_files_fail_when_a_context_is_made(tmp_path):
    config = SimpleSSLConfig(tmp_path / "none.pem", tmp_path / "none.key", tmp_path / "p.pem")
    with pytest.raises(OSError):
        config.create_client_context()


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """Self-signed (certificate, key) pairs, made in the session (with the
    cryptography package: no openssl command needed)."""
    folder = tmp_path_factory.mktemp("certs")
    made = {name: (i.cert, i.key) for name, i in make_identities(folder).items()}
    both = folder / "client-and-stranger.pem"
    both.write_text(made["stranger"][0].read_text() + made["client"][0].read_text())
    made["several"] = (both, None)
    return made


def config(certs, me, trusted):
    cert, key = certs[me]
    return SimpleSSLConfig(str(cert), str(key), str(certs[trusted][0]))


def test_contexts_are_for_mutual_authentication(certs):
    cfg = config(certs, "client", "server")
    client = cfg.create_client_context()
    server = config(certs, "server", "client").create_server_context()
    for context in (client, server):
        assert isinstance(context, ssl.SSLContext)
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname is False
    assert client.protocol == ssl.PROTOCOL_TLS_CLIENT
    assert server.protocol == ssl.PROTOCOL_TLS_SERVER
    # trust is exactly peer_cert, not the system's authorities
    assert [c["subject"] for c in client.get_ca_certs()] == [((("commonName", "server"),),)]


class TLSEcho:
    """A TLS echo server on 127.0.0.1 recording the client certificates it saw."""

    def __init__(self, context):
        self.context = context
        self.peers = []

    async def __aenter__(self):
        async def handle(reader, writer):
            self.peers.append(writer.get_extra_info("peercert"))
            writer.write(await reader.readline())
            await writer.drain()
            writer.close()

        self.server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=self.context)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc):
        self.server.close()
        await self.server.wait_closed()


def subject(cert):
    return dict(item[0] for item in cert["subject"])["commonName"]


async def exchange(port, context):
    # server_hostname is an IP address: nothing to match, and none is checked
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    try:
        writer.write(b"hello over tls\n")
        await writer.drain()
        return await reader.readline(), writer.get_extra_info("peercert")
    finally:
        writer.close()


@pytest.mark.asyncio
async def test_mutual_tls_handshake(certs):
    server_ctx = config(certs, "server", "client").create_server_context()
    client_ctx = config(certs, "client", "server").create_client_context()
    async with TLSEcho(server_ctx) as echo:
        line, server_cert = await within(exchange(echo.port, client_ctx))
    assert line == b"hello over tls\n"
    assert subject(server_cert) == "server"
    assert [subject(c) for c in echo.peers] == ["client"]


@pytest.mark.asyncio
async def test_peer_cert_may_hold_several_certificates(certs):
    server_ctx = SimpleSSLConfig(str(certs["server"][0]), str(certs["server"][1]),
                                 str(certs["several"][0])).create_server_context()
    async with TLSEcho(server_ctx) as echo:
        for who in ("client", "stranger"):
            line, _ = await within(exchange(echo.port, config(certs, who, "server")
                                            .create_client_context()))
            assert line == b"hello over tls\n"
    assert [subject(c) for c in echo.peers] == ["client", "stranger"]


@pytest.mark.asyncio
async def test_client_refuses_a_server_it_does_not_trust(certs):
    server_ctx = config(certs, "server", "client").create_server_context()
    client_ctx = config(certs, "client", "stranger").create_client_context()
    async with TLSEcho(server_ctx) as echo:
        with pytest.raises(ssl.SSLCertVerificationError):
            await within(exchange(echo.port, client_ctx))
    assert echo.peers == []


async def refused_by_server(port, context):
    """True if the server ends the connection without echoing (with TLS 1.3
    the client learns of the refusal only when it reads)."""
    try:
        line, _ = await within(exchange(port, context))
    except (ssl.SSLError, ConnectionError):
        return True
    return line == b""


@pytest.mark.asyncio
async def test_server_refuses_a_client_it_does_not_trust(certs, caplog):
    caplog.set_level(logging.CRITICAL, logger="asyncio")  # asyncio reports the handshake
    server_ctx = config(certs, "server", "client").create_server_context()
    stranger_ctx = config(certs, "stranger", "server").create_client_context()
    async with TLSEcho(server_ctx) as echo:
        assert await refused_by_server(echo.port, stranger_ctx)
    assert echo.peers == []


@pytest.mark.asyncio
async def test_server_refuses_a_client_without_certificate(certs, caplog):
    caplog.set_level(logging.CRITICAL, logger="asyncio")
    server_ctx = config(certs, "server", "client").create_server_context()
    anonymous = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    anonymous.load_verify_locations(cafile=str(certs["server"][0]))
    anonymous.check_hostname = False
    async with TLSEcho(server_ctx) as echo:
        assert await refused_by_server(echo.port, anonymous)
    assert echo.peers == []


# ---- SignalHandler and SIGHUP ----------------------------------------------------

def sighup_default() -> None:
    """For a child's preexec_fn: SIGHUP at its default, whatever the test run
    was started under (``nohup`` passes it ignored to every child, and a
    SignalHandler rightly leaves an ignored SIGHUP ignored)."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def run_child(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=60,
                         preexec_fn=sighup_default if hasattr(signal, "SIGHUP") else None)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP here")
def test_signal_handler_takes_sighup():
    assert run_child("""
        import asyncio, os, signal
        from sipyco.tools import SignalHandler
        async def main():
            h = SignalHandler()
            h.setup()
            asyncio.get_running_loop().call_later(0.01, os.kill, os.getpid(), signal.SIGHUP)
            got = await h.wait_terminate()
            h.teardown()
            print(got == signal.SIGHUP, signal.getsignal(signal.SIGHUP) is signal.SIG_DFL)
        asyncio.run(main())
    """) == "True True"


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP here")
def test_signal_handler_leaves_an_ignored_sighup_ignored():
    assert run_child("""
        import asyncio, os, signal
        from sipyco.tools import SignalHandler
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
        async def main():
            h = SignalHandler()
            h.setup()
            still_ignored = signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            loop = asyncio.get_running_loop()
            loop.call_later(0.01, os.kill, os.getpid(), signal.SIGHUP)
            loop.call_later(0.2, os.kill, os.getpid(), signal.SIGTERM)
            got = await h.wait_terminate()
            h.teardown()
            print(still_ignored, got == signal.SIGTERM)
        asyncio.run(main())
    """) == "True True"
