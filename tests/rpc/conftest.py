"""Fixtures for pc_rpc tests: real servers on 127.0.0.1 (port 0) in their own
event-loop thread, and clients of every kind behind one calling style."""

from __future__ import annotations

import asyncio
import threading
from contextlib import contextmanager

import pytest

from sipyco.pc_rpc import AsyncioClient, AutoTarget, Client, Server


class ServerThread:
    """A pc_rpc Server running on its own event loop in a daemon thread."""

    def __init__(self, targets, port=0, **options):
        self.loop = asyncio.new_event_loop()
        self.server = Server(targets, **options)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.run(self.server.start("127.0.0.1", port))
        self.port = self.server.port

    def run(self, coro, timeout=30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self):
        self.run(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def serve():
    """``serve(targets, **server_options)`` -> a started ServerThread."""
    started = []

    def start(targets, **options):
        st = ServerThread(targets, **options)
        started.append(st)
        return st

    yield start
    for st in started:
        st.close()


class AsyncAsSync:
    """Drives an AsyncioClient from synchronous test code, on a private loop."""

    def __init__(self, client: AsyncioClient, loop: asyncio.AbstractEventLoop):
        self.client = client
        self.loop = loop

    def __getattr__(self, name):
        attr = getattr(self.client, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            result = attr(*args, **kwargs)
            if asyncio.iscoroutine(result):
                return self.loop.run_until_complete(result)
            return result
        return call

    def close_rpc(self):
        self.client.close_rpc()
        # let the receiver task see the cancellation
        self.loop.run_until_complete(asyncio.sleep(0))


@pytest.fixture(params=["sync", "asyncio"])
def client_kind(request):
    return request.param


@pytest.fixture(params=["v1", "v2"])
def pyon_version(request):
    return request.param


@pytest.fixture
def connect(client_kind):
    """``connect(port, target=AutoTarget, **options)`` -> a client of the
    parametrised kind with a synchronous calling style."""
    made = []
    loop = asyncio.new_event_loop()

    def make(port, target=AutoTarget, **options):
        if client_kind == "sync":
            c = Client("127.0.0.1", port, target, **options)
        else:
            ac = AsyncioClient(**options)
            loop.run_until_complete(ac.connect_rpc("127.0.0.1", port, target))
            c = AsyncAsSync(ac, loop)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close_rpc()
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()


@contextmanager
def raw_connection(port, timeout=10):
    """A bare TCP connection for speaking the protocol by hand."""
    import socket
    s = socket.create_connection(("127.0.0.1", port), timeout)
    f = s.makefile("rwb", buffering=0)
    try:
        yield s, f
    finally:
        f.close()
        s.close()
