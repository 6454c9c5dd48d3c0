"""simple_server_loop in a real subprocess: started like a controller and
stopped by SIGINT, SIGTERM or a client's terminate()."""

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


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_controller(python=sys.executable, port=None, extra=()):
    port = port or _free_port()
    proc = subprocess.Popen([str(python), str(HERE / "controller.py"), "-p", str(port),
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=HERE)
    deadline = time.monotonic() + 60
    while True:
        try:
            client = Client("127.0.0.1", port, timeout=10)
            return proc, port, client
        except ConnectionRefusedError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                out, err = proc.communicate()
                pytest.fail(f"controller did not start: {err}")
            time.sleep(0.05)


def _finish(proc):
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"controller did not exit: {err}")
    return proc.returncode, out, err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_the_loop(sig):
    proc, port, c = start_controller()
    with c:
        assert c.read(1) == 21.0
    proc.send_signal(sig)
    code, out, err = _finish(proc)
    assert code == 0, err
    assert "controller stopped" in out


def test_client_terminate_stops_the_loop():
    proc, port, c = start_controller(extra=["-v"])
    with c:
        c.calibrate(0.5)
        assert c.read(0) == 20.5
        assert c.terminate() is None
    code, out, err = _finish(proc)
    assert code == 0, err
    assert "controller stopped" in out
    assert "INFO:controller:calibrating by 0.5" in err  # -v and the shared log format


def test_localhost_only_by_default():
    proc, port, c = start_controller()
    try:
        with c:
            assert c.get_rpc_id() == (["thermometer"], "pretend thermometer")
        addrs = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
        outside = [a for a in addrs if not a.startswith("127.") and a != "::1"]
        for addr in outside:
            with pytest.raises(OSError):
                socket.create_connection((addr, port), 2).close()
    finally:
        proc.send_signal(signal.SIGTERM)
        _finish(proc)


def test_controller_wheels_alone_in_a_new_venv(wheel_venv, tmp_path):
    """pip install of the built sipyco-pyon and sipyco-rpc wheels is all a
    controller needs; sync_struct is not there."""
    _, py, installed = wheel_venv("sipyco-rpc")
    assert installed == ["sipyco-pyon", "sipyco-rpc"]
    probe = subprocess.run([str(py), "-I", "-c",
                            "import importlib.util as u;"
                            "print(u.find_spec('sipyco.pc_rpc') is not None,"
                            " u.find_spec('sipyco.sync_struct') is None)"],
                           capture_output=True, text=True, cwd=tmp_path, check=True)
    assert probe.stdout.split() == ["True", "True"]
    proc, port, c = start_controller(python=py)
    with c:
        assert c.read(2) == 22.0
        c.terminate()
    code, out, err = _finish(proc)
    assert code == 0, err
