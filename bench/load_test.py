"""Load test of a pc_rpc server under attack (loopback only; not part of CI).

A pc_rpc Server runs in a process of its own.  This process connects one
legitimate client, which calls the server in a loop from a thread of its
own, and then, for ``--duration`` seconds:

* ``--attackers`` clients each select a target and stream ``--attack`` MB of
  a request that never ends; when the server closes one (to stay within
  ``max_buffered_bytes``), it reconnects and starts again;
* ``--idle`` connections send nothing, and ``--trickle`` more send one byte
  a second, never a whole line; when the server closes one (past its
  handshake_timeout, or over max_connections), it is opened again.

Then everything but the legitimate client is closed.  It prints the
legitimate client's calls (and any failure), the server's peak RSS next to
``max_buffered_bytes``, its own accounting of buffered bytes, and its open
descriptors before and after.  Acceptance: every legitimate call succeeds,
peak RSS stays under baseline + budget + the stated margin, and the
server's descriptors return to what they were before the attack.  The exit
status is 0 when all three hold.

    python bench/load_test.py                  # 1 GiB budget, 4 x 300 MB, 2000 slow peers
    python bench/load_test.py --budget 64 --attack 48 --duration 10   # a quick one
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time

MiB = 1 << 20
HERE = os.path.dirname(os.path.abspath(__file__))


def raise_fd_limit(wanted: int) -> int:
    """Raise this process's soft RLIMIT_NOFILE towards ``wanted`` (within
    the hard limit); returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


# ------------------------------------------------------------ the server ---

def serve(args) -> None:
    """The server process: print the port, serve until terminate()."""
    import logging

    from sipyco.pc_rpc import Server

    raise_fd_limit(args.fd_limit)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s:%(name)s:%(message)s")

    class Load:
        def echo(self, value):
            return value

        def stats(self):
            return {
                "rss": _status("VmRSS"),
                "hwm": _status("VmHWM"),
                "fds": len(os.listdir("/proc/self/fd")),
                "connections": len(server._connections),
                "buffered": server.buffered_bytes,
                "buffered_peak": server._budget.peak,
            }

    server = Server({"load": Load()}, builtin_terminate=True,
                    max_buffered_bytes=args.budget * MiB,
                    max_connections=args.max_connections,
                    handshake_timeout=args.handshake_timeout)

    async def main():
        await server.start("127.0.0.1", 0)
        print(server.port, flush=True)
        await server.wait_terminate()
        await server.stop()

    asyncio.run(main())


# -------------------------------------------------------- the legit client ---

class Legit(threading.Thread):
    """Calls echo() in a loop (and stats() now and then) until stopped."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        from sipyco.pc_rpc import Client

        self.client = Client("127.0.0.1", port, "load", timeout=60)
        self.stop = threading.Event()
        self.calls = 0
        self.failures: list[str] = []
        self.slowest = 0.0
        self.peak_rss = 0

    def run(self) -> None:
        last_stats = 0.0
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                value = [self.calls, "payload"]
                if self.client.echo(value) != value:
                    self.failures.append(f"call {self.calls}: wrong reply")
                if t0 - last_stats > 0.25:
                    last_stats = t0
                    self.peak_rss = max(self.peak_rss, self.client.stats()["rss"])
            except Exception as exc:  # noqa: BLE001 - reported
                self.failures.append(f"call {self.calls}: {exc!r}")
                return
            self.slowest = max(self.slowest, time.monotonic() - t0)
            self.calls += 1


# ------------------------------------------------------------- the attack ---

class Counts:
    def __init__(self):
        self.attack_connections = 0
        self.attack_closed_by_server = 0
        self.attack_bytes = 0
        self.slow_connections = 0
        self.slow_closed_by_server = 0
        self.slow_connect_failures = 0


async def attacker(port: int, size: int, stop: asyncio.Event, counts: Counts) -> None:
    from sipyco._rpc import protocol as p

    chunk = b"x" * MiB
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        counts.attack_connections += 1
        try:
            writer.write(p.HELLO)
            if not await reader.readline():
                raise ConnectionResetError("refused")
            writer.write(p.selection_line("load"))
            if not await reader.readline():
                raise ConnectionResetError("closed")
            sent = 0
            while sent < size and not stop.is_set():
                n = min(len(chunk), size - sent)
                writer.write(chunk[:n])
                await writer.drain()
                sent += n
                counts.attack_bytes += n
            # all sent: hold the connection until the server closes it
            stopped = asyncio.ensure_future(stop.wait())
            closed = asyncio.ensure_future(reader.read())
            await asyncio.wait([stopped, closed], return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            closed.cancel()
            if not stop.is_set():
                counts.attack_closed_by_server += 1
        except (ConnectionError, OSError):
            counts.attack_closed_by_server += 1
        finally:
            writer.transport.abort()


async def slow_peer(port: int, trickle: bool, stop: asyncio.Event, counts: Counts) -> None:
    """One idle (or byte-at-a-time) connection, reopened whenever the server
    closes it."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            counts.slow_connect_failures += 1
            await asyncio.sleep(0.5)
            continue
        counts.slow_connections += 1
        closed = asyncio.ensure_future(reader.read(1))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            while True:
                if trickle and not closed.done():
                    writer.write(b"A")
                done, _ = await asyncio.wait([closed, stopped], timeout=1.0,
                                             return_when=asyncio.FIRST_COMPLETED)
                if stopped in done:
                    break
                if closed in done:
                    counts.slow_closed_by_server += 1
                    break
        except (ConnectionError, OSError):
            counts.slow_closed_by_server += 1
        finally:
            closed.cancel()
            stopped.cancel()
            writer.transport.abort()


