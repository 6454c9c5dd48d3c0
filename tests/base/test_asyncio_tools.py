"""sipyco.asyncio_tools on real sockets."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest
from support.net import eventually

from sipyco.asyncio_tools import AsyncioServer, SignalHandler, TaskObject


class LineEcho(AsyncioServer):
    def __init__(self):
        super().__init__()
        self.served = 0

    async def _handle_connection_cr(self, reader, writer):
        self.served += 1
        while line := await reader.readline():
            writer.write(line.upper())
            await writer.drain()


@pytest.mark.asyncio
async def test_server_serves_and_stops_with_open_connections():
    server = LineEcho()
    await server.start("127.0.0.1", 0)
    port = server.port
    assert port > 0
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"hello\n")
    assert await reader.readline() == b"HELLO\n"
    idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", port)
    await server.stop()  # cancels both connections
    assert await reader.read() == b""
    assert await idle_reader.read() == b""
    writer.close()
    idle_writer.close()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)


@pytest.mark.asyncio
async def test_server_binds_a_list_of_hosts():
    server = LineEcho()
    await server.start(["127.0.0.1"], 0)
    try:
        r, w = await asyncio.open_connection("127.0.0.1", server.port)
        w.write(b"x\n")
        assert await r.readline() == b"X\n"
        w.close()
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_handler_errors_are_contained(caplog):
    class Broken(AsyncioServer):
        async def _handle_connection_cr(self, reader, writer):
            raise RuntimeError("handler bug")
    server = Broken()
    await server.start("127.0.0.1", 0)
    try:
        r, w = await asyncio.open_connection("127.0.0.1", server.port)
        assert await r.read() == b""  # closed by the server
        w.close()
    finally:
        await server.stop()
    assert "handler bug" in caplog.text


@pytest.mark.asyncio
async def test_task_object():
    class Ticker(TaskObject):
        def __init__(self):
            self.ticks = 0
            self.cleaned = False

        async def _do(self):
            try:
                while True:
                    self.ticks += 1
                    await asyncio.sleep(0)
            finally:
                self.cleaned = True
    t = Ticker()
    t.start()
    await eventually(lambda: t.ticks >= 5, what="five ticks")
    await t.stop()
    assert t.cleaned and t.task is None


def test_signal_handler_in_a_subprocess():
    code = textwrap.dedent("""
        import asyncio, os, signal
        from sipyco.asyncio_tools import SignalHandler
        async def main():
            h = SignalHandler()
            h.setup()
            asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)
            got = await h.wait_terminate()
            h.teardown()
            print("got", got == signal.SIGTERM)
        asyncio.run(main())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "got True"


def test_signal_handler_needs_setup():
    with pytest.raises(RuntimeError):
        asyncio.run(SignalHandler().wait_terminate())


def test_atexit_register_coroutine_runs_at_interpreter_exit():
    code = textwrap.dedent("""
        import asyncio
        from sipyco.asyncio_tools import atexit_register_coroutine
        loop = asyncio.new_event_loop()
        async def goodbye():
            await asyncio.sleep(0)
            print("cleaned up", flush=True)
        atexit_register_coroutine(goodbye, loop=loop)
        print("exiting", flush=True)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["exiting", "cleaned up"]


def _in_a_fresh_thread(fn):
    """Run ``fn`` in a thread of its own (no event loop set there), and
    return what it returns (or raise what it raised)."""
    import threading

    outcome = {}

    def run():
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # re-raised below
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_idle_thread_loop_never_makes_a_loop():
    from sipyco.asyncio_tools import idle_thread_loop

    def check():
        assert idle_thread_loop() is None  # nothing set: none made either
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            assert idle_thread_loop() is loop
            loop.close()
            assert idle_thread_loop() is None  # closed: not offered
        finally:
            asyncio.set_event_loop(None)
        return True

    assert _in_a_fresh_thread(check)


def test_a_task_object_started_where_no_loop_runs_runs_with_the_threads_loop():
    from sipyco.asyncio_tools import idle_thread_loop, made_for_start

    ran = []

    class Once(TaskObject):
        async def _do(self):
            ran.append(asyncio.get_running_loop())

    def check():
        worker = Once()
        worker.start()  # no loop runs, none is set: one is made and set
        loop = idle_thread_loop()
        assert loop is not None and made_for_start(loop)
        assert worker.task.get_loop() is loop and not ran
        loop.run_until_complete(worker.task)
        assert ran == [loop]
        loop.close()
        asyncio.set_event_loop(None)
        return True

    assert _in_a_fresh_thread(check)
