"""Payloads shared by the benchmarks (deterministic, so runs compare)."""

from __future__ import annotations

import numpy


def mixed_dataset() -> dict:
    """A 195-key dict mixing everything a lab dataset holds: floats, ints,
    bools, None, strings, tuples, lists, dicts with non-str keys, complex
    numbers, 16-element float arrays and numpy scalars (15 keys of each)."""
    rng = numpy.random.default_rng(1234)
    makers = [
        lambda i: float(rng.normal()),
        lambda i: int(rng.integers(-10**9, 10**9)),
        lambda i: bool(i % 2),
        lambda i: None,
        lambda i: f"channel {i}: ok",
        lambda i: (i, float(i) / 3, f"t{i}"),
        lambda i: [float(v) for v in rng.normal(size=8)],
        lambda i: {i: "a", (i, i + 1): "b", 2.5: [i]},
        lambda i: complex(rng.normal(), rng.normal()),
        lambda i: rng.normal(size=16),
        lambda i: numpy.float64(rng.normal()),
        lambda i: numpy.int32(i),
        lambda i: {"nested": {"x": i, "y": [True, None]}},
    ]
    data = {}
    for i in range(195):
        data[f"key_{i:03d}"] = makers[i % len(makers)](i)
    return data


def float_list(n: int = 10_000) -> list:
    rng = numpy.random.default_rng(99)
    return [float(v) for v in rng.normal(size=n)]


def big_array(mib: int = 8) -> numpy.ndarray:
    rng = numpy.random.default_rng(7)
    return rng.normal(size=mib * (1 << 20) // 8)
