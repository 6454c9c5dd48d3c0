"""The short version of the fuzz run (``fuzz/run.py``): every target with
about a thousand to a few thousand inputs, in this process, with the same
pass criteria (no undocumented exception, no hang, memory bounded, the
properties each target checks).  The full run, 100,000 inputs per target, is
``hatch run fuzz``.

The harness is not installed: it is loaded from its folder by file path.
``SIPYCO_FUZZ_SEED`` chooses another seed (default 0, the same inputs on
every run).
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import sys

import pytest

RUN = pathlib.Path(__file__).resolve().parents[2] / "fuzz" / "run.py"

# Inputs per target, chosen so the file takes about a minute on two CPUs
# (rates differ: generating a call with nested arguments costs far more
# than generating a line of text).
COUNTS = {
    "pyon-text": 3000,
    "pyon-v1-mutated": 1000,
    "pyon-v2-mutated": 1000,
    "pyon-pieces": 800,
    "rpc-requests": 1000,
    "rpc-handshake": 2500,
    "sync-mods": 1000,
    "log-lines": 2000,
}


def _harness():
    name = "sipyco_fuzz_run"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, RUN)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_every_target_is_covered():
    _, targets = _harness().modules()
    assert sorted(COUNTS) == sorted(targets.TARGETS)


@pytest.mark.parametrize("name", list(COUNTS))
def test_fuzz_target(name):
    run = _harness()
    seed = int(os.environ.get("SIPYCO_FUZZ_SEED", "0"))
    result = run.fuzz(name, COUNTS[name], seed, replay=200, shrink_seconds=5.0)
    report = run.format_result(result)
    assert result.inputs == COUNTS[name], report
    assert result.passed, report
