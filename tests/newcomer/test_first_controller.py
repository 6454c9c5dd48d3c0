"""A newcomer's first controller (issue 18, items 3, 4 and 7), run as a
subprocess the way a lab runs one: what it says when it starts, the
mistakes that end it in one line, a LogForwarder started before
``simple_server_loop``, and ``max_message_size`` passed through."""

from __future__ import annotations

import pathlib
import re
import socket
import subprocess
import sys

import pytest
from support.net import free_port, wait_until

from sipyco.pc_rpc import Client, RemoteError

HERE = pathlib.Path(__file__).parent
CONTROLLER = HERE / "first_controller.py"


def start(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(CONTROLLER), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def listening_port(proc: subprocess.Popen) -> int:
    """The port the controller says it listens on at 127.0.0.1 (read from
    its log lines as they come)."""
    while True:
        line = proc.stderr.readline()
        if not line:
            proc.wait()
            pytest.fail(f"the controller ended (status {proc.returncode}) "
                        "before saying where it listens")
        found = re.fullmatch(r"INFO:sipyco\.pc_rpc:listening on 127\.0\.0\.1 port (\d+)\n",
                             line)
        if found:
            return int(found.group(1))


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the controller did not exit: {err}")
    return proc.returncode, out, err


def test_a_controller_on_port_0_says_which_port_it_listens_on():
    proc = start("-p", "0", "-v")
    try:
        port = listening_port(proc)
        assert port != 0
        with Client("127.0.0.1", port) as lamp:
            lamp.set_power(3.5)
            assert lamp.get_power() == 3.5
            lamp.terminate()
    finally:
        code, _, err = finish(proc)
    assert code == 0, err


def test_at_vv_each_call_is_logged_with_its_arguments_cut_short():
    proc = start("-p", "0", "-vv")
    try:
        port = listening_port(proc)
        with Client("127.0.0.1", port) as lamp:
            lamp.echo("x" * 5000)
            lamp.terminate()
    finally:
        code, _, err = finish(proc)
    assert code == 0, err
    calls = [line for line in err.splitlines() if line.startswith("DEBUG:sipyco.pc_rpc:")
             and "echo" in line]
    assert calls, err
    assert len(calls[0]) < 1000  # the 5000-character argument is cut short


def test_without_v_the_controller_is_quiet():
    port = free_port()
    proc = start("-p", port)
    try:
        client = None

        def connected() -> bool:
            nonlocal client
            try:
                client = Client("127.0.0.1", port)
            except ConnectionRefusedError:
                return proc.poll() is not None
            return True
        wait_until(connected, what="the controller listening")
        assert client is not None, proc.communicate()
        with client as lamp:
            lamp.terminate()
    finally:
        code, _, err = finish(proc)
    assert code == 0
    assert err == ""


def test_a_port_in_use_ends_the_controller_in_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = finish(start("-p", port))
    assert code == 1
    assert err.strip() == (f"port {port} on 127.0.0.1 is in use: is another controller "
                           "running? choose one with -p")
    assert "Traceback" not in err


def test_an_address_this_host_lacks_ends_the_controller_in_one_line():
    code, _, err = finish(start("-p", free_port(), "--bind", "192.0.2.1",
                                "--no-localhost-bind"))
    assert code == 1
    assert err.strip().startswith("cannot listen on port ")
    assert "192.0.2.1" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_no_localhost_bind_without_bind_is_a_command_line_error():
    code, _, err = finish(start("--no-localhost-bind"))
    assert code == 2
    assert err.splitlines()[0].startswith("usage: ")
    assert err.splitlines()[-1].endswith(
        "error: --no-localhost-bind needs at least one --bind ADDRESS "
        "(else the server would listen nowhere)")


def test_max_message_size_passes_through_and_the_refusal_says_how_to_raise_it():
    proc = start("-p", "0", "-v", "--max-message-size", 10_000)
    try:
        port = listening_port(proc)
        with Client("127.0.0.1", port) as lamp:
            lamp.echo("y" * 5_000)  # within the limit
            with pytest.raises(RemoteError) as refused:
                lamp.echo("y" * 20_000)
            assert "exceeds the server's max_message_size=10000" in str(refused.value)
            assert "to allow it, give the server a larger max_message_size=" \
                in str(refused.value)
            assert lamp.echo("z") == "z"  # the connection goes on
            lamp.terminate()
    finally:
        finish(proc)


def test_a_log_forwarder_started_before_simple_server_loop_forwards():
    server = subprocess.Popen([sys.executable, str(HERE / "log_server.py")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = server.stdout.readline()
        assert first.startswith("port "), server.stderr.read()
        log_port = int(first.split()[1])
        proc = start("-p", "0", "-v", "--log-server-port", log_port)
        try:
            port = listening_port(proc)
            with Client("127.0.0.1", port) as lamp:
                lamp.set_power(7.0)
                received = []
                wait_until(lambda: received.append(server.stdout.readline())
                           or "power set to 7.0 W" in received[-1],
                           what="the record at the log server")
                lamp.terminate()
        finally:
            code, _, err = finish(proc)
        assert code == 0, err
        assert received[-1].strip() == "lamp_ctl:WARNING:lamp:power set to 7.0 W"
        assert "Task was destroyed" not in err
    finally:
        server.kill()
        server.communicate()


def test_a_certificate_file_that_cannot_be_read_is_named(tmp_path):
    missing = tmp_path / "server.pem"
    code = subprocess.run(
        [sys.executable, "-c",
         "from sipyco.pc_rpc import simple_server_loop\n"
         "from sipyco.tools import SimpleSSLConfig\n"
         f"simple_server_loop({{'x': object()}}, '127.0.0.1', 0, ssl_config=SimpleSSLConfig("
         f"{str(missing)!r}, {str(missing)!r}, {str(missing)!r}))\n"],
        capture_output=True, text=True, timeout=60)
    assert code.returncode == 1
    assert code.stderr.strip() == (f"cannot read {missing} (local_cert of ssl_config): "
                                   "No such file or directory")
