"""The sipyco meta-package: everything importable, upstream's module aliases,
and a working sipyco_rpctool from wheels installed in a bare venv."""

from __future__ import annotations

import importlib
import subprocess

import pytest

MODULES = ["pyon", "pc_rpc", "fire_and_forget", "sync_struct", "logging_tools", "remote_exec",
           "asyncio_tools", "common_args", "errors", "arguments", "sipyco_rpctool", "tools",
           "logs"]


@pytest.mark.parametrize("name", MODULES)
def test_every_module_imports(name):
    module = importlib.import_module(f"sipyco.{name}")
    for public in getattr(module, "__all__", []):
        assert hasattr(module, public), f"sipyco.{name}.__all__ names missing {public}"


def test_upstream_110_aliases_are_the_same_objects():
    from sipyco import asyncio_tools, logging_tools, logs, tools
    for name in tools.__all__:
        assert getattr(tools, name) is getattr(asyncio_tools, name)
    for name in logs.__all__:
        assert getattr(logs, name) is getattr(logging_tools, name)
    assert {"AsyncioServer", "TaskObject", "SignalHandler",
            "atexit_register_coroutine"} <= set(tools.__all__)
    assert {"LogForwarder", "Server", "MultilineFormatter", "SourceFilter"} <= set(logs.__all__)


def test_pip_install_sipyco_from_wheels_gives_everything(wheel_venv, tmp_path):
    env, py, installed = wheel_venv("sipyco")
    assert installed == sorted(["sipyco", "sipyco-logging", "sipyco-pyon", "sipyco-rexec",
                                "sipyco-rpc", "sipyco-sync"])
    probe = "; ".join(f"import sipyco.{m}" for m in MODULES) + "; print('all imported')"
    out = subprocess.run([str(py), "-I", "-c", probe], capture_output=True, text=True,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "all imported"
    tool = subprocess.run([str(env / "bin" / "sipyco_rpctool"), "--help"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert tool.returncode == 0, tool.stderr
    assert "list-methods" in tool.stdout
