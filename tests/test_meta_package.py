"""The sipyco meta-package: everything importable, upstream's module aliases,
and a working sipyco_rpctool from wheels installed in a bare venv."""

from __future__ import annotations

import importlib
import pathlib
import subprocess
import venv

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ROOT / "packages"
MODULES = ["pyon", "pc_rpc", "fire_and_forget", "sync_struct", "logging_tools", "remote_exec",
           "asyncio_tools", "common_args", "errors", "sipyco_rpctool", "tools", "logs"]


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


def test_pip_install_sipyco_from_wheels_gives_everything(tmp_path):
    builder = tmp_path / "builder"
    venv.create(builder, with_pip=True)
    pip = [str(builder / "bin" / "python"), "-m", "pip", "--disable-pip-version-check",
           "--quiet"]
    wheels = tmp_path / "wheels"
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels),
                    *[str(p) for p in sorted(PACKAGES.iterdir())]], check=True)
    assert len(list(wheels.glob("*.whl"))) == 6

    env = tmp_path / "env"
    venv.create(env, with_pip=True)
    py = env / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "--disable-pip-version-check", "--quiet", "install",
                    "--find-links", str(wheels), "sipyco"], check=True)
    probe = "; ".join(f"import sipyco.{m}" for m in MODULES) + "; print('all imported')"
    out = subprocess.run([str(py), "-I", "-c", probe], capture_output=True, text=True,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "all imported"
    tool = subprocess.run([str(env / "bin" / "sipyco_rpctool"), "--help"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert tool.returncode == 0, tool.stderr
    assert "list-methods" in tool.stdout
