"""Every ``pip install`` line in the READMEs and docs works when typed as
written, in a new venv, at the root of a fresh copy of the repository.

Lines are taken from code blocks and from inline code.  Each distinct line
gets its own venv; the copy of the repository is shared.  pip must be the
venv's own (PIP_REQUIRE_VIRTUALENV=1), and what it installs must be exactly
the SiPyCo distributions the line names, consistent (``pip check``)."""

from __future__ import annotations

import glob
import pathlib
import re
import subprocess
import sys
import venv

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent

DOCUMENTS = ["README.md", *sorted(glob.glob("packages/*/README.md", root_dir=ROOT)),
             *sorted(glob.glob("docs/*.md", root_dir=ROOT)),
             # The documentation site's pages (reStructuredText), not its build.
             *sorted(path for path in glob.glob("docs/**/*.rst", root_dir=ROOT, recursive=True)
                     if not path.startswith("docs/_build/"))]

# "pip install" followed by at least one argument: prose that merely
# mentions `pip install` is not a command.
_COMMAND = re.compile(r"\bpip install\s+\S")
_INLINE = re.compile(r"`([^`\n]+)`")
_FENCE = re.compile(r"^\s*(```|~~~)")

_LIST_SIPYCO = ("import importlib.metadata as m\n"
                "print(' '.join(sorted(d.metadata['Name'] for d in m.distributions()\n"
                "                      if d.metadata['Name'].startswith('sipyco'))))")


def install_lines(text: str) -> list[str]:
    """The ``pip install`` commands in a Markdown text, in order: whole
    lines inside fenced code blocks, and inline code spans elsewhere."""
    found, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            if _COMMAND.search(line):
                found.append(line.strip())
        else:
            found.extend(span.strip() for span in _INLINE.findall(line) if _COMMAND.search(span))
    return found


_RST_LITERAL = re.compile(r"``(.+?)``")
# Directives whose content is code, shown as written.
_RST_CODE = re.compile(r"\.\. (code-block|code|sourcecode|parsed-literal)::")


def install_lines_rst(text: str) -> list[str]:
    """The ``pip install`` commands in a reStructuredText page, in order:
    whole lines of literal blocks (after a paragraph ending in ``::``, or
    in a code directive), and inline literals elsewhere, which may wrap
    across the lines of a paragraph."""
    found: list[str] = []
    paragraph: list[str] = []
    block_indent: int | None = None  # indentation of what opened a literal block

    def end_paragraph() -> None:
        joined = " ".join(paragraph)
        found.extend(span.strip() for span in _RST_LITERAL.findall(joined)
                     if _COMMAND.search(span))
        paragraph.clear()

    for line in text.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if block_indent is not None:
            if not stripped or indent > block_indent:
                if _COMMAND.search(line):
                    found.append(stripped)
                continue
            block_indent = None
        if not stripped:
            end_paragraph()
            continue
        if _RST_CODE.match(stripped):
            end_paragraph()
            block_indent = indent
            continue
        paragraph.append(stripped)
        if stripped.endswith("::") and not stripped.startswith(".. "):
            end_paragraph()
            block_indent = indent
    end_paragraph()
    return found


def _install_lines_of(document: str) -> list[str]:
    text = (ROOT / document).read_text(encoding="utf-8")
    return install_lines_rst(text) if document.endswith(".rst") else install_lines(text)


def _command(line: str) -> str:
    """A line as the shell runs it: without its trailing comment, spaces
    collapsed, so lines that differ only in their comments run once."""
    return " ".join(re.split(r"\s#", line, maxsplit=1)[0].split())


def _collect() -> dict[str, list[str]]:
    """Each distinct command -> the documents it appears in."""
    where: dict[str, list[str]] = {}
    for doc in DOCUMENTS:
        for line in _install_lines_of(doc):
            where.setdefault(_command(line), []).append(doc)
    return where


LINES = _collect()

