"""The packaging tests' fixtures: one copy of the repository as the next
commit will hold it, and the environment of a user's shell for the
commands they run."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent

# What .gitignore leaves out, for the rare copy made without git.
_NOT_IN_A_CLONE = [".git", "__pycache__", "*.pyc", "dist", "build", ".venv*", ".hypothesis",
                   ".pytest_cache", ".ruff_cache", "*.egg-info"]


def _repository_files() -> list[str] | None:
    """Tracked files plus untracked ones git does not ignore, as paths
    relative to the root; None where git cannot tell (no git, no repo)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return [name for name in out.stdout.decode().split("\0") if name]


@pytest.fixture(scope="session")
def repo_copy(tmp_path_factory) -> pathlib.Path:
    """A copy of the repository with what a fresh clone of the next commit
    would hold.  A ``git clone`` would only see committed files, so changes
    not yet committed (new README lines above all) would go untested: the
    copy takes the files ``git ls-files`` lists, tracked or new, as they are
    in the working tree, and leaves out what git ignores (venvs, builds,
    caches)."""
    dest = tmp_path_factory.mktemp("clone") / "sipyco"
    names = _repository_files()
    if names is None:
        shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(*_NOT_IN_A_CLONE))
        return dest
    for name in names:
        source = ROOT / name
        if not source.is_file():  # deleted in the working tree, not yet in git
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    assert (dest / "README.md").is_file() and (dest / "packages").is_dir()
    return dest


def user_environment(**extra: str) -> dict[str, str]:
    """os.environ as a user's shell would have it: without the variables of
    the venv and hatch environment the tests run in, and without that venv
    on PATH.  pip's own settings (index, mirrors) are kept."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("HATCH_") and k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    own_bin = os.path.dirname(sys.executable)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and os.path.abspath(p) != os.path.abspath(own_bin))
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def user_env():
    """``user_env(NAME=value, ...)``: see user_environment."""
    return user_environment
