"""Controllers in subprocesses: a server script started with ``python``,
waited for until it accepts a pc_rpc client, and stopped or waited for at
the end with its output kept."""

from __future__ import annotations

import pathlib
import signal
import subprocess
import sys

import pytest

from sipyco.pc_rpc import AutoTarget, Client
from support.net import wait_until

__all__ = ["ControllerProcess"]


class ControllerProcess:
    """``python [python_args] script [args]``, run in the script's folder; the
    server it starts must listen on 127.0.0.1:``port`` (``args`` tell it so)."""

    def __init__(self, script: pathlib.Path, args=(), *, port: int,
                 python=sys.executable, python_args=()):
        self.port = port
        self.script = script.name
        self.proc = subprocess.Popen(
            [str(python), *map(str, python_args), str(script), *map(str, args)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=script.parent)
        self.result: tuple[int, str, str] | None = None

    def wait_listening(self, target=AutoTarget, timeout: float = 30) -> Client:
        """A Client of ``target``, once the server accepts one; fails if the
        process dies first or a minute passes."""
        client = None

        def connected() -> bool:
            nonlocal client
            if self.proc.poll() is not None:
                return True
            try:
                client = Client("127.0.0.1", self.port, target, timeout=timeout)
            except ConnectionRefusedError:
                return False
            return True

        try:
            # a minute: a fresh interpreter in a new venv can be slow to start
            wait_until(connected, limit=60, what=f"{self.script} accepting clients")
        except AssertionError:
            client = None
        if client is None:
            self.proc.kill()
            _, err = self.proc.communicate()
            pytest.fail(f"{self.script} did not start: {err}")
        return client

    def finish(self, timeout: float = 30) -> tuple[int, str, str]:
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
        """SIGTERM (unless it has already exited), then :meth:`finish`."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.finish()
