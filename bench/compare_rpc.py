"""pc_rpc figures of two trees side by side, in one run.

    python bench/compare_rpc.py REV [--rounds N]

checks REV out into a temporary git worktree and runs the rpc_bench
measurements alternately against REV's packages and the working tree's
(``before``, ``after``, ``before``, ...), N rounds each, servers included
(they inherit the tree through PYTHONPATH).  Prints medians, their ratio,
and each side's ratio to the raw ping-pong measured in the same round.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# One round, run in a fresh interpreter so that each tree is imported whole.
_ROUND = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import rpc_bench
t = float(sys.argv[2])
out = {}
with rpc_bench.peer("raw") as port:
    out["raw ping-pong"] = rpc_bench.raw_pingpong(port, t)
for kind, label in (("rpc", "v2"), ("rpc-v1", "v1")):
    with rpc_bench.peer(kind) as port:
        out[f"sync small calls ({label})"] = rpc_bench.sync_calls(port, 1, t)
        if label == "v2":
            out["asyncio, 8 clients"] = rpc_bench.asyncio_calls(port, 8, 1, t)
            out["asyncio, 8 tasks on one connection"] = rpc_bench.asyncio_calls(port, 1, 8, t)
        for mb in (1, 8, 64):
            out[f"array echo {mb} MiB ({label}), MB/s"] = rpc_bench.array_echo(port, mb << 20, t)
import sipyco.pc_rpc
out["_tree"] = sipyco.pc_rpc.__file__
print(json.dumps(out))
"""


def one_round(pythonpath: str | None, seconds: float) -> dict:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    done = subprocess.run([sys.executable, "-c", _ROUND, HERE, str(seconds)], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rev", help="the git revision to compare the working tree with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tree = os.path.join(tmp, "before")
        subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", "-q", tree, args.rev],
                       check=True)
        try:
            packages = os.path.join(tree, "packages")
            before_path = os.pathsep.join(os.path.join(packages, d, "src")
                                          for d in sorted(os.listdir(packages)))
            rounds: dict[str, list[dict]] = {"before": [], "after": []}
            for _ in range(args.rounds):
                for side, path in (("before", before_path), ("after", None)):
                    result = one_round(path, args.seconds)
                    where = result.pop("_tree")
                    expected = tree if side == "before" else ROOT
                    assert where.startswith(expected), (side, where)
                    rounds[side].append(result)
        finally:
            subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", tree],
                           check=True)
    print(f"before = {args.rev}, after = working tree; medians of {args.rounds} rounds\n")
    print("| figure | before | after | after / before | before / raw | after / raw |")
    print("|---|---|---|---|---|---|")
    for key in rounds["after"][0]:
        b = statistics.median(r[key] for r in rounds["before"])
        a = statistics.median(r[key] for r in rounds["after"])
        if key.endswith("MB/s"):  # not calls: no ratio to the ping-pong
            print(f"| {key} | {b:,.0f} | {a:,.0f} | {a / b:.2f}x | | |")
            continue
        rb = statistics.median(r[key] / r["raw ping-pong"] for r in rounds["before"])
        ra = statistics.median(r[key] / r["raw ping-pong"] for r in rounds["after"])
        print(f"| {key} | {b:,.0f} | {a:,.0f} | {a / b:.2f}x | {rb:.2f}x | {ra:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
