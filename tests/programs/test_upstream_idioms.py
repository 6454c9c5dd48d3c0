"""Small idioms of programs written for upstream, one test each."""

from __future__ import annotations

import asyncio
import gc

import pytest
from support.net import within
from support.rpc_targets import Echo
from support.sync import Recorder

from sipyco.errors import ConnectionClosed
from sipyco.pc_rpc import AsyncioClient, Server
from sipyco.sync_struct import Notifier, Publisher, Subscriber


async def _server():
    server = Server({"echo": Echo()})
    await server.start("127.0.0.1", 0)
    return server


@pytest.mark.asyncio
async def test_close_rpc_made_early_closes_only_when_awaited():
    server = await _server()
    try:
        remote = AsyncioClient()
        await remote.connect_rpc("127.0.0.1", server.port)
        closing = remote.close_rpc()  # the addCleanup idiom: made now ...
        assert await remote.echo(1) == 1  # ... calls still work ...
        await closing  # ... closed here
        with pytest.raises(ConnectionClosed):
            await remote.echo(2)
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_bare_close_rpc_never_awaited_closes_at_once():
    server = await _server()
    try:
        remote = AsyncioClient()
        await remote.connect_rpc("127.0.0.1", server.port)
        remote.close_rpc()  # 1.8's style: never awaited
        gc.collect()  # (not needed in CPython: the result is dropped right away)
        with pytest.raises(ConnectionClosed):
            await remote.echo(2)
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_publisher_publish_sends_a_mod_to_the_notifiers_subscribers():
    status = Notifier({"a": 1})
    publisher = Publisher({"status": status})
    await publisher.start("127.0.0.1", 0)
    recorder = Recorder()
    subscriber = Subscriber("status", lambda s: s, recorder)
    try:
        await subscriber.connect("127.0.0.1", publisher.port)
        status.raw_view["b"] = 2  # changed behind the notifier's back ...
        publisher.publish(status, {"action": "setitem", "path": [], "key": "b", "value": 2})

        async def arrived():
            while subscriber.target != {"a": 1, "b": 2}:
                await asyncio.sleep(0.01)
        await within(arrived())  # ... and told to the subscribers
        with pytest.raises(ValueError, match="not one of this Publisher's notifiers"):
            publisher.publish(Notifier({}), {"action": "setitem", "path": [], "key": 1,
                                             "value": 1})
    finally:
        await subscriber.close()
        await publisher.stop()


def test_110_reexports():
    from sipyco import asyncio_tools, logs, packed_exceptions, pc_rpc, sync_struct
    assert sync_struct.AsyncioServer is asyncio_tools.AsyncioServer
    assert pc_rpc.current_exc_packed is packed_exceptions.current_exc_packed
    assert pc_rpc.raise_packed_exc is packed_exceptions.raise_packed_exc
    assert logs.AsyncioServer is asyncio_tools.AsyncioServer
    assert logs.TaskObject is asyncio_tools.TaskObject


def test_a_controller_ends_gracefully_on_sighup():
    import pathlib
    import signal
    import subprocess
    import sys

    from support.net import free_port

    from sipyco.asyncio_tools import HAS_SIGHUP
    from sipyco.pc_rpc import Client
    assert HAS_SIGHUP  # POSIX
    controller = pathlib.Path(__file__).resolve().parent.parent / "rpc" / "controller.py"
    port = free_port()
    # SIGHUP at its default in the controller, even when this test run was
    # started under nohup (which passes it ignored to every child)
    proc = subprocess.Popen([sys.executable, str(controller), "-p", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL))
    try:
        from support.net import wait_until

        def listening():
            try:
                Client("127.0.0.1", port, "thermometer").close_rpc()
                return True
            except ConnectionRefusedError:
                return False
        wait_until(listening)
        proc.send_signal(signal.SIGHUP)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "controller stopped" in out  # simple_server_loop returned normally
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
