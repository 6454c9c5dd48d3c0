"""The README's two commands (``python3 tools/bootstrap.py demo`` and
``... test``) on a Python whose pip refuses to install anything outside a
venv, as on Debian 12, Ubuntu 23.04+ and Nix (PEP 668).

Where the machine has a real externally managed interpreter (one with an
EXTERNALLY-MANAGED file in its stdlib directory), that one is used;
otherwise the base interpreter of the test venv.  Either way pip also runs
with PIP_REQUIRE_VIRTUALENV=1, which makes any pip outside a venv refuse, so
the bootstrap passes only if every install it makes goes into its own venv."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent

_PROBE = ("import ensurepip, os, sys, sysconfig, venv\n"
          "marker = os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED')\n"
          "print(sys.prefix == sys.base_prefix, sys.version_info >= (3, 10),"
          " os.path.isfile(marker))")


def _probe(python: str, env: dict[str, str]) -> tuple[bool, bool, bool] | None:
    """(outside any venv, Python 3.10+, externally managed), or None where
    that interpreter cannot run or lacks venv/ensurepip."""
    try:
        out = subprocess.run([python, "-I", "-c", _PROBE], capture_output=True, text=True,
                             timeout=60, env=env)
    except OSError:
        return None
    if out.returncode != 0:
        return None
    words = out.stdout.split()
    return tuple(w == "True" for w in words) if len(words) == 3 else None


def _system_python(env: dict[str, str]) -> tuple[str, bool]:
    """An interpreter outside any venv, and whether it is externally managed."""
    candidates = ["/usr/bin/python3", getattr(sys, "_base_executable", sys.executable),
                  sys.executable]
    usable = [(c, p) for c in candidates if os.path.isfile(c) and (p := _probe(c, env))
              and p[0] and p[1]]
    if not usable:
        pytest.fail(f"no Python 3.10+ outside a venv among {candidates}")
    for python, (_, _, managed) in usable:
        if managed:
            return python, True
    return usable[0][0], False


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^```\w*\n(.*?)^```", text, re.S | re.M)
    assert block, "the README has no code block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_first_block_is_two_bootstrap_commands_and_ci_runs_the_second():
    commands = _readme_commands()
    assert commands == ["python3 tools/bootstrap.py demo", "python3 tools/bootstrap.py test"]
    ci = (ROOT / ".ci" / "run").read_text()
    steps = [line.strip() for line in ci.splitlines()
             if line.strip() and not line.lstrip().startswith("#")
             and not line.startswith(("set ", "cd "))]
    assert steps == [commands[1]], steps


@pytest.mark.parametrize("argv", [[], ["build"], ["hatch"]])
def test_bootstrap_refuses_unknown_commands_without_making_a_venv(argv, tmp_path):
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "bootstrap.py").write_bytes((ROOT / "tools" / "bootstrap.py").read_bytes())
    out = subprocess.run([sys.executable, str(tools / "bootstrap.py"), *argv],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.startswith("usage: python3 tools/bootstrap.py demo | test")
    assert not (tmp_path / ".venv-bootstrap").exists()


@pytest.mark.timeout(900)
def test_readme_commands_on_an_externally_managed_python(repo_copy, user_env, tmp_path):
    env = user_env(PIP_REQUIRE_VIRTUALENV="1",
                           # hatch's environments go in here, not in the user's data
                           HATCH_DATA_DIR=str(tmp_path / "hatch-data"))
    env.pop("PIP_BREAK_SYSTEM_PACKAGES", None)
    python, _ = _system_python(env)

    # The interpreter really refuses: pip stops before looking at the
    # (missing) project, so nothing can be installed by this check.
    refused = subprocess.run([python, "-m", "pip", "install", str(tmp_path / "no-such-project")],
                             env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0
    assert re.search(r"externally-managed-environment|Could not find an activated virtualenv"
                     r"|No module named pip", refused.stderr), refused.stderr

    bootstrap = ["tools/bootstrap.py"]
    demo = subprocess.run([python, *bootstrap, "demo"], cwd=repo_copy, env=env,
                          capture_output=True, text=True, timeout=800)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "bootstrap: making" in demo.stderr
    assert "All done: every step worked." in demo.stdout
    assert (repo_copy / ".venv-bootstrap" / "bootstrap-installed.txt").is_file()

    # The second command, run on one small test file (the whole suite is
    # what is running this test): the venv made above is reused.
    test = subprocess.run([python, *bootstrap, "test", "tests/pyon/test_v2_text.py"],
                          cwd=repo_copy, env=env, capture_output=True, text=True, timeout=800)
    assert test.returncode == 0, test.stdout[-3000:] + test.stderr[-3000:]
    assert "bootstrap: making" not in test.stderr
    assert re.search(r"^=+ \d+ passed", test.stdout, re.M), test.stdout[-2000:]


def test_a_broken_bootstrap_venv_is_made_again(user_env, tmp_path):
    """A venv left without the stamp (an interrupted first run) is not
    trusted: the next run makes it again.  Checked without network access
    to hatch: pip may only look in an empty folder, so the install must
    fail, after the old venv was cleared."""
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "bootstrap.py").write_bytes((ROOT / "tools" / "bootstrap.py").read_bytes())
    (tmp_path / ".venv-bootstrap").mkdir()
    (tmp_path / ".venv-bootstrap" / "leftover").write_text("")
    (tmp_path / "empty").mkdir()
    env = user_env(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(tmp_path / "empty"))
    python, _ = _system_python(env)
    out = subprocess.run([python, str(tools / "bootstrap.py"), "demo"], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 1, out.stderr
    assert "bootstrap: making" in out.stderr
    assert "installing hatch>=1.16 failed" in out.stderr
    assert not (tmp_path / ".venv-bootstrap" / "leftover").exists()
    assert not (tmp_path / ".venv-bootstrap" / "bootstrap-installed.txt").exists()
