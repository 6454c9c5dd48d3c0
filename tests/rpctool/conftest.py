"""Fixtures for the sipyco_rpctool tests: real controller subprocesses on
127.0.0.1 and pseudo-terminal sessions of the tool."""

from __future__ import annotations

import pytest
from support.rpctool import Controller, PtySession


@pytest.fixture(scope="module")
def psu():
    """A controller with one target, ``psu`` (shared by a test module: tests
    use channel numbers of their own)."""
    c = Controller()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def two_targets():
    """A controller with the targets ``meter`` and ``psu``."""
    c = Controller("--two")
    yield c
    c.stop()


@pytest.fixture
def fresh_psu():
    """A controller of the test's own (for tests that stop it)."""
    c = Controller()
    yield c
    c.stop()


@pytest.fixture
def pty_tool(tmp_path):
    """``pty_tool(*args, **env)`` -> a PtySession of sipyco_rpctool, with HOME
    in a temporary directory; killed afterwards if still running."""
    sessions = []

    def start(*args, **env):
        env.setdefault("HOME", str(tmp_path))
        s = PtySession(args, env)
        sessions.append(s)
        return s

    yield start
    for s in sessions:
        s.close()
