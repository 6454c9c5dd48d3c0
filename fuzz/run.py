"""Fuzz SiPyCo's protocol surfaces: ``python fuzz/run.py [--count N]
[--target NAME ...] [--seed S] [--jobs J]`` (``hatch run fuzz -- ...``).

Every target (``--list`` shows them) gets ``--count`` inputs (100,000 by
default) from hypothesis; see ``engine.py`` for the pass criteria and
``targets.py`` for what each target runs and which refusals it documents.
Each target runs in a worker process of its own (``--jobs`` at a time), so a
crash or a hard hang (stuck in C for ``--hard-bound`` seconds, beyond the
reach of the per-input time guard) is reported with the input that caused
it instead of taking the run down.  Prints, per target, the counts of
inputs and of each outcome, the slowest input, the memory figures and a FAIL
line with a minimal reproduction for every violation; exits 1 on any.
"""

from __future__ import annotations

import argparse
import ast
import faulthandler
import importlib
import importlib.util
import json
import mmap
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = "sipyco_fuzz"
DEFAULT_COUNT = 100_000
#: Wall seconds one input may stay stuck (in C, where the per-input guard
#: cannot interrupt it), beyond three times the CPU time it is allowed,
#: before the worker is stopped and the input reported.
HARD_BOUND = 120.0
_CRUMB_SIZE = 1 << 20


def load_package():
    """This folder as the package ``sipyco_fuzz`` (it is not installed, and
    ``fuzz`` alone would be ambiguous next to ``tests/fuzz``)."""
    if PACKAGE not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            PACKAGE, HERE / "__init__.py", submodule_search_locations=[str(HERE)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE] = module
        spec.loader.exec_module(module)
    return sys.modules[PACKAGE]


def modules():
    """``(engine, targets)``, imported."""
    load_package()
    return (importlib.import_module(f"{PACKAGE}.engine"),
            importlib.import_module(f"{PACKAGE}.targets"))


def fuzz(name: str, count: int, seed: int = 0, **options):
    """Run target ``name`` in this process; returns its engine.Result."""
    engine, targets = modules()
    return engine.run_target(targets.TARGETS[name], count, seed, **options)


# ------------------------------------------------------------------ report ---

def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


_SHOWN = 3000  # characters of a reproduction printed in the report


def format_result(r, save_dir: Path | None = None) -> str:
    """The report of one target's run; with ``save_dir``, each failure's
    reproduction is also written there as a script (and a long one is only
    begun in the report)."""
    engine, _ = modules()
    rate = r.inputs / r.seconds if r.seconds else 0.0
    out = [f"== {r.target}: {r.about}",
           f"inputs: {r.inputs} of {r.requested} requested ({r.distinct} distinct), seed "
           f"{r.seed}, {r.seconds:.1f} s ({rate:.0f}/s; {r.shrink_seconds:.1f} s shrinking)",
           "outcomes:"]
    width = max((len(k) for k in r.outcomes), default=0)
    out += [f"  {k:<{width}}  {v:>9}" for k, v in r.outcomes.items()]
    slowest = f"slowest input: {r.slowest * 1000:.1f} ms of CPU, {_size(r.slowest_size)}"
    if save_dir is not None and r.slowest_reproduction:
        path = save_dir / f"{r.target}-slowest.py"
        path.write_text(r.slowest_reproduction, encoding="utf-8", errors="backslashreplace")
        slowest += f" ({path})"
    out.append(f"{slowest}: {r.slowest_input}")
    out.append(f"memory: largest per-input peak {_size(r.peak)} "
               f"(input of {_size(r.peak_input_size)}; bound {engine.MEMORY_FACTOR} x input + "
               f"{_size(engine.MEMORY_CONSTANT)}); "
               f"worst peak/input ratio {r.worst_ratio:.1f} (input of {_size(r.worst_ratio_size)}, "
               f"inputs of 4 KiB or more); largest input {_size(r.largest_input)}")
    out.append(f"memory retained: {_size(r.retained_fresh)} after {r.replayed} fresh inputs, "
               f"{_size(r.retained_repeat)} more after replaying them twice; worker peak RSS "
               f"{_size(r.rss_max)}")
    for i, f in enumerate(r.failures, 1):
        out.append(f"FAIL {r.target}: {f.kind}: {f.detail} at {f.where} "
                   f"({f.occurrences} input{'s' if f.occurrences != 1 else ''}; "
                   f"{'shrunk' if f.shrunk else 'not shrunk'} reproduction below)")
        if f.trace:
            out.append("  | " + f.trace.rstrip().replace("\n", "\n  | "))
        text = f.reproduction.rstrip()
        if save_dir is not None:
            path = save_dir / f"{r.target}-{i}.py"
            path.write_text(text + "\n", encoding="utf-8", errors="backslashreplace")
            out.append(f"  # reproduction: {path}")
            if len(text) > _SHOWN:
                text = text[:_SHOWN] + f"\n... ({len(text)} characters: see {path})"
        out.append("  " + text.replace("\n", "\n  "))
    if r.inputs < r.requested:
        out.append(f"FAIL {r.target}: only {r.inputs} of {r.requested} inputs ran")
    out.append(f"result: {'PASS' if r.passed else 'FAIL'}")
    return "\n".join(out)


# ------------------------------------------------------------------ worker ---

