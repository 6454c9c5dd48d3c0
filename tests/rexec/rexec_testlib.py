"""Starting and stopping the subprocess servers of the remote_exec tests."""

from __future__ import annotations

import pathlib
import signal
import socket
import subprocess
import sys
import time

import pytest

from sipyco.pc_rpc import Client

HERE = pathlib.Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A server script running in a subprocess, on 127.0.0.1:``port``."""

    def __init__(self, script: str, python=sys.executable, args=()):
        self.port = free_port()
        self.proc = subprocess.Popen([str(python), *args, str(HERE / script), str(self.port)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, cwd=HERE)
        self.script = script
        self.result: tuple[int, str, str] | None = None

    def wait_listening(self, target) -> Client:
        """Poll until the server accepts a client of ``target``; fails if the
        process dies or a minute passes."""
        deadline = time.monotonic() + 60
        while True:
            try:
                return Client("127.0.0.1", self.port, target, timeout=30)
            except ConnectionRefusedError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.proc.kill()
                    out, err = self.proc.communicate()
                    pytest.fail(f"{self.script} did not start: {err}")
                time.sleep(0.05)

    def finish(self, timeout=30) -> tuple[int, str, str]:
        """Wait for the process to exit by itself; (code, stdout, stderr)."""
        if self.result is not None:
            return self.result
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            pytest.fail(f"{self.script} did not exit: {err}")
        self.result = self.proc.returncode, out, err
        return self.result

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.finish()
