"""The SiPyCo tour: a simulated power-supply controller driven end to end.

Runs entirely on this machine (loopback only) and exits 0 when every step
worked:

1. starts a log server, then the controller (examples/psu_controller.py) as a
   separate process, forwarding its log records to that server;
2. drives the controller from the command line with ``sipyco_rpctool``;
3. drives it from Python: set, read back, ramp, read a numpy waveform;
4. follows its live status with a sync_struct Subscriber during the ramp;
5. shows the controller's log records arriving at the log server;
6. asks the controller to terminate and checks it exits cleanly.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time

from sipyco.logging_tools import Server as LogServer
from sipyco.pc_rpc import AsyncioClient, Client
from sipyco.sync_struct import Subscriber

HERE = os.path.dirname(os.path.abspath(__file__))
HOST = "127.0.0.1"


def step(title: str) -> None:
    print(f"\n== {title}")


def free_port_pair() -> int:
    """A port p such that p and p + 1 are both free right now."""
    for _ in range(100):
        with socket.socket() as a:
            a.bind((HOST, 0))
            port = a.getsockname()[1]
            with socket.socket() as b:
                try:
                    b.bind((HOST, port + 1))
                except OSError:
                    continue
        return port
    raise RuntimeError("no two adjacent free ports")


class ShowForwarded(logging.Handler):
    """Prints records that arrived through the log server."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def emit(self, record):
        if hasattr(record, "source"):
            self.seen.append(record)
            print(f"   [log server] {record.source}: {record.levelname} {record.name}: "
                  f"{record.getMessage()}")


def rpctool(*args: str) -> str:
    cmd = [sys.executable, "-m", "sipyco.sipyco_rpctool", *args]
    shown = "sipyco_rpctool " + " ".join(a if " " not in a else repr(a) for a in args)
    print(f"   $ {shown}")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"sipyco_rpctool failed: {out.stderr.strip()}")
    for line in out.stdout.rstrip("\n").splitlines():
        print(f"     {line}")
    return out.stdout


def wait_for_controller(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            Client(HOST, port, timeout=5).close_rpc()
            return
        except ConnectionRefusedError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the controller did not start") from None
            time.sleep(0.05)


async def live_status_during_ramp(port: int) -> None:
    changes = []

    def on_mod(mod):
        if mod["action"] == "setitem":
            changes.append(mod)
            path = "/".join(str(p) for p in mod["path"])
            print(f"   [subscriber] {path}/{mod['key']} = {mod['value']!r}")

    subscriber = Subscriber("psu_status", lambda init: init, notify_cb=on_mod)
    await subscriber.connect(HOST, port + 1)
    print(f"   [subscriber] initial state: {subscriber.target}")
    client = AsyncioClient()
    await client.connect_rpc(HOST, port)
    try:
        final = await client.ramp(1, 5.0, 4)
        print(f"   ramp(1, 5.0, 4) returned {final}")
        await asyncio.sleep(0.2)
    finally:
        await client.close_rpc()
        await subscriber.close()
    assert subscriber.target["ch1"] == {"voltage": 5.0, "ramping": False}, subscriber.target
    assert len(changes) >= 5


async def main() -> int:
    logging.getLogger().setLevel(logging.INFO)
    shown = ShowForwarded()
    logging.getLogger().addHandler(shown)

    step("1. a log server, then the controller in its own process")
    log_server = LogServer()
    await log_server.start(HOST, 0)
    port = free_port_pair()
    proc = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "psu_controller.py"), "-p", str(port), "-v",
         "--log-server", f"{HOST}:{log_server.port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await asyncio.get_running_loop().run_in_executor(None, wait_for_controller, port, proc)
        print(f"   controller up: pc_rpc on port {port}, status on {port + 1}, "
              f"logs to port {log_server.port}")

        step("2. from the command line, with sipyco_rpctool")
        run = asyncio.get_running_loop().run_in_executor
        await run(None, rpctool, HOST, str(port), "list-targets")
        await run(None, rpctool, HOST, str(port), "list-methods")
        await run(None, rpctool, HOST, str(port), "call", "set_voltage", "0", "1.5")
        out = await run(None, rpctool, HOST, str(port), "call", "get_voltage", "0")
        assert out.strip() == "1.5", out

        step("3. from Python")
        with Client(HOST, port, timeout=10) as psu:
            psu.set_voltage(0, 3.3)
            print(f"   psu.get_voltage(0) -> {psu.get_voltage(0)}")
            wave = psu.read_waveform(0, 2000)
            print(f"   psu.read_waveform(0, 2000) -> {type(wave).__name__} "
                  f"{wave.dtype}{wave.shape}, mean {wave.mean():.3f} V")
            try:
                psu.set_voltage(0, 99)
            except ValueError as exc:
                print(f"   psu.set_voltage(0, 99) raised ValueError remotely: {exc}")

        step("4. live status: a sync_struct Subscriber watching a ramp")
        await live_status_during_ramp(port)

        step("5. the controller's log records, as the log server received them")
        await asyncio.sleep(0.3)
        assert any("ramp ch1" in r.getMessage() for r in shown.seen), "no ramp logs arrived"
        print(f"   {len(shown.seen)} records arrived (each printed above as it came)")

        step("6. shutting down")
        with Client(HOST, port, timeout=10) as psu:
            psu.terminate()
        code = await run(None, proc.wait, 30)
        print(f"   controller exited with code {code}")
        assert code == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        await log_server.stop()
    print("\nAll done: every step worked.")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
