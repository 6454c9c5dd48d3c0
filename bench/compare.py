"""Benchmark figures of two trees side by side, in one run.

    python bench/compare.py REV --suite rpc|pyon|sync [--rounds N] [--quick]
                                [--only REGEX] [--seconds S] [--flag F]

checks REV out into a temporary git worktree and measures one suite
alternately against REV's packages (``before``) and the working tree's
(``after``), N rounds each.  The order flips every round (before, after,
after, before, ...) so that a drift in the machine's load falls on both
sides alike.  Every round runs in a fresh interpreter that imports the whole
tree it was given (REV through PYTHONPATH, the working tree through the
installed editable packages); peer processes (rpc servers, the sync
publisher) inherit it.  The benchmark code itself is always the working
tree's, so both sides run the same measurements.

Suites:

* ``rpc``: bench/rpc_bench.py's pc_rpc calls and array echoes, beside the raw
  ping-pong measured in the same round;
* ``pyon``: bench/pyon_bench.py's encode and decode rates per payload and
  PYON version, beside pickle on the same payload in the same round;
* ``sync``: bench/sync_bench.py's Publisher fan-out, beside pre-encoded lines.

Prints, per figure, the median of each side, after / before, and each side's
median ratio to its baseline figure.  Every figure is a rate (higher is
better), so after / before below 1 / F (default F = 1.10) is listed as
slower, above F as faster.  ``--only REGEX`` measures just the figures whose
name matches (and their baselines), e.g. to rerun a flagged figure with more
rounds.  ``--quick`` shortens every measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


# ---------------------------------------------------------------- round side
# Everything below up to the "driver side" runs inside a fresh interpreter.

class Figures:
    """Collects a suite's figures.  ``wanted`` None only lists them (name and
    baseline) without measuring; otherwise the thunks of the wanted ones run."""

    def __init__(self, wanted: set[str] | None):
        self.wanted = wanted
        self.catalogue: list[tuple[str, str | None]] = []
        self.values: dict[str, float] = {}

    def add(self, name: str, baseline: str | None, thunk) -> None:
        self.catalogue.append((name, baseline))
        if self.wanted is not None and name in self.wanted:
            self.values[name] = float(thunk())


def _lazy(make):
    """``make()`` on the first call, its result on every call after."""
    box = []

    def get():
        if not box:
            box.append(make())
        return box[0]
    return get


def suite_rpc(figs: Figures, quick: bool, seconds: float | None) -> None:
    import rpc_bench
    t = seconds if seconds is not None else (0.3 if quick else 1.0)
    raw = "raw ping-pong"
    with ExitStack() as stack:
        port = _lazy(lambda: stack.enter_context(rpc_bench.peer("raw")))
        figs.add(raw, None, lambda: rpc_bench.raw_pingpong(port(), t))
    for kind, label in (("rpc", "v2"), ("rpc-v1", "v1")):
        with ExitStack() as stack:
            port = _lazy(lambda k=kind: stack.enter_context(rpc_bench.peer(k)))
            figs.add(f"sync small calls ({label})", raw,
                     lambda p=port: rpc_bench.sync_calls(p(), 1, t))
            if label == "v2":
                figs.add("asyncio, 8 clients", raw,
                         lambda p=port: rpc_bench.asyncio_calls(p(), 8, 1, t))
                figs.add("asyncio, 8 tasks on one connection", raw,
                         lambda p=port: rpc_bench.asyncio_calls(p(), 1, 8, t))
            for mb in (1, 8, 64):
                figs.add(f"array echo {mb} MiB ({label}), MB/s", None,
                         lambda p=port, n=mb << 20: rpc_bench.array_echo(p(), n, t))


def suite_pyon(figs: Figures, quick: bool, seconds: float | None) -> None:
    import pickle

    import pyon_bench

    from sipyco import pyon
    t = seconds if seconds is not None else (0.2 if quick else 0.5)
    proto = pickle.HIGHEST_PROTOCOL

    def rate(scale, fn):
        return lambda: scale * pyon_bench.rate(fn, t)

    for label, value, nbytes in pyon_bench.payloads():
        unit = ", MB/s" if nbytes else ", calls/s"
        scale = nbytes / 1e6 if nbytes else 1.0
        pickled = pickle.dumps(value, protocol=proto)
        base = {op: f"{label}: pickle {op}{unit}" for op in ("encode", "decode")}
        figs.add(base["encode"], None,
                 rate(scale, lambda v=value: pickle.dumps(v, protocol=proto)))
        figs.add(base["decode"], None, rate(scale, lambda p=pickled: pickle.loads(p)))
        for version, enc in (("v1", pyon.encode), ("v2", pyon.encode_v2)):
            text = enc(value)
            figs.add(f"{label}: {version} encode{unit}", base["encode"],
                     rate(scale, lambda f=enc, v=value: f(v)))
            figs.add(f"{label}: {version} decode{unit}", base["decode"],
                     rate(scale, lambda s=text: pyon.decode(s)))


def suite_sync(figs: Figures, quick: bool, seconds: float | None) -> None:
    import sync_bench
    runs = 1 if quick else 3
    raw = "pre-encoded lines to 10 subscribers (baseline), mods/s"
    figs.add(raw, None, lambda: max(sync_bench.one_run("raw") for _ in range(runs)))
    for mode in ("v1", "v2"):
        figs.add(f"Publisher writing {mode}, 10 Subscribers, mods/s", raw,
                 lambda m=mode: max(sync_bench.one_run(m) for _ in range(runs)))


SUITES = {"rpc": suite_rpc, "pyon": suite_pyon, "sync": suite_sync}


def round_main(suite: str, wanted: list[str] | None, quick: bool, seconds: float | None) -> None:
    """Runs in the fresh interpreter: prints one JSON line."""
    figs = Figures(None if wanted is None else set(wanted))
    SUITES[suite](figs, quick, seconds)
    files = sorted({m.__file__ for name, m in list(sys.modules.items())
                    if (name == "sipyco" or name.startswith("sipyco."))
                    and getattr(m, "__file__", None)})
    print(json.dumps({"catalogue": figs.catalogue, "values": figs.values, "files": files}))


# --------------------------------------------------------------- driver side

def one_round(suite: str, pythonpath: str | None, wanted: list[str] | None,
              quick: bool, seconds: float | None) -> dict:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    cmd = [sys.executable, os.path.abspath(__file__), "--round", suite,
           "--wanted", json.dumps(wanted)]
    if quick:
        cmd.append("--quick")
    if seconds is not None:
        cmd += ["--seconds", str(seconds)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise RuntimeError(f"a {suite} round failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _check_tree(files: list[str], expected: str, side: str) -> None:
    strays = [f for f in files if not os.path.abspath(f).startswith(expected + os.sep)]
    assert files and not strays, (side, expected, strays)


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.3g}"


def table(rounds: dict[str, list[dict]], catalogue: list[tuple[str, str | None]],
          flag: float) -> tuple[str, list[str], list[str]]:
    lines = ["| figure | before | after | after / before | before / base | after / base |",
             "|---|---|---|---|---|---|"]
    slower, faster = [], []
    for name, base in catalogue:
        if name not in rounds["after"][0]:
            continue
        b = statistics.median(r[name] for r in rounds["before"])
        a = statistics.median(r[name] for r in rounds["after"])
        ratio = a / b
        cells = [name, _fmt(b), _fmt(a), f"{ratio:.2f}x"]
        if base is not None and base in rounds["after"][0]:
            for side in ("before", "after"):
                cells.append(f"{statistics.median(r[name] / r[base] for r in rounds[side]):.2f}x")
        else:
            cells += ["", ""]
        lines.append("| " + " | ".join(cells) + " |")
        spread = "; ".join(f"{side}: " + ", ".join(_fmt(r[name]) for r in rounds[side])
                           for side in ("before", "after"))
        if ratio < 1 / flag:
            slower.append(f"{name}: {ratio:.2f}x ({spread})")
        elif ratio > flag:
            faster.append(f"{name}: {ratio:.2f}x ({spread})")
    return "\n".join(lines), slower, faster


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rev", nargs="?", help="the git revision to compare the working tree with")
    parser.add_argument("--suite", choices=sorted(SUITES), default="rpc")
    parser.add_argument("--rounds", type=int, default=3, help="per side")
    parser.add_argument("--quick", action="store_true", help="shorter measurements")
    parser.add_argument("--seconds", type=float, default=None,
                        help="per measurement (rpc, pyon); default: the suite's own")
    parser.add_argument("--only", metavar="REGEX",
                        help="measure only the figures whose name matches (plus their baselines)")
    parser.add_argument("--flag", type=float, default=1.10,
                        help="list figures whose after / before is beyond this factor either way")
    parser.add_argument("--round", help=argparse.SUPPRESS)
    parser.add_argument("--wanted", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.round:
        round_main(args.round, json.loads(args.wanted), args.quick, args.seconds)
        return 0
    if not args.rev:
        parser.error("REV is required")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    # a plain ``kill`` (or a ``timeout``) still removes the temporary worktree
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    started = time.monotonic()
    catalogue = one_round(args.suite, None, None, False, None)["catalogue"]
    if args.only:
        pattern = re.compile(args.only)
        picked = [(n, b) for n, b in catalogue if pattern.search(n)]
        if not picked:
            parser.error(f"--only {args.only!r} matches none of: "
                         + ", ".join(n for n, _ in catalogue))
        needed = {n for n, _ in picked} | {b for _, b in picked if b}
        catalogue = [(n, b) for n, b in catalogue if n in needed]
    wanted = [n for n, _ in catalogue]

    rounds: dict[str, list[dict]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        tree = os.path.join(tmp, "before")
        subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", "-q", tree, args.rev],
                       check=True)
        try:
            packages = os.path.join(tree, "packages")
            before_path = os.pathsep.join(os.path.join(packages, d, "src")
                                          for d in sorted(os.listdir(packages)))
            sides = [("before", before_path, tree), ("after", None, ROOT)]
            for i in range(args.rounds):
                for side, path, expected in (sides if i % 2 == 0 else sides[::-1]):
                    result = one_round(args.suite, path, wanted, args.quick, args.seconds)
                    _check_tree(result["files"], expected, side)
                    rounds[side].append(result["values"])
                    print(f"round {i + 1}/{args.rounds} {side} done "
                          f"({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
        finally:
            subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", tree],
                           check=True)

    text, slower, faster = table(rounds, catalogue, args.flag)
    print(f"suite {args.suite}: before = {args.rev}, after = working tree; "
          f"medians of {args.rounds} rounds{' (quick)' if args.quick else ''}; "
          f"base = the figure's baseline in the same round\n")
    print(text)
    for title, rows in ((f"slower than 1/{args.flag:g} (after / before)", slower),
                        (f"faster than {args.flag:g}x (after / before)", faster)):
        print(f"\n{title}: {'none' if not rows else ''}")
        for row in rows:
            print(f"- {row}")
    print(f"\nwall time: {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
