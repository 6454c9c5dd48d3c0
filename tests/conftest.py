"""Fixtures every test area shares: the six distributions built as wheels once
per session, and fresh venvs (with pip, which the uv-made test environment
lacks) holding only what a test installs into them."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import venv
from typing import NamedTuple

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ROOT / "packages"
DISTS = ["sipyco-pyon", "sipyco-rpc", "sipyco-sync", "sipyco-logging", "sipyco-rexec", "sipyco"]

_LIST_SIPYCO = ("import importlib.metadata as m\n"
                "print(' '.join(sorted(d.metadata['Name'] for d in m.distributions()\n"
                "                      if d.metadata['Name'].startswith('sipyco'))))")


def pip(python: pathlib.Path, *args: str) -> None:
    subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", "--quiet", *args],
                   check=True)


def make_venv(path: pathlib.Path) -> pathlib.Path:
    """A new venv with pip at ``path``; returns its python."""
    venv.create(path, with_pip=True)
    return path / ("Scripts" if sys.platform == "win32" else "bin") / "python"


class NewVenv(NamedTuple):
    root: pathlib.Path
    python: pathlib.Path
    sipyco_dists: list[str]  # the SiPyCo distributions pip installed there


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory) -> dict[str, pathlib.Path]:
    """Distribution name -> its wheel, all six built once for the session."""
    base = tmp_path_factory.mktemp("wheelhouse")
    builder = make_venv(base / "builder")
    wheels = base / "wheels"
    pip(builder, "wheel", "--no-deps", "-w", str(wheels), *(str(PACKAGES / d) for d in DISTS))
    built = {w.name.split("-")[0].replace("_", "-"): w for w in wheels.glob("*.whl")}
    assert sorted(built) == sorted(DISTS), built
    return built


@pytest.fixture
def bare_venv(tmp_path) -> pathlib.Path:
    """The python of a new venv holding nothing but pip."""
    return make_venv(tmp_path / "bare-venv")


@pytest.fixture
def wheel_venv(wheelhouse, tmp_path):
    """``wheel_venv(DIST, ...)``: a new venv where ``pip install DIST ...``
    found SiPyCo's distributions only among the built wheels (numpy and other
    third-party requirements come from the package index)."""
    links = next(iter(wheelhouse.values())).parent

    def make(*dists: str) -> NewVenv:
        root = tmp_path / "venv"
        python = make_venv(root)
        pip(python, "install", "--find-links", str(links), *dists)
        listed = subprocess.run([str(python), "-I", "-c", _LIST_SIPYCO], capture_output=True,
                                text=True, check=True, cwd=tmp_path)
        return NewVenv(root, python, listed.stdout.split())

    return make
