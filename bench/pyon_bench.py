"""PYON codec throughput beside pickle on the same payloads, in one run."""

from __future__ import annotations

import pickle
import time

from datasets import big_array, float_list, mixed_dataset
from eval_baseline import eval_decode

from sipyco import pyon


def rate(fn, min_time: float = 0.5, min_runs: int = 3) -> float:
    """Calls per second: repeat ``fn`` for at least ``min_time`` seconds and
    keep the best of three such rounds (the least disturbed by the machine)."""
    fn()
    best = 0.0
    for _ in range(3):
        runs = 0
        start = time.perf_counter()
        while True:
            fn()
            runs += 1
            elapsed = time.perf_counter() - start
            if runs >= min_runs and elapsed >= min_time:
                break
        best = max(best, runs / elapsed)
    return best


def payloads():
    return [
        ("mixed 195-key dict", mixed_dataset(), None),
        ("10,000 floats", float_list(), None),
        ("8 MiB float64 array", big_array(), 8 * (1 << 20)),
    ]


def run(quick: bool = False) -> list[dict]:
    t = 0.2 if quick else 0.5
    rows = []
    for label, value, nbytes in payloads():
        pk = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        base_enc = rate(lambda v=value: pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL), t)
        base_dec = rate(lambda p=pk: pickle.loads(p), t)
        for version, enc in (("v1", pyon.encode), ("v2", pyon.encode_v2)):
            text = enc(value)
            e = rate(lambda f=enc, v=value: f(v), t)
            d = rate(lambda s=text: pyon.decode(s), t)
            rows.append(dict(payload=label, version=version, nbytes=nbytes,
                             encode=e, decode=d, pickle_encode=base_enc, pickle_decode=base_dec))
    return rows


def fmt_rate(r: float, nbytes) -> str:
    if nbytes:
        return f"{r * nbytes / 1e6:,.0f} MB/s"
    return f"{r:,.0f}/s"


def report(rows: list[dict]) -> str:
    lines = [
        "| payload | codec | encode | pickle encode | ratio | decode | pickle decode | ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        n = r["nbytes"]
        lines.append(
            f"| {r['payload']} | {r['version']} | {fmt_rate(r['encode'], n)} | "
            f"{fmt_rate(r['pickle_encode'], n)} | {r['encode'] / r['pickle_encode']:.4f}x | "
            f"{fmt_rate(r['decode'], n)} | {fmt_rate(r['pickle_decode'], n)} | "
            f"{r['decode'] / r['pickle_decode']:.4f}x |")
    return "\n".join(lines)


def run_eval(quick: bool = False) -> list[dict]:
    """Our v1 reader beside an eval-based reader (upstream's approach)."""
    t = 0.2 if quick else 0.5
    rows = []
    for label, value, nbytes in payloads():
        text = pyon.encode(value)
        ours = rate(lambda s=text: pyon.decode(s), t)
        theirs = rate(lambda s=text: eval_decode(s), t)
        rows.append(dict(payload=label, nbytes=nbytes, ours=ours, eval=theirs))
    return rows


def report_eval(rows: list[dict]) -> str:
    lines = ["| payload | our v1 decode | eval decode | ours / eval |", "|---|---|---|---|"]
    for r in rows:
        n = r["nbytes"]
        lines.append(f"| {r['payload']} | {fmt_rate(r['ours'], n)} | {fmt_rate(r['eval'], n)} | "
                     f"{r['ours'] / r['eval']:.2f}x |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
