"""The monorepo's own rules: namespace layout, one version, lint, and that a
distribution installed alone in a fresh venv works without its siblings."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ROOT / "packages"
DISTS = ["sipyco-pyon", "sipyco-rpc", "sipyco-sync", "sipyco-logging", "sipyco-rexec", "sipyco"]


def _project(dist: str) -> dict:
    with open(PACKAGES / dist / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def test_every_distribution_has_the_skeleton():
    assert sorted(p.name for p in PACKAGES.iterdir() if p.is_dir()) == sorted(DISTS)
    for dist in DISTS:
        base = PACKAGES / dist
        assert (base / "README.md").is_file(), dist
        assert (base / "src" / "sipyco" / "py.typed").is_file(), dist
        # PEP 420: the namespace must never get an __init__.py
        assert not (base / "src" / "sipyco" / "__init__.py").exists(), dist


def test_one_version_and_exact_sibling_pins():
    versions = {dist: _project(dist)["version"] for dist in DISTS}
    assert len(set(versions.values())) == 1, versions
    version = versions["sipyco"]
    for dist in DISTS:
        for req in _project(dist).get("dependencies", []):
            m = re.match(r"(sipyco(?:-[a-z]+)?)\s*(.*)", req)
            if m:
                assert m.group(1) in DISTS, req
                assert m.group(2) == f"=={version}", f"{dist}: {req} is not pinned to {version}"


def test_ruff_is_clean():
    ruff = shutil.which("ruff", path=os.path.dirname(sys.executable)) or shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed in the test environment (see hatch.toml)")
    result = subprocess.run([ruff, "check", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pyon_wheel_ships_a_namespace_not_a_package(wheelhouse):
    names = zipfile.ZipFile(wheelhouse["sipyco-pyon"]).namelist()
    assert "sipyco/pyon.py" in names
    assert "sipyco/py.typed" in names
    assert "sipyco/__init__.py" not in names
    assert not any(n.startswith("sipyco/pc_rpc") for n in names)


def test_sipyco_pyon_alone_in_a_new_venv(tmp_path, bare_venv):
    py = bare_venv
    subprocess.run([str(py), "-m", "pip", "--disable-pip-version-check", "--quiet", "install",
                    str(PACKAGES / "sipyco-pyon")], check=True)
    script = (
        "import importlib.util, numpy\n"
        "from sipyco import pyon\n"
        "x = {'a': (1, 2), 'b': numpy.arange(4), 3: {1.5}}\n"
        "y = pyon.decode(pyon.encode(x))\n"
        "assert y['a'] == (1, 2) and y[3] == {1.5} and (y['b'] == x['b']).all()\n"
        "assert importlib.util.find_spec('sipyco.pc_rpc') is None\n"
        "try:\n"
        "    import sipyco.pc_rpc\n"
        "except ModuleNotFoundError:\n"
        "    print('isolated ok')\n"
    )
    result = subprocess.run([str(py), "-I", "-c", script], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "isolated ok"