def _worker(args) -> int:
    engine, targets = modules()
    faulthandler.enable()
    crumbs = tick = None
    if args.crumbs:
        fd = os.open(args.crumbs, os.O_RDWR)
        area = mmap.mmap(fd, 8 + _CRUMB_SIZE)

        def crumbs(text: str) -> None:
            data = text.encode("utf-8", "backslashreplace")[:_CRUMB_SIZE]
            area[8:8 + len(data)] = data
            area[:8] = len(data).to_bytes(8, "little")

    if args.hard_bound:
        armed = [0.0]

        def tick(allowed: float) -> None:
            # re-armed at most once a second (it starts a thread), and at once
            # for an input allowed more than the bound (wall time may run to
            # three times CPU time on a busy machine)
            now = time.monotonic()
            if now - armed[0] > 1.0 or allowed > args.hard_bound / 3:
                faulthandler.dump_traceback_later(args.hard_bound + 3 * allowed, exit=True)
                armed[0] = now

    def progress(r) -> None:
        print(f"[{r.target}] {r.inputs}/{r.requested} inputs, {len(r.failures)} "
              f"failure kinds so far", file=sys.stderr, flush=True)

    result = engine.run_target(targets.TARGETS[args.worker], args.count, args.seed,
                               time_bound=args.time_bound, progress=progress, crumbs=crumbs,
                               tick=tick)
    faulthandler.cancel_dump_traceback_later()
    Path(args.result).write_text(json.dumps(result.to_dict()))
    return 0


def _crashed(name: str, args, code: int, stderr: str, crumbs: Path):
    """The Result of a worker that died: a crash or hard-hang failure."""
    engine, targets = modules()
    raw = crumbs.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    shown = raw[8:8 + n].decode("utf-8", "replace")
    try:
        reproduction = targets.TARGETS[name].reproduce(ast.literal_eval(shown))
    except Exception:  # noqa: BLE001 - a repr that does not read back: show it as it is
        reproduction = f"input: {shown}"
    hard_hang = "Timeout (" in stderr
    kind = "hang" if hard_hang else "crash"
    detail = (f"stuck for {args.hard_bound:g} s (the worker was stopped)" if hard_hang
              else f"the worker process died (exit status {code})")
    r = engine.Result(name, targets.TARGETS[name].about, args.count, args.seed)
    r.failures = [engine.Failure(kind, kind, detail, "?", reproduction, False,
                                 trace="\n".join(stderr.strip().splitlines()[-12:]))]
    return r


def _parent(args, names: list[str]) -> int:
    started = time.monotonic()
    if args.out:
        workdir = Path(args.out)
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="sipyco-fuzz-"))
    waiting = list(names)
    running: dict[str, tuple] = {}
    results = {}
    print(f"fuzzing {', '.join(names)}: {args.count} inputs each, seed {args.seed}, "
          f"{args.jobs} at a time; files in {workdir}", flush=True)
    while waiting or running:
        while waiting and len(running) < args.jobs:
            name = waiting.pop(0)
            result_file, crumbs = workdir / f"{name}.json", workdir / f"{name}.crumbs"
            crumbs.write_bytes(bytes(8 + _CRUMB_SIZE))
            err = open(workdir / f"{name}.stderr", "w+")
            cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name,
                   "--count", str(args.count), "--seed", str(args.seed),
                   "--time-bound", str(args.time_bound), "--hard-bound", str(args.hard_bound),
                   "--result", str(result_file), "--crumbs", str(crumbs)]
            proc = subprocess.Popen(cmd, stderr=err)
            running[name] = (proc, err, result_file, crumbs, 0)
        time.sleep(0.5)
        for name, (proc, err, result_file, crumbs, shown) in list(running.items()):
            err.flush()
            err.seek(shown)
            new = err.read()
            if new:
                sys.stdout.write(new)
                sys.stdout.flush()
            running[name] = (proc, err, result_file, crumbs, shown + len(new.encode()))
            code = proc.poll()
            if code is None:
                continue
            del running[name]
            err.seek(0)
            stderr = err.read()
            err.close()
            engine, _ = modules()
            if code == 0 and result_file.exists():
                results[name] = engine.Result.from_dict(json.loads(result_file.read_text()))
            else:
                results[name] = _crashed(name, args, code, stderr, crumbs)
            print(f"[{name}] done: {'PASS' if results[name].passed else 'FAIL'}", flush=True)
    print()
    for name in names:
        print(format_result(results[name], workdir))
        print()
    failed = [n for n in names if not results[n].passed]
    total = sum(results[n].inputs for n in names)
    print(f"{total} inputs over {len(names)} targets in {time.monotonic() - started:.0f} s: "
          + (f"FAIL ({', '.join(failed)})" if failed else "PASS"))
    return 1 if failed else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT,
                        help=f"inputs per target (default {DEFAULT_COUNT})")
    parser.add_argument("--target", nargs="+", metavar="NAME", help="targets to run (default all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the run (default 0)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="worker processes at a time (default: one per CPU)")
    parser.add_argument("--time-bound", type=float, default=None,
                        help="CPU seconds an input may use before it counts as a hang, "
                        "besides 50 us per byte of it (default 10)")
    parser.add_argument("--hard-bound", type=float, default=HARD_BOUND,
                        help=f"seconds before a stuck worker is stopped (default {HARD_BOUND:g})")
    parser.add_argument("--out", help="folder for the workers' files and the reproductions "
                        "(default: a new temporary folder)")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--crumbs", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    engine, targets = modules()
    if args.time_bound is None:
        args.time_bound = engine.TIME_BOUND
    if args.list:
        for t in targets.TARGETS.values():
            print(f"{t.name}: {t.about}")
        return 0
    if args.worker:
        return _worker(args)
    names = args.target or list(targets.TARGETS)
    unknown = [n for n in names if n not in targets.TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; --list shows them")
    args.jobs = max(1, min(args.jobs, len(names)))
    return _parent(args, names)


if __name__ == "__main__":
    sys.exit(main())
