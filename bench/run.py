"""Run the benchmarks and print their tables (``hatch run bench``).

``--write`` also stores the output in bench/RESULTS.md; ``--quick`` uses
shorter timing rounds.  Every figure sits beside a baseline measured in the
same run, so the ratios are what to compare across machines.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def _pyon_section(quick: bool) -> str:
    import pyon_bench

    from sipyco import pyon

    accel = "with pybase64" if pyon.ACCELERATED else "standard library base64"
    out = [f"### PYON codec ({accel})", "", pyon_bench.report(pyon_bench.run(quick)), ""]
    out += ["Upstream's way of reading v1 (`eval`, unsafe) on the same texts, same run:", "",
            pyon_bench.report_eval(pyon_bench.run_eval(quick)), ""]
    return "\n".join(out)


def _rpc_section(quick: bool) -> str:
    import rpc_bench

    return "\n".join(["### pc_rpc (server in its own process)", "",
                      rpc_bench.report(rpc_bench.run(quick)), ""])


def _sync_section(quick: bool) -> str:
    import sync_bench

    return "\n".join(["### sync_struct (publisher in its own process, 10 subscribers)", "",
                      sync_bench.report(sync_bench.run(quick)), ""])


def _pyon_without_accelerator(quick: bool) -> str:
    # A fresh interpreter in which importing pybase64 fails, so the standard
    # library fallback is what gets measured.
    code = (f"import sys; sys.modules['pybase64'] = None; sys.path.insert(0, {HERE!r}); "
            f"import run; print(run._pyon_section({quick!r}))")
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                          text=True).stdout


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="also write bench/RESULTS.md")
    parser.add_argument("--quick", action="store_true", help="shorter timing rounds")
    args = parser.parse_args(argv)

    import numpy

    head = [
        "# Benchmark results",
        "",
        f"Run on {datetime.date.today().isoformat()} with Python {platform.python_version()}, "
        f"numpy {numpy.__version__}, on {platform.machine()} with {os.cpu_count()} CPUs.",
        "Rates are best-of-three; each ratio divides by the baseline from the same run.",
        "",
    ]
    body = [_pyon_section(args.quick), _pyon_without_accelerator(args.quick),
            _rpc_section(args.quick), _sync_section(args.quick)]
    text = "\n".join(head + body)
    print(text)
    if args.write:
        with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
