"""Helpers for the sipyco_rpctool tests: controller subprocesses, running the
tool, and driving its interactive mode through a pseudo-terminal."""

from __future__ import annotations

import errno
import fcntl
import os
import pathlib
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest

HERE = pathlib.Path(__file__).resolve().parent.parent / "rpctool"  # the controller script
TOOL = [sys.executable, "-m", "sipyco.sipyco_rpctool"]
LIMIT = 20.0  # seconds to wait for anything a test expects; generous on purpose

# what PowerSupply.status() in rpctool_controller.py returns
STATUS = {f"channel_{i}": {"voltage": 1.5 * i, "current": 0.25 * i,
                           "enabled": i % 2 == 0, "label": f"output number {i}"}
          for i in range(6)}


class Controller:
    """rpctool_controller.py in a subprocess; ``port`` is where it listens."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen([sys.executable, str(HERE / "rpctool_controller.py"),
                                      *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, cwd=HERE)
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        line = self.proc.stdout.readline() if ready else ""
        if not line.strip().isdigit():
            self.stop()
            _, err = self.proc.communicate()
            pytest.fail(f"the controller did not start: {line!r} {err}")
        self.port = int(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            if f is not None and not f.closed:
                f.close()


def run_tool(*args: str, command=None, stdin_text: str | None = None, env=None,
             ) -> subprocess.CompletedProcess:
    """Run sipyco_rpctool (``python -m`` unless ``command`` is given)."""
    return subprocess.run([*(command or TOOL), *map(str, args)], capture_output=True,
                          text=True, timeout=120, cwd=HERE,
                          input=stdin_text if stdin_text is not None else "",
                          env=env)


def run_tool_against_banner(banner: bytes, *options: str
                            ) -> tuple[subprocess.CompletedProcess, int]:
    """``sipyco_rpctool [options] 127.0.0.1 PORT list-targets`` against a
    listener that greets with ``banner`` (another protocol's first line) and
    then reads; the tool's result, and the port."""
    import socket
    import threading

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]

        def answer():
            conn, _ = listener.accept()
            with conn:
                conn.sendall(banner)
                conn.recv(100)

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        result = run_tool(*options, "127.0.0.1", port, "list-targets")
        thread.join(30)
    return result, port


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str,
                          code: int = 1) -> str:
    """The run failed with ``code`` and one ``sipyco_rpctool: error:`` line
    containing every fragment; nothing on stdout.  Returns that line."""
    err = result.stderr
    assert result.returncode == code, (result.returncode, result.stdout, err)
    assert "Traceback" not in err, err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("sipyco_rpctool: error: "), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert result.stdout == "", result.stdout
    return err.rstrip("\n")


# Terminal control sequences readline writes (bracketed paste, keypad mode,
# cursor movement) and bells: dropped before looking for text.
_CONTROL = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[=>]|\x1b\][^\x07]*\x07|\x07")


class PtySession:
    """sipyco_rpctool with a pseudo-terminal as its controlling terminal.

    ``expect(text)`` waits until ``text`` appears in the output after what
    the previous ``expect`` matched, and fails the test (never hangs) if it
    does not within LIMIT seconds or the tool exits first.
    """

    def __init__(self, args, env_extra: dict[str, str]):
        env = dict(os.environ)
        env.update({"TERM": "xterm-256color", "INPUTRC": os.devnull, "PYTHONUNBUFFERED": "1"})
        env.update(env_extra)
        argv = [*TOOL, *map(str, args)]
        pid, fd = pty.fork()
        if pid == 0:  # the child: exec at once, whatever happens
            try:
                os.chdir(HERE)
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid = pid
        self.fd = fd
        # a wide terminal, so that readline never wraps or scrolls a line
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        self.raw = bytearray()
        self.pos = 0
        self.eof = False
        self.status: int | None = None

    def text(self) -> str:
        clean = _CONTROL.sub(b"", bytes(self.raw)).replace(b"\r\n", b"\n")
        return clean.replace(b"\r", b"").decode("utf-8", "replace")

    def _read(self, timeout: float) -> None:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return
        try:
            data = os.read(self.fd, 65536)
        except OSError as exc:  # Linux: EIO once the child has closed the terminal
            if exc.errno != errno.EIO:
                raise
            data = b""
        if data:
            self.raw += data
        else:
            self.eof = True

    def expect(self, wanted: str, limit: float = LIMIT, *, fail: bool = True) -> str | None:
        """Text from the last match up to and including ``wanted``; if it
        does not come, fail the test (or return None if not ``fail``)."""
        deadline = time.monotonic() + limit
        while True:
            text = self.text()
            i = text.find(wanted, self.pos)
            if i >= 0:
                seen = text[self.pos:i + len(wanted)]
                self.pos = i + len(wanted)
                return seen
            remaining = deadline - time.monotonic()
            if self.eof or remaining <= 0:
                if not fail:
                    return None
                why = "the tool exited" if self.eof else f"nothing after {limit} s"
                pytest.fail(f"{wanted!r} did not appear ({why}); output since the last "
                            f"match:\n{text[self.pos:]!r}")
            self._read(min(remaining, 0.5))

    def interrupt(self, prompt: str) -> str:
        """Ctrl-C at the prompt; the text up to the fresh ``prompt``.

        CPython's readline loop only notices SIGINT when it interrupts its
        select(); a signal that lands while readline is still handling the
        previous keystroke waits for the next one.  So let the echo settle
        first, and press Ctrl-C again should the prompt not come back (two
        SIGINTs before Python looks make one KeyboardInterrupt).
        """
        time.sleep(0.1)
        for _ in range(int(LIMIT // 4)):
            self.send("\x03")
            seen = self.expect("\n" + prompt, 4, fail=False)
            if seen is not None:
                return seen
        return self.expect("\n" + prompt)

    def send(self, data: str | bytes) -> None:
        os.write(self.fd, data.encode() if isinstance(data, str) else data)

    def wait_exit(self, limit: float = LIMIT) -> int:
        """Read to the end of the output; the exit status."""
        deadline = time.monotonic() + limit
        while not self.eof and time.monotonic() < deadline:
            self._read(0.5)
        while self.status is None and time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
            else:
                time.sleep(0.05)
        if self.status is None:
            pytest.fail(f"the tool did not exit; output:\n{self.text()[self.pos:]!r}")
        return self.status

    def close(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.status = -signal.SIGKILL
        try:
            os.close(self.fd)
        except OSError:
            pass