async def attack(port: int, args, counts: Counts) -> None:
    stop = asyncio.Event()
    tasks = [asyncio.ensure_future(attacker(port, args.attack * MiB, stop, counts))
             for _ in range(args.attackers)]
    for i in range(args.idle + args.trickle):
        tasks.append(asyncio.ensure_future(slow_peer(port, i >= args.idle, stop, counts)))
        if i % 100 == 99:
            await asyncio.sleep(0.05)  # do not overflow the listen backlog all at once
    await asyncio.sleep(args.duration)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)


# ------------------------------------------------------------------ main ---

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=int, default=1024, help="max_buffered_bytes, MiB")
    parser.add_argument("--attack", type=int, default=300, help="MB each attacker streams")
    parser.add_argument("--attackers", type=int, default=4)
    parser.add_argument("--idle", type=int, default=1000, help="connections sending nothing")
    parser.add_argument("--trickle", type=int, default=1000,
                        help="connections sending a byte a second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of attack")
    parser.add_argument("--max-connections", type=int, default=4096,
                        help="the server's max_connections")
    parser.add_argument("--handshake-timeout", type=float, default=10.0)
    parser.add_argument("--margin", type=int, default=256,
                        help="MiB of peak RSS allowed over baseline + budget")
    parser.add_argument("--fd-limit", type=int, default=16384)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args)
        return 0

    limit = raise_fd_limit(args.fd_limit)
    if limit < args.idle + args.trickle + args.attackers + 64:
        print(f"RLIMIT_NOFILE is {limit}: too low for {args.idle + args.trickle} connections")
        return 2
    own_fds_before = len(os.listdir("/proc/self/fd"))  # (what this process holds)
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    command = [sys.executable, os.path.abspath(__file__), "--serve",
               "--budget", str(args.budget), "--max-connections", str(args.max_connections),
               "--handshake-timeout", str(args.handshake_timeout),
               "--fd-limit", str(args.fd_limit)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        port = int(server.stdout.readline())
        from sipyco.pc_rpc import Client

        monitor = Client("127.0.0.1", port, "load", timeout=60)  # the legit one is busy
        legit = Legit(port)
        before = monitor.stats()
        legit.start()

        counts = Counts()
        t0 = time.monotonic()
        asyncio.run(attack(port, args, counts))
        attack_time = time.monotonic() - t0

        # everything but the legitimate client has gone: wait for the server to see it
        deadline = time.monotonic() + 30
        while True:
            after = monitor.stats()
            if after["connections"] <= 1 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        time.sleep(0.5)
        legit.stop.set()
        legit.join(60)
        after = monitor.stats()
        legit.client.close_rpc()
        monitor.terminate()
        monitor.close_rpc()
        server.wait(60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    server.stdout.close()
    log.seek(0)
    lines = log.read().splitlines()
    log.close()
    os.unlink(log.name)
    own_fds_after = len(os.listdir("/proc/self/fd"))
    evictions = sum("max_buffered_bytes=" in line for line in lines)
    cap_lines = sum("max_connections=" in line for line in lines)
    others = [line for line in lines if line.startswith(("WARNING", "ERROR", "CRITICAL"))
              and "max_buffered_bytes=" not in line and "max_connections=" not in line]

    budget = args.budget * MiB
    bound = before["rss"] + budget + args.margin * MiB
    peak = max(after["hwm"], legit.peak_rss)
    ok_calls = not legit.failures and legit.calls > 0
    ok_rss = peak <= bound
    ok_fds = after["fds"] == before["fds"] and own_fds_after == own_fds_before

    print(f"attack: {attack_time:.1f} s; {args.attackers} attackers x {args.attack} MB "
          f"(reconnecting), {args.idle} idle + {args.trickle} byte-a-second peers "
          f"(reopened when closed)")
    print(f"server: max_buffered_bytes={args.budget} MiB, max_connections="
          f"{args.max_connections}, handshake_timeout={args.handshake_timeout:g} s")
    print(f"attack connections: {counts.attack_connections}, closed by the server: "
          f"{counts.attack_closed_by_server}, bytes sent: {counts.attack_bytes / MiB:.0f} MiB")
    print(f"slow connections opened: {counts.slow_connections}, closed by the server: "
          f"{counts.slow_closed_by_server}, connect failures: {counts.slow_connect_failures}")
    print(f"server log: {evictions} eviction warnings (max_buffered_bytes), {cap_lines} "
          f"max_connections warnings, {len(others)} other warnings/errors")
    for line in others[:5]:
        print("   ", line[:160])
    print(f"legitimate client: {legit.calls} calls, {len(legit.failures)} failures, "
          f"slowest {legit.slowest * 1000:.0f} ms")
    for failure in legit.failures[:5]:
        print("   ", failure)
    print(f"server RSS: baseline {before['rss'] / MiB:.0f} MiB, peak {peak / MiB:.0f} MiB, "
          f"bound (baseline + budget + {args.margin} MiB margin) {bound / MiB:.0f} MiB; "
          f"accounted buffered bytes peak {after['buffered_peak'] / MiB:.1f} MiB")
    print(f"server descriptors: {before['fds']} before, {after['fds']} after "
          f"({after['connections']} connection(s) open); this process: {own_fds_before} "
          f"before, {own_fds_after} after")
    print("PASS" if ok_calls and ok_rss and ok_fds else
          f"FAIL (calls ok: {ok_calls}, RSS ok: {ok_rss}, descriptors ok: {ok_fds})")
    return 0 if ok_calls and ok_rss and ok_fds else 1


if __name__ == "__main__":
    sys.exit(main())
