"""The documentation site builds without a single warning, and its API
reference covers every public module's ``__all__``.

The site is built once per module, as ``hatch run docs`` builds it (``-W``,
nitpicky), into a temporary directory; the checks read the warnings file,
the inventory Sphinx writes (``objects.inv``, what other projects'
intersphinx would link to) and the pages' sources."""

from __future__ import annotations

import argparse
import ast
import html
import importlib
import pathlib
import re
import subprocess
import sys

import pytest
from sphinx.util.inventory import InventoryFile

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
DOCS = ROOT / "docs"

#: The root README's "Install only what you need" line for each
#: distribution (each names every SiPyCo distribution it needs).
INSTALL_LINES = {
    "sipyco-pyon": "pip install ./packages/sipyco-pyon",
    "sipyco-rpc": "pip install ./packages/sipyco-pyon ./packages/sipyco-rpc",
    "sipyco-sync": "pip install ./packages/sipyco-pyon ./packages/sipyco-sync",
    "sipyco-logging": "pip install ./packages/sipyco-pyon ./packages/sipyco-logging",
    "sipyco-rexec": "pip install ./packages/sipyco-pyon ./packages/sipyco-rpc "
                    "./packages/sipyco-rexec",
    "sipyco": "pip install ./packages/*",
}

#: The guides, in the order the front page lists them, then the reference.
TOCTREE = ["getting-started", "install", "migrating", "security", "performance",
           "api/index", "cli"]


def public_modules() -> dict[str, str]:
    """Every public ``sipyco.*`` module -> the distribution that ships it:
    each ``.py`` file under ``packages/<dist>/src/sipyco`` whose dotted name
    has no part starting with an underscore."""
    found = {}
    for path in sorted(ROOT.glob("packages/*/src/sipyco/**/*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        dotted = parts[parts.index("src") + 1:]
        if any(part.startswith("_") for part in dotted):
            continue
        found[".".join(dotted)] = parts[1]
    return found


MODULES = public_modules()


def reexported_beyond_all(module_name: str) -> list[str]:
    """Names a module imports for its users without listing them in
    ``__all__``: those of the import that follows a ``# Re-exported``
    comment (the convention the sources use for sipyco 1.10 compatibility)."""
    module = importlib.import_module(module_name)
    source = pathlib.Path(module.__file__).read_text(encoding="utf-8")
    lines = source.splitlines()
    names = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom) and node.lineno >= 2 \
                and lines[node.lineno - 2].lstrip().startswith("# Re-exported"):
            names.extend(alias.asname or alias.name for alias in node.names)
    return names


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Build the site; returns (output directory, warnings text)."""
    base = tmp_path_factory.mktemp("docs")
    out, warnings = base / "html", base / "warnings.txt"
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(base / "doctrees"), "-w", str(warnings), str(DOCS), str(out)],
        capture_output=True, text=True, timeout=240)
    text = warnings.read_text(encoding="utf-8") if warnings.exists() else ""
    assert build.returncode == 0, f"sphinx-build failed:\n{build.stderr}\n{text}"
    return out, text


@pytest.fixture(scope="module")
def documented(site) -> set[str]:
    """Every Python object the built site documents, by full name."""
    out, _ = site
    with open(out / "objects.inv", "rb") as stream:
        inventory = InventoryFile.load(stream, "", lambda base, uri: uri)
    items = inventory.data if hasattr(inventory, "data") else inventory
    return {name for role, entries in items.items() if role.startswith("py:")
            for name in entries}


def test_the_site_builds_without_a_warning(site):
    out, warnings = site
    assert warnings.strip() == ""
    assert (out / "index.html").is_file()


def test_public_modules_are_the_expected_ones():
    # A guard on the discovery above: the modules of the API reference and
    # of sipyco 1.8/1.10 compatibility, plus the errors module.
    expected = {"pyon", "pc_rpc", "fire_and_forget", "sync_struct", "logging_tools",
                "remote_exec", "asyncio_tools", "common_args", "tools", "keepalive",
                "pipe_ipc", "packed_exceptions", "broadcast", "logs", "arguments",
                "pyon_v1", "errors", "test.generic_rpc", "sipyco_rpctool"}
    assert set(MODULES) == {f"sipyco.{name}" for name in expected}


@pytest.mark.parametrize("module_name", sorted(MODULES))
def test_every_name_in_all_is_documented_under_its_module(module_name, documented):
    module = importlib.import_module(module_name)
    exported = list(module.__all__)
    assert exported, f"{module_name} exports nothing"
    missing = [name for name in exported if f"{module_name}.{name}" not in documented]
    assert missing == [], f"{module_name}: not in the built inventory: {missing}"
    assert f"{module_name}" in documented


@pytest.mark.parametrize("module_name", sorted(MODULES))
def test_names_reexported_beyond_all_are_documented_too(module_name, documented):
    missing = [name for name in reexported_beyond_all(module_name)
               if f"{module_name}.{name}" not in documented]
    assert missing == []


def test_the_reexport_convention_is_found():
    # Guards the reader above: these are the compatibility re-exports today.
    assert reexported_beyond_all("sipyco.pc_rpc") == ["current_exc_packed", "raise_packed_exc"]
    assert reexported_beyond_all("sipyco.sync_struct") == ["AsyncioServer"]


def test_private_names_stay_out_of_the_inventory(documented):
    assert [name for name in documented if "._" in name] == []


@pytest.mark.parametrize("module_name", sorted(MODULES))
def test_each_module_page_names_its_distribution_and_install_line(module_name, site):
    out, _ = site
    short = module_name.removeprefix("sipyco.")
    page = DOCS / "api" / f"{short}.rst"
    assert page.is_file(), f"no page for {module_name}"
    text = page.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == module_name
    dist = MODULES[module_name]
    line = INSTALL_LINES[dist]
    assert f"Shipped by the {dist} distribution: install it with ``{line}``" \
        in " ".join(text.split())
    assert f".. automodule:: {module_name}" in text
    assert (out / "api" / f"{short}.html").is_file()


def test_install_lines_are_the_readme_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for line in INSTALL_LINES.values():
        assert f"| `{line}` |" in readme, line


def test_the_cli_page_is_generated_from_the_parser(site):
    out, _ = site
    from sipyco.sipyco_rpctool import get_argparser

    page = html.unescape(re.sub(r"<[^>]+>", "", (out / "cli.html").read_text(encoding="utf-8")))
    parser = get_argparser()
    subcommands = parser.subcommands
    assert set(subcommands) == {"list-targets", "list-methods", "call", "interactive"}
    for command in [parser, *subcommands.values()]:
        for action in command._actions:
            if isinstance(action, argparse._HelpAction):
                continue  # sphinx-argparse leaves out -h/--help
            for option in action.option_strings:
                assert option in page, option
    assert " ".join(parser.epilog.split()) in " ".join(page.split())
    for name, sub in subcommands.items():
        assert name in page
        # Help texts exactly as the parser has them (no smart quotes or dashes).
        assert " ".join(sub.epilog.split()) in " ".join(page.split()), name
    # The page holds no hand-written copy of the options.
    assert "--timeout" not in (DOCS / "cli.rst").read_text(encoding="utf-8")


def test_the_front_page_lists_the_guides_then_the_reference():
    text = (DOCS / "index.rst").read_text(encoding="utf-8")
    entries = re.findall(r"^   ([\w/-]+)$", text, flags=re.MULTILINE)
    assert entries == TOCTREE
