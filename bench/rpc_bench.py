"""pc_rpc throughput beside a raw loopback ping-pong, in one run.

Servers run in their own processes (as controllers do), so client and server
do not share an interpreter lock.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import numpy

from sipyco.pc_rpc import AsyncioClient, Client

HERE = os.path.dirname(os.path.abspath(__file__))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def peer(kind: str):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "rpc_peers.py"), kind,
                             str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        yield port
    finally:
        proc.kill()
        proc.wait()


def timed(fn, seconds: float, rounds: int = 3) -> float:
    """Operations per second, best of ``rounds`` rounds of ``seconds`` each
    (the round least disturbed by the rest of the machine); ``fn()`` returns
    how many operations it did."""
    fn()  # warm up
    best = 0.0
    for _ in range(rounds):
        done = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            done += fn()
        best = max(best, done / (time.perf_counter() - start))
    return best


def raw_pingpong(port: int, seconds: float) -> float:
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    msg = b'{"action":"call","name":"echo","args":{"__jsonclass__":["tuple",[[1]]]},"kwargs":{}}\n'

    def batch():
        for _ in range(200):
            s.sendall(msg)
            f.readline()
        return 200
    try:
        return timed(batch, seconds)
    finally:
        f.close()
        s.close()


SMALL_DICT = {f"k{i}": (i, float(i) / 7, f"v{i}", [True, None]) for i in range(20)}


def sync_calls(port: int, value, seconds: float, batch: int = 100) -> float:
    with Client("127.0.0.1", port) as c:
        def run():
            for _ in range(batch):
                c.echo(value)
            return batch
        return timed(run, seconds)


def array_echo(port: int, nbytes: int, seconds: float) -> float:
    a = numpy.random.default_rng(0).normal(size=nbytes // 8)
    with Client("127.0.0.1", port) as c:
        def run():
            c.echo(a)
            return 1
        return timed(run, seconds) * nbytes / 1e6


def asyncio_calls(port: int, clients: int, tasks_per_client: int, seconds: float) -> float:
    async def main():
        conns = []
        for _ in range(clients):
            c = AsyncioClient()
            await c.connect_rpc("127.0.0.1", port)
            conns.append(c)
        count = 0
        stop = False

        async def worker(c):
            nonlocal count
            while not stop:
                await c.echo(1)
                count += 1
        workers = [asyncio.ensure_future(worker(c)) for c in conns
                   for _ in range(tasks_per_client)]
        await asyncio.sleep(0.2)  # warm up
        rate = 0.0
        for _ in range(3):  # best of three rounds, as timed() does
            count = 0
            start = time.perf_counter()
            await asyncio.sleep(seconds)
            rate = max(rate, count / (time.perf_counter() - start))
        stop = True
        await asyncio.gather(*workers)
        for c in conns:
            c.close_rpc()
        return rate
    return asyncio.run(main())


def run(quick: bool = False) -> list[tuple[str, str, str]]:
    t = 0.3 if quick else 1.0
    rows = []
    with peer("raw") as port:
        raw = raw_pingpong(port, t)
    rows.append(("raw loopback ping-pong (baseline)", f"{raw:,.0f}/s", "1.00x"))
    rows += _rpc_rows(raw, t)
    with peer("raw") as port:
        again = raw_pingpong(port, t)
    rows.append(("raw loopback ping-pong, measured again at the end", f"{again:,.0f}/s",
                 f"{again / raw:.2f}x"))
    return rows


def _rpc_rows(raw: float, t: float) -> list[tuple[str, str, str]]:
    rows = []
    for kind, label in (("rpc", "v2"), ("rpc-v1", "v1")):
        with peer(kind) as port:
            r = sync_calls(port, 1, t)
            rows.append((f"sync small calls ({label})", f"{r:,.0f}/s", f"{r / raw:.2f}x"))
            r = sync_calls(port, SMALL_DICT, t)
            rows.append((f"sync 20-key dict calls ({label})", f"{r:,.0f}/s", f"{r / raw:.2f}x"))
            if label == "v2":
                r = asyncio_calls(port, 8, 1, t)
                rows.append(("asyncio, 8 clients (v2)", f"{r:,.0f}/s", f"{r / raw:.2f}x"))
                r = asyncio_calls(port, 1, 8, t)
                rows.append(("asyncio, 8 tasks on one pipelined connection (v2)",
                             f"{r:,.0f}/s", f"{r / raw:.2f}x"))
            for mb in (1, 8, 64):
                r = array_echo(port, mb << 20, t)
                rows.append((f"array echo, {mb} MiB ({label})", f"{r:,.0f} MB/s", ""))
    return rows


def report(rows) -> str:
    lines = ["| measurement | rate | / raw ping-pong |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run("--quick" in sys.argv)))