#: The root README's "Install only what you need" table, line by line.
TABLE = [
    "pip install ./packages/sipyco-pyon ./packages/sipyco-rpc",
    "pip install ./packages/sipyco-pyon",
    "pip install ./packages/sipyco-pyon ./packages/sipyco-sync",
    "pip install ./packages/sipyco-pyon ./packages/sipyco-logging",
    "pip install ./packages/sipyco-pyon ./packages/sipyco-rpc ./packages/sipyco-rexec",
    "pip install ./packages/*",
]


def test_the_extractor_reads_code_blocks_and_inline_code():
    text = ("Run `pip install ./a` or see `pip install` in prose.\n"
            "```sh\n"
            "pip install ./b   # a comment\n"
            "echo `pip install ./not-inline-here`\n"
            "```\n"
            "    plain indented text: pip install ./c\n"
            "| x | `pip install \"./d[fast]\"` |\n")
    assert install_lines(text) == ["pip install ./a", "pip install ./b   # a comment",
                                   "echo `pip install ./not-inline-here`",
                                   'pip install "./d[fast]"']
    assert _command("pip install ./b   # a comment") == "pip install ./b"
    assert _command('pip  install "./d[fast]#x"') == 'pip install "./d[fast]#x"'


def test_the_rst_extractor_reads_literal_blocks_and_inline_literals():
    text = ("Run ``pip install ./a`` or see ``pip install`` in prose; a long\n"
            "line wraps: ``pip install ./b\n"
            "./c``.  Then::\n"
            "\n"
            "    pip install ./d   # a comment\n"
            "\n"
            ".. code-block:: sh\n"
            "\n"
            "   python -m pip install ./e\n"
            "\n"
            ".. note::\n"
            "\n"
            "   In prose, pip install ./not-a-command, but ``pip install ./f``.\n"
            "\n"
            "Back to prose: pip install ./not-either.\n")
    assert install_lines_rst(text) == ["pip install ./a", "pip install ./b ./c",
                                       "pip install ./d   # a comment",
                                       "python -m pip install ./e", "pip install ./f"]


def test_every_readme_has_an_install_line_and_the_table_is_there():
    documents = {doc for docs in LINES.values() for doc in docs}
    for readme in DOCUMENTS:
        if readme.startswith("packages/"):
            assert readme in documents, f"{readme} has no pip install line"
    root_lines = install_lines((ROOT / "README.md").read_text(encoding="utf-8"))
    for line in TABLE:
        assert line in root_lines, f"the root README's table lost: {line}"


def _named_distributions(command: str, root: pathlib.Path) -> set[str]:
    """The SiPyCo distributions a command names by path (globs expanded as
    the shell would), extras dropped."""
    names = set()
    for word in command.split():
        word = word.strip("\"'")
        if "packages/" not in word:
            continue
        word = re.sub(r"\[.*\]$", "", word)
        for path in sorted(root.glob(word.removeprefix("./"))):
            names.add(path.name)
    return names


@pytest.mark.skipif(sys.platform == "win32", reason="the READMEs' lines are for a POSIX shell")
@pytest.mark.parametrize("command", sorted(LINES))
def test_install_line_works_in_a_new_venv(command, repo_copy, user_env, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    env = user_env(VIRTUAL_ENV=str(env_dir), PIP_REQUIRE_VIRTUALENV="1")
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    out = subprocess.run(command, shell=True, cwd=repo_copy, env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, (f"`{command}` (from {', '.join(LINES[command])}) failed:\n"
                                 f"{out.stdout}\n{out.stderr}")
    check = subprocess.run([str(bin_dir / "python"), "-m", "pip", "check"], env=env,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    listed = subprocess.run([str(bin_dir / "python"), "-I", "-c", _LIST_SIPYCO], env=env,
                            capture_output=True, text=True, check=True, cwd=tmp_path)
    installed = set(listed.stdout.split())
    named = _named_distributions(command, repo_copy)
    assert named, f"`{command}` names no distribution under ./packages"
    assert installed == named, f"`{command}` installed {sorted(installed)}"
