"""The monorepo's own rules: namespace layout, one version, lint, and that a
distribution installed alone in a fresh venv works without its siblings."""

from __future__ import annotations

import ast
import importlib.util
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


# ---- the tests' own helpers -------------------------------------------------------

TESTS = ROOT / "tests"
#: Ports and bounded waits exist once, in tests/support/net.py.
SHARED_HELPERS = {"free_port", "_free_port", "within", "eventually", "wait_until"}
#: Scripts the tests start as ``python SCRIPT`` and never import: their own
#: folder is on sys.path there, so a neighbour of theirs would be found.
SUBPROCESS_SCRIPTS = {"rpc/controller.py", "sync/sync_peer.py", "logging/log_sender.py",
                      "rexec/echo_server.py", "rexec/rexec_controller.py", "logging/log_worker.py",
                      "rpctool/rpctool_controller.py", "rpc/generic_controller.py"}


def _test_sources(*skipped_folders: str):
    """(path relative to tests/, parsed module) of every .py file under
    tests/, but those in ``skipped_folders`` (top-level folders of tests/)."""
    for path in sorted(TESTS.rglob("*.py")):
        rel = path.relative_to(TESTS)
        if rel.parts[0] not in skipped_folders:
            yield rel, ast.parse(path.read_text(encoding="utf-8"), str(path))


def test_ports_and_waits_are_defined_only_in_support():
    defined = [f"tests/{rel}:{node.lineno}: {node.name}"
               for rel, tree in _test_sources("support")
               for node in tree.body
               if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
               and node.name in SHARED_HELPERS]
    assert defined == [], "import these from support.net instead: " + ", ".join(defined)


def _inside_tests(spec) -> bool:
    places = [spec.origin] if spec.origin else []
    places += list(spec.submodule_search_locations or [])
    return any(pathlib.Path(p).resolve().is_relative_to(TESTS) for p in places)


def test_test_modules_import_no_neighbours_by_bare_name():
    """Helpers come from the package ``support`` (tests/ is on the import path,
    see pytest.ini), never from a module next to the test that only pytest's
    rootdir insertion makes importable.  Every other import is sipyco, the
    standard library or an installed distribution."""
    wrong = []
    for rel, tree in _test_sources("support"):
        if rel.as_posix() in SUBPROCESS_SCRIPTS:
            continue
        folder = TESTS / rel.parent
        neighbours = {p.stem for p in folder.glob("*.py")}
        neighbours |= {p.parent.name for p in folder.glob("*/__init__.py")}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found = [(alias.name, 0) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                found = [(node.module or "", node.level)]
            else:
                continue
            for module, level in found:
                name = module.partition(".")[0]
                where = f"tests/{rel}:{node.lineno}: {'.' * level}{module}"
                if level:
                    wrong.append(f"{where} (a relative import)")
                elif name == "support" or name in sys.stdlib_module_names:
                    continue
                elif name in neighbours:
                    wrong.append(f"{where} (a module next to it)")
                else:
                    spec = importlib.util.find_spec(name)
                    if spec is None:
                        wrong.append(f"{where} (not found)")
                    elif _inside_tests(spec):
                        wrong.append(f"{where} (found in a test folder)")
    assert wrong == [], "\n".join(wrong)
