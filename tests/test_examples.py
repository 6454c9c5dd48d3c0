"""The programs in examples/ run as a user would run them (subprocesses,
real sockets and pipes)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

from support.net import free_port

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def test_miniature_master_worker_and_client():
    """An ARTIQ-shaped master (RPC scheduler, worker process over pipe_ipc,
    sync_struct datasets, broadcast log) and a client using all three."""
    folder = EXAMPLES / "mini_master"
    ports = [str(free_port()) for _ in range(3)]
    master = subprocess.Popen([sys.executable, str(folder / "master.py"), *ports],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert master.stdout.readline().strip() == "ready"
        client = subprocess.run([sys.executable, str(folder / "client.py"), *ports, "7"],
                                capture_output=True, text=True, timeout=120)
        assert client.returncode == 0, client.stderr
        assert client.stdout.splitlines() == [
            "run 0: done, 7 points, last 1.000",
            "log 0: run 0: scanning 7 points",
            "log 0: run 0: finished",
        ]
        out, err = master.communicate(timeout=60)  # terminate() ends it
        assert master.returncode == 0, err
    finally:
        if master.poll() is None:
            master.kill()
            master.communicate()
