"""Publishers and subscribers in real processes: a publisher process that
stops or is killed, a subscriber process that is killed."""

from __future__ import annotations

import asyncio
import pathlib
import signal
import sys

import pytest
import pytest_asyncio
from support.net import eventually, within
from support.sync import Counter

from sipyco import pyon
from sipyco.sync_struct import Notifier

HERE = pathlib.Path(__file__).resolve().parent


class Peer:
    """A running sync_peer.py with line-wise access to its stdout."""

    def __init__(self, proc):
        self.proc = proc

    async def expect(self, prefix: str) -> list[str]:
        """Read lines until one starts with ``prefix``; return its words."""
        while True:
            line = await within(self.proc.stdout.readline())
            if not line:
                err = await within(self.proc.stderr.read())
                raise AssertionError(f"peer ended before {prefix!r}: {err.decode()}")
            words = line.decode().rstrip("\n").split(" ", 1)
            if words[0] == prefix:
                return words

    async def send(self, line: str) -> None:
        self.proc.stdin.write(line.encode() + b"\n")
        await within(self.proc.stdin.drain())

    async def wait(self) -> int:
        return await within(self.proc.wait())


@pytest_asyncio.fixture
async def spawn():
    """``await spawn(*args)`` -> a Peer running ``sync_peer.py *args``."""
    peers = []

    async def start(*args):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(HERE / "sync_peer.py"), *map(str, args),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, cwd=HERE)
        peer = Peer(proc)
        peers.append(peer)
        return peer

    yield start
    for peer in peers:
        if peer.proc.returncode is None:
            peer.proc.kill()
        await within(peer.proc.wait())


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.asyncio
async def test_publisher_process_that_stops(spawn, subscribe, version):
    peer = await spawn("publish", version)
    _, port = await peer.expect("port")
    gone = Counter()
    sub = await subscribe(int(port), "s", disconnect_cb=gone)
    assert sub.target == {"x": 0, "log": []}
    await peer.send("set x 5")
    await peer.send("append 7")
    await eventually(lambda: sub.target == {"x": 5, "log": [7]})
    await peer.send("stop")
    await peer.expect("stopped")
    assert await peer.wait() == 0
    await eventually(lambda: gone.calls == 1)
    await sub.close()
    assert gone.calls == 1


@pytest.mark.asyncio
async def test_publisher_process_that_is_killed(spawn, subscribe):
    peer = await spawn("publish")
    _, port = await peer.expect("port")
    gone = [Counter(), Counter()]
    subs = [await subscribe(int(port), "s", disconnect_cb=g) for g in gone]
    await peer.send("append 1")
    for sub in subs:
        await eventually(lambda sub=sub: sub.target["log"] == [1])
    peer.proc.send_signal(signal.SIGKILL)
    assert await peer.wait() == -signal.SIGKILL
    for g in gone:
        await eventually(lambda g=g: g.calls == 1)
    for sub in subs:
        await sub.close()
    assert [g.calls for g in gone] == [1, 1]


@pytest.mark.asyncio
async def test_subscriber_process_follows_and_sees_the_end(publish, spawn):
    n = Notifier({"x": 0, "log": []})
    publisher = await publish({"s": n})
    peer = await spawn("subscribe", publisher.port)
    _, init = await peer.expect("mod")
    assert pyon.decode(init) == {"action": "init", "struct": {"x": 0, "log": []}}
    n["log"].append((1, 2))
    _, mod = await peer.expect("mod")
    assert pyon.decode(mod) == {"action": "append", "path": ["log"], "x": (1, 2)}
    await publisher.stop()
    await peer.expect("disconnected")
    assert await peer.wait() == 0


@pytest.mark.asyncio
async def test_killed_subscriber_process_is_forgotten(publish, subscribe, spawn):
    n = Notifier({"x": 0})
    publisher = await publish({"s": n})
    local = await subscribe(publisher.port, "s")
    peers = [await spawn("subscribe", publisher.port) for _ in range(3)]
    for peer in peers:
        await peer.expect("mod")
    subs = publisher._subscriptions["s"]
    assert len(subs) == 4
    for peer in peers:
        peer.proc.send_signal(signal.SIGKILL)
        await peer.wait()
    # A dead subscriber's end of stream looks like a half-close, which is
    # allowed: it is forgotten once writing to it fails.
    changes = iter(range(10**6))
    await eventually(lambda: n.__setitem__("x", next(changes)) or len(subs) == 1)
    for i in range(50):
        n["x"] = i
    await eventually(lambda: local.target == {"x": 49})
