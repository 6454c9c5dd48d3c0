"""The sipyco-pyon and sipyco-logging wheels are all a program needs for
remote logging: installed alone in a fresh venv, logging_tools works (a
forwarder there reaches our server) and pc_rpc is not there."""

from __future__ import annotations

import asyncio
import pathlib

import pytest
from support.logging_records import check_log_sender_records

HERE = pathlib.Path(__file__).resolve().parent


@pytest.fixture
def logging_venv(wheel_venv):
    env = wheel_venv("sipyco-logging")
    assert env.sipyco_dists == ["sipyco-logging", "sipyco-pyon"]
    return env.python


@pytest.mark.asyncio
async def test_logging_wheels_alone_in_a_new_venv(logging_venv, tmp_path, log_server, captured):
    probe = await asyncio.create_subprocess_exec(
        str(logging_venv), "-I", "-c",
        "import importlib.util as u\n"
        "import sipyco.logging_tools\n"
        "for m in ['sipyco.logging_tools', 'sipyco.common_args', 'sipyco.pc_rpc',\n"
        "          'sipyco.sync_struct', 'sipyco.remote_exec']:\n"
        "    print(m, u.find_spec(m) is not None)\n",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=tmp_path)
    out, err = await asyncio.wait_for(probe.communicate(), 60)
    assert probe.returncode == 0, err
    assert out.decode().split("\n") == [
        "sipyco.logging_tools True", "sipyco.common_args True", "sipyco.pc_rpc False",
        "sipyco.sync_struct False", "sipyco.remote_exec False", ""]

    sender = await asyncio.create_subprocess_exec(
        str(logging_venv), "-I", str(HERE / "log_sender.py"), str(log_server.port),
        "remote-src", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path)
    out, err = await asyncio.wait_for(sender.communicate(), 60)
    assert sender.returncode == 0, err
    assert out == b"sent\n"
    await check_log_sender_records(captured)
