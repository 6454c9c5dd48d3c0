"""Each distribution installed alone, from the built wheels, in a new venv:
every module it is meant to give imports (without any warning, under
``-W error``), and the modules of its siblings are absent.

This is what lets a controller written for upstream 1.8 or 1.10 run with
only ``sipyco-rpc`` installed, whichever module names it uses."""

from __future__ import annotations

import pathlib
import subprocess
import textwrap

import pytest

CONTROLLER = pathlib.Path(__file__).resolve().parent / "rpc" / "generic_controller.py"

#: distribution -> (SiPyCo distributions pip installs with it,
#:                  modules that must import, modules that must be missing)
SPLITS = {
    "sipyco-rpc": (
        ["sipyco-pyon", "sipyco-rpc"],
        ["sipyco.pc_rpc", "sipyco.fire_and_forget", "sipyco.test.generic_rpc",
         "sipyco.tools", "sipyco.asyncio_tools", "sipyco.keepalive",
         "sipyco.packed_exceptions", "sipyco.arguments", "sipyco.common_args",
         "sipyco.errors", "sipyco.pyon", "sipyco.pyon_v1", "sipyco.pipe_ipc"],
        ["sipyco.broadcast", "sipyco.sync_struct", "sipyco.logs", "sipyco.logging_tools",
         "sipyco.remote_exec", "sipyco.sipyco_rpctool"],
    ),
    "sipyco-logging": (
        ["sipyco-logging", "sipyco-pyon"],
        ["sipyco.logs", "sipyco.logging_tools", "sipyco.tools", "sipyco.asyncio_tools"],
        ["sipyco.pc_rpc", "sipyco.broadcast", "sipyco.sync_struct", "sipyco.test.generic_rpc"],
    ),
    "sipyco-sync": (
        ["sipyco-pyon", "sipyco-sync"],
        ["sipyco.sync_struct", "sipyco.broadcast", "sipyco.tools", "sipyco.asyncio_tools"],
        ["sipyco.pc_rpc", "sipyco.logs", "sipyco.logging_tools"],
    ),
}

#: Run in the venv for one module name: imports it with every warning an
#: error, so a DeprecationWarning (or any other) fails the import.
_IMPORT = ("import importlib, sys\n"
           "name = sys.argv[1]\n"
           "try:\n"
           "    importlib.import_module(name)\n"
           "except ModuleNotFoundError as exc:\n"
           "    print('missing', exc.name)\n"
           "else:\n"
           "    print('imported', name)\n")


def _import(python, name: str, cwd) -> str:
    out = subprocess.run([str(python), "-W", "error", "-I", "-c", _IMPORT, name],
                         capture_output=True, text=True, cwd=cwd, timeout=120)
    assert out.returncode == 0, f"import {name}:\n{out.stderr}"
    assert out.stderr == "", f"import {name} wrote to stderr:\n{out.stderr}"
    return out.stdout.strip()


@pytest.mark.parametrize("dist", sorted(SPLITS))
def test_distribution_alone(dist, wheel_venv, tmp_path):
    installed, present, absent = SPLITS[dist]
    venv = wheel_venv(dist)
    assert venv.sipyco_dists == installed
    for name in present:
        assert _import(venv.python, name, tmp_path) == f"imported {name}"
    for name in absent:
        # ModuleNotFoundError for that very module or a package holding it,
        # not for something it needs
        result = _import(venv.python, name, tmp_path)
        assert result.startswith("missing "), result
        missing = result.removeprefix("missing ")
        assert name == missing or name.startswith(missing + "."), result
    if dist == "sipyco-rpc":
        _controller_test_suite(venv.python, tmp_path)


def _controller_test_suite(python, folder: pathlib.Path) -> None:
    """A controller package's test suite, as ARTIQ's are written, run with
    ``-W error`` where only sipyco-rpc is installed."""
    (folder / "test_controller.py").write_text(textwrap.dedent(f"""
        import shlex, socket, sys
        from sipyco.test.generic_rpc import GenericRPCCase

        class TestAdder(GenericRPCCase):
            def test_add(self):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", 0))
                    port = s.getsockname()[1]
                cmd = shlex.join([sys.executable, {str(CONTROLLER)!r}, "--port", str(port)])
                adder = self.start_server("adder", cmd, port, sleep=0.1)
                self.assertEqual(adder.add(40, 2), 42)
                self.stop_server("adder")
    """))
    out = subprocess.run([str(python), "-W", "error", "-m", "unittest", "-v", "test_controller"],
                         capture_output=True, text=True, cwd=folder, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Ran 1 test" in out.stderr and "OK" in out.stderr
