"""A two-minute tour of sipyco.pyon: what the wire text looks like, that both
versions read back exactly, and that hostile text is refused, not run."""

from __future__ import annotations

import os
import tempfile
from collections import OrderedDict
from fractions import Fraction

import numpy

from sipyco import pyon


def show(title: str, text: str) -> None:
    print(f"{title}:\n    {text}\n")


def main() -> int:
    reading = {
        "channel": 3,
        "label": "ion trap \u2192 PMT",
        "gate": (1e-6, 2.5e-6),
        "counts": numpy.array([12, 15, 9], dtype=numpy.int32),
        "gain": numpy.float32(0.75),
        "ratio": Fraction(3, 4),
        "flags": {"locked", "armed"},
        "order": OrderedDict([("x", 0), ("y", 1)]),
        (0, 1): 1 - 2j,
    }

    v1 = pyon.encode(reading)
    v2 = pyon.encode_v2(reading)
    show("PYON v1 (what sipyco 1.8 peers speak)", v1)
    show("PYON v2 (JSON, what sipyco 1.10 peers negotiate)", v2)

    for name, text in (("v1", v1), ("v2", v2)):
        back = pyon.decode(text)
        same = (back.keys() == reading.keys()
                and all(numpy.array_equal(back[k], reading[k]) if isinstance(reading[k],
                        numpy.ndarray) else back[k] == reading[k] for k in reading)
                and type(back["gate"]) is tuple and back["counts"].dtype == numpy.int32)
        print(f"decode({name}) gives back the same value, types included: {same}")
    print()

    print("Hostile text is refused without being evaluated:")
    for text in ('__import__("os").system("echo pwned")',
                 '().__class__.__bases__[0].__subclasses__()',
                 '9 ** 9 ** 9 ** 9',
                 '{"__jsonclass__": ["os.system", ["echo pwned"]]}'):
        try:
            pyon.decode(text)
            print(f"    ACCEPTED?! {text}")
            return 1
        except ValueError as exc:
            print(f"    {text[:45]:<47} -> {exc}")
    print()

    try:
        pyon.encode({"data": [1, 2, numpy.array([object()])]})
    except TypeError as exc:
        print(f"Encoding errors say what and where:\n    {exc}\n")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dataset.pyon")
        pyon.store_file(path, {"frequency": 1.5e8, "enabled": True, "trace": numpy.arange(3.0)})
        with open(path) as f:
            print(f"store_file() writes atomically, in pretty v1:\n{f.read()}")
        assert pyon.load_file(path)["frequency"] == 1.5e8
    print("pybase64 accelerator in use:", pyon.ACCELERATED)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
