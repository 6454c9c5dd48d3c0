"""The sipyco meta-package: everything importable, upstream's module aliases,
and a working sipyco_rpctool from wheels installed in a bare venv."""

from __future__ import annotations

import importlib
import subprocess

import pytest

MODULES = ["pyon", "pyon_v1", "pc_rpc", "fire_and_forget", "sync_struct", "broadcast",
           "logging_tools", "logs", "remote_exec", "asyncio_tools", "tools", "common_args",
           "errors", "arguments", "keepalive", "packed_exceptions", "pipe_ipc",
           "test.generic_rpc", "sipyco_rpctool"]


@pytest.mark.parametrize("name", MODULES)
def test_every_module_imports(name):
    module = importlib.import_module(f"sipyco.{name}")
    for public in getattr(module, "__all__", []):
        assert hasattr(module, public), f"sipyco.{name}.__all__ names missing {public}"


def test_upstream_110_aliases_are_the_same_objects():
    from sipyco import asyncio_tools, logging_tools, logs, tools
    assert tools.__all__ == asyncio_tools.__all__
    assert logs.__all__ == logging_tools.__all__
    for name in tools.__all__:
        assert getattr(tools, name) is getattr(asyncio_tools, name)
    for name in logs.__all__:
        assert getattr(logs, name) is getattr(logging_tools, name)
    assert {"AsyncioServer", "TaskObject", "SignalHandler", "atexit_register_coroutine",
            "Condition", "BackgroundTaskPool", "SimpleSSLConfig"} <= set(tools.__all__)
    assert {"LogForwarder", "Server", "MultilineFormatter", "SourceFilter"} <= set(logs.__all__)


def test_each_alias_ships_beside_what_it_names():
    """1.10's names live in the distribution of the module they name, not in
    the meta-package, so either name works with only that distribution."""
    import pathlib
    packages = pathlib.Path(__file__).resolve().parent.parent / "packages"
    for dist, modules in {"sipyco-pyon": ["asyncio_tools", "tools"],
                          "sipyco-logging": ["logging_tools", "logs"]}.items():
        for module in modules:
            assert (packages / dist / "src" / "sipyco" / f"{module}.py").is_file()
    assert not (packages / "sipyco" / "src" / "sipyco" / "tools.py").exists()
    assert not (packages / "sipyco" / "src" / "sipyco" / "logs.py").exists()


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
