"""simple_server_loop in a real subprocess: started like a controller and
stopped by SIGINT, SIGTERM or a client's terminate()."""

from __future__ import annotations

import pathlib
import signal
import socket
import subprocess
import sys

import pytest
from support.controllers import ControllerProcess
from support.net import free_port

HERE = pathlib.Path(__file__).resolve().parent


def start_controller(python=sys.executable, extra=()):
    """controller.py on a free port -> (its ControllerProcess, a Client of it)."""
    port = free_port()
    ctl = ControllerProcess(HERE / "controller.py", ["-p", port, *extra], port=port,
                            python=python)
    return ctl, ctl.wait_listening(timeout=10)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_the_loop(sig):
    ctl, c = start_controller()
    with c:
        assert c.read(1) == 21.0
    ctl.proc.send_signal(sig)
    code, out, err = ctl.finish()
    assert code == 0, err
    assert "controller stopped" in out


def test_client_terminate_stops_the_loop():
    ctl, c = start_controller(extra=["-v"])
    with c:
        c.calibrate(0.5)
        assert c.read(0) == 20.5
        assert c.terminate() is None
    code, out, err = ctl.finish()
    assert code == 0, err
    assert "controller stopped" in out
    assert "INFO:controller:calibrating by 0.5" in err  # -v and the shared log format


def test_localhost_only_by_default():
    ctl, c = start_controller()
    try:
        with c:
            assert c.get_rpc_id() == (["thermometer"], "pretend thermometer")
        addrs = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
        outside = [a for a in addrs if not a.startswith("127.") and a != "::1"]
        for addr in outside:
            with pytest.raises(OSError):
                socket.create_connection((addr, ctl.port), 2).close()
    finally:
        ctl.stop()


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
    ctl, c = start_controller(python=py)
    with c:
        assert c.read(2) == 22.0
        c.terminate()
    code, out, err = ctl.finish()
    assert code == 0, err
