"""Run the demo, the tests or any hatch command from a clone, with nothing
installed but Python 3.10+ (its venv module and ensurepip included).

    python3 tools/bootstrap.py demo            # hatch run demo
    python3 tools/bootstrap.py test [ARGS]     # hatch test [ARGS]
    python3 tools/bootstrap.py hatch ARGS      # hatch ARGS, e.g. run bench

The first run makes a venv in .venv-bootstrap/ at the root of the clone (git
ignores it) and installs hatch there; later runs reuse it.  pip only ever
runs inside that venv, so this works on a system Python that refuses
`pip install` as an "externally-managed-environment" (PEP 668: Debian 12,
Ubuntu 23.04 and later, Nix, Homebrew).  Delete .venv-bootstrap/ to start
over.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import venv

ROOT = pathlib.Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-bootstrap"
HATCH = "hatch>=1.16"
# Written once hatch is installed: a venv without it (an install that was
# interrupted, or one made for another requirement) is made again.
STAMP = VENV / "bootstrap-installed.txt"

USAGE = """usage: python3 tools/bootstrap.py demo | test [ARGS] | hatch ARGS
  demo         run the demo (hatch run demo)
  test [ARGS]  run the tests (hatch test ARGS)
  hatch ARGS   run any hatch command (e.g. hatch run bench)"""


def _venv_python() -> pathlib.Path:
    if sys.platform == "win32":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def _ensure_hatch() -> pathlib.Path:
    python = _venv_python()
    if python.exists() and STAMP.is_file() and STAMP.read_text() == HATCH + "\n":
        return python
    print(f"bootstrap: making {VENV} and installing {HATCH} into it (once)",
          file=sys.stderr, flush=True)
    try:
        venv.EnvBuilder(clear=True, with_pip=True).create(VENV)
    except (OSError, subprocess.CalledProcessError) as exc:
        sys.exit(f"bootstrap: cannot make a venv with pip in {VENV}: {exc}\n"
                 "On Debian and Ubuntu, `apt install python3-venv` adds what is missing.")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", HATCH], check=True)
    STAMP.write_text(HATCH + "\n")
    return python


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 10):  # noqa: UP036 (an older python3 may well run this file)
        print("bootstrap: SiPyCo needs Python 3.10 or later", file=sys.stderr)
        return 2
    known = ("demo", "test", "hatch")
    if not argv or argv[0] not in known or (argv[0] == "hatch" and len(argv) == 1):
        print(USAGE, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    hatch_args = {"demo": ["run", "demo", *rest], "test": ["test", *rest], "hatch": rest}[command]
    try:
        python = _ensure_hatch()
    except subprocess.CalledProcessError as exc:
        print(f"bootstrap: installing {HATCH} failed (exit status {exc.returncode})",
              file=sys.stderr)
        return 1
    try:
        return subprocess.run([str(python), "-m", "hatch", *hatch_args],
                              cwd=ROOT).returncode
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
