"""``sipyco_rpctool --ssl CERT KEY PEER`` (before the action) against a
pc_rpc server serving mutual TLS."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sipyco._rpctool_repl import Session
from sipyco.pc_rpc import Server
from sipyco.sipyco_rpctool import _reconnect_with_tls, connect

TOOL = [sys.executable, "-m", "sipyco.sipyco_rpctool"]


class Lamp:
    """A lamp."""

    def __init__(self):
        self.watts = 0

    def set_power(self, watts: float) -> None:
        """Set the power."""
        self.watts = watts

    def power(self) -> float:
        return self.watts


@pytest.fixture
def lamp_server(background, certs):
    return background.serve(Server({"lamp": Lamp()}), certs.server)


def tool(certs, port, *args, who="client"):
    """Run the tool as ``who`` (None: without --ssl), trusting the server."""
    ssl = []
    if who is not None:
        ids = certs.ids[who]
        ssl = ["--ssl", str(ids.cert), str(ids.key), str(certs.ids["server"].cert)]
    return subprocess.run([*TOOL, *ssl, "--timeout", "20", "127.0.0.1", str(port), *args],
                          capture_output=True, text=True, timeout=60)


def test_the_tool_speaks_tls_with_ssl(lamp_server, certs):
    out = tool(certs, lamp_server.port, "list-targets")
    assert out.returncode == 0, out.stderr
    assert "lamp" in out.stdout
    out = tool(certs, lamp_server.port, "call", "set_power", "12.5")
    assert out.returncode == 0, out.stderr
    out = tool(certs, lamp_server.port, "call", "power")
    assert (out.returncode, out.stdout.strip()) == (0, "12.5"), out.stderr
    out = tool(certs, lamp_server.port, "list-methods")
    assert out.returncode == 0 and "set_power" in out.stdout, out.stderr


def test_interactive_mode_over_tls(lamp_server, certs, tmp_path):
    ids = certs.ids["friend"]
    out = subprocess.run([*TOOL, "--ssl", str(ids.cert), str(ids.key),
                          str(certs.ids["server"].cert), "--history", str(tmp_path / "h"),
                          "127.0.0.1", str(lamp_server.port), "interactive"],
                         capture_output=True, text=True, timeout=60,
                         input="set_power(3)\nprint('power is', power())\n",
                         env={"HOME": str(tmp_path), "PATH": ""})
    assert out.returncode == 0, out.stderr
    assert "power is 3" in out.stdout


@pytest.mark.parametrize("who, says", [
    (None, "requires TLS"),
    ("stranger", "does not accept this side's certificate"),
])
def test_wrong_credentials_fail_in_one_line(lamp_server, certs, who, says):
    out = tool(certs, lamp_server.port, "list-targets", who=who)
    assert out.returncode == 1
    [line] = out.stderr.splitlines()
    assert line.startswith("sipyco_rpctool: error: ") and says in line, line


def test_an_untrusted_server_fails_in_one_line(lamp_server, certs):
    ids = certs.ids["client"]
    out = subprocess.run([*TOOL, "--ssl", str(ids.cert), str(ids.key),
                          str(certs.ids["stranger"].cert), "127.0.0.1",
                          str(lamp_server.port), "call", "power"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    [line] = out.stderr.splitlines()
    assert "the server's certificate is not trusted" in line, line


def test_missing_certificate_files_fail_in_one_line(lamp_server, tmp_path):
    out = subprocess.run([*TOOL, "--ssl", str(tmp_path / "c"), str(tmp_path / "k"),
                          str(tmp_path / "p"), "127.0.0.1", str(lamp_server.port),
                          "list-targets"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    [line] = out.stderr.splitlines()
    assert line.startswith("sipyco_rpctool: error: ") and "No such file" in line, line


def test_the_prompt_reconnects_with_tls_after_a_failure(lamp_server, certs):
    """The interactive session drops its connection after a transport error
    and makes a new one at the next call: with --ssl, a TLS one."""
    client, target = connect("127.0.0.1", lamp_server.port, "lamp", 20, certs.client)
    session = Session("127.0.0.1", lamp_server.port, target, 20, client)
    _reconnect_with_tls(session, certs.client)
    try:
        session.call("set_power", (7,), {})
        session.drop()
        assert session.client is None
        assert session.call("power", (), {}) == 7  # a new TLS connection
    finally:
        session.drop()
