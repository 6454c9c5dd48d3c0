"""Fixtures for the remote_exec tests: real controller subprocesses."""

from __future__ import annotations

import sys

import pytest
from support.rexec import Process

from sipyco.pc_rpc import Client


@pytest.fixture
def start():
    """``start(script, python=sys.executable)`` -> a Process (stopped afterwards)."""
    started = []

    def run(script, python=sys.executable, args=()):
        p = Process(script, python, args)
        started.append(p)
        return p

    yield run
    for p in started:
        p.stop()


@pytest.fixture
def clients():
    """``clients(port, target)`` -> a pc_rpc Client on 127.0.0.1, closed afterwards."""
    made = []

    def make(port, target):
        c = Client("127.0.0.1", port, target, timeout=30)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close_rpc()


@pytest.fixture
def controller(start):
    """A started rexec_controller.py (driver ``dev``, remote execution
    ``dev_rexec``) of the test's own."""
    p = start("rexec_controller.py")
    p.wait_listening("dev").close_rpc()
    return p


@pytest.fixture(scope="module")
def shared_controller():
    """One rexec_controller.py for a whole test module, for the tests that
    neither stop it nor depend on what earlier tests put in its shared
    namespace (each uses names of its own there)."""
    p = Process("rexec_controller.py")
    try:
        p.wait_listening("dev").close_rpc()
        yield p
    finally:
        p.stop()
