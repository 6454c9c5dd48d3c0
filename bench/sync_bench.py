"""sync_struct fan-out: one publisher process, 10 subscribers, 20,000 mixed
setitem/append mods; mods per second until every subscriber holds the final
state, beside the same traffic sent as pre-encoded lines (the baseline)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time

from sipyco.sync_struct import Subscriber

HERE = os.path.dirname(os.path.abspath(__file__))
SUBSCRIBERS = 10
MODS = 20_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_run(mode: str) -> float:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "sync_peers.py"), mode,
                             str(port), str(MODS)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        return asyncio.run(_follow(port, proc))
    finally:
        proc.kill()
        proc.wait()


async def _follow(port: int, proc) -> float:
    finished = asyncio.Event()
    remaining = SUBSCRIBERS

    def watch(mod):
        nonlocal remaining
        if mod.get("key") == "done" and mod.get("value") is True:
            remaining -= 1
            if remaining == 0:
                finished.set()

    subs = [Subscriber("bench", lambda s: s, watch) for _ in range(SUBSCRIBERS)]
    for s in subs:
        await s.connect("127.0.0.1", port)
    start = time.perf_counter()
    proc.stdin.write("go\n")
    proc.stdin.flush()
    await asyncio.wait_for(finished.wait(), 600)
    elapsed = time.perf_counter() - start
    final = [len(s.target["log"]) for s in subs]
    assert final == [MODS // 2] * SUBSCRIBERS, final
    for s in subs:
        await s.close()
    return MODS / elapsed


def run(quick: bool = False) -> list[tuple[str, str, str]]:
    rounds = 1 if quick else 3
    raw = max(one_run("raw") for _ in range(rounds))
    rows = [("pre-encoded lines to 10 subscribers (baseline)", f"{raw:,.0f} mods/s", "1.00x")]
    for mode in ("v1", "v2"):
        r = max(one_run(mode) for _ in range(rounds))
        rows.append((f"Publisher writing {mode}, 10 Subscribers", f"{r:,.0f} mods/s",
                     f"{r / raw:.2f}x"))
    return rows


def report(rows) -> str:
    lines = ["| measurement | rate | / baseline |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run("--quick" in sys.argv)))
