"""The subprocess servers of the remote_exec tests: the scripts in
tests/rexec, each started as ``python SCRIPT PORT``."""

from __future__ import annotations

import pathlib
import sys

from support.controllers import ControllerProcess
from support.net import free_port

__all__ = ["SCRIPTS", "Process"]

#: Where the server scripts of the remote_exec tests are.
SCRIPTS = pathlib.Path(__file__).resolve().parent.parent / "rexec"


class Process(ControllerProcess):
    """``script`` (a file in :data:`SCRIPTS`) running in a subprocess, on
    127.0.0.1 at a free port; ``args`` go to the interpreter."""

    def __init__(self, script: str, python=sys.executable, args=()):
        port = free_port()
        super().__init__(SCRIPTS / script, [port], port=port, python=python, python_args=args)
