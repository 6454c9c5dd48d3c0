"""The PYON v1 reader beside ``json.loads``, shape by shape: no slow paths.

``hatch run v1-shapes [--size MIB] [--rounds N] [--shape NAME ...] [--list]``
(or ``python bench/v1_shapes.py ...`` with the environment's interpreter);
not part of ``hatch run bench``.  ``--list`` names the shapes; ``--shape``
takes a name (that shape alone) or part of one (every shape holding it).

The requirement measured: every shape the v1 reader accepts decodes within
2x the time and 1.5x the memory of the JSON reader on the same shape.  For
each shape the run builds a PYON v1 text of about ``--size`` MiB (default 4)
and the JSON text of the same items (the baseline): tuples become lists, a
set a list, int dict keys strings, ``\\x41`` escapes ``\\u0041`` ones, and
``b'abc'`` the string ``"abc"``.  JSON cannot spell a set or bytes, so for
those two shapes the baseline of the verdict is what a program reading JSON
must do to hold the same values: ``json.loads``, then ``set()`` of the list
(a set of half a million ints is itself twice the list's memory), or
``str.encode('latin-1')`` of each string (mapped, in C); ``json.loads`` alone
is printed beside it.  Then, in this one process:

* time: the best of ``--rounds`` (default 5) of ``pyon.decode_v1(text)``
  and of ``json.loads(json_text)``, alternating round by round, each after
  a ``gc.collect()``.  ``json.loads`` is called as a user calls it, with the
  cyclic collector on: that is the baseline of the verdict.  A third column,
  for information, times ``json.loads`` inside ``gc.disable()``: our reader
  pauses the collector for texts of 64 KiB and more (see
  ``sipyco/_pyon/gcpause.py``), which alone makes it faster than plain
  ``json.loads`` on shapes of many small containers; the gc-off column shows
  how the two readers compare without that advantage;
* memory: the tracemalloc peak of one decode of each (tracemalloc started,
  one decode, ``get_traced_memory()[1]``, tracemalloc stopped; the text
  itself is allocated before and not counted);
* the value: each reader's first result is compared with the value meant,
  built in Python (types included: a tuple is not a list, ``True`` not
  ``1``).  A wrong value is a FAIL whatever the time.

Verdict: PASS when time ratio (pyon / json.loads) <= 2 and memory ratio
<= 1.5 and the value is right, else FAIL.  Each shape prints one line as it
is measured, and a Markdown table closes the run, then a count of PASS and
FAIL.  The exit status is 0 either way: this is a measurement.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from selection import select

MiB = 1 << 20
MAX_TIME_RATIO = 2.0
MAX_MEMORY_RATIO = 1.5
DEEP = 250  # nesting of each deep-legal item (the v1 reader's max_depth is 256)


@dataclass
class Shape:
    """One shape at one size: the v1 text, its JSON equivalent, and the
    values each reader should return."""

    v1: str
    json: str
    value: Any
    json_value: Any
    # What a program reading JSON must do to the values json.loads returns
    # to hold the same values (a set, bytes), when JSON cannot spell them:
    # the baseline of the verdict is then json.loads and this.
    make: Callable[[Any], Any] | None = None
    make_name: str = ""


# -------------------------------------------------------------- shapes ---

def count(size: int, item: int, extra: int = 2) -> int:
    """How many items of ``item`` characters (separator included) fill
    ``size`` characters beside ``extra`` characters of brackets."""
    return max(1, (size - extra) // item)


def repeated(size: int, v1_item: str, json_item: str, value: Any, json_value: Any,
             sep: str = ", ", v1_brackets: str = "[]", json_brackets: str = "[]",
             build: Callable[[list], Any] = list) -> Shape:
    """The same item ``n`` times in a container, ``n`` filling ``size``."""
    n = count(size, len(v1_item) + len(sep))
    v1 = v1_brackets[0] + sep.join([v1_item] * n) + v1_brackets[1]
    js = json_brackets[0] + sep.join([json_item] * n) + json_brackets[1]
    return Shape(v1, js, build([value] * n), [json_value] * n)


def one_string(size: int, v1_unit: str, json_unit: str, char: str) -> Shape:
    """One double-quoted string of ``n`` copies of an escape (or character)."""
    n = count(size, len(v1_unit))
    return Shape('"' + v1_unit * n + '"', '"' + json_unit * n + '"', char * n, char * n)


def numbers(size: int, first: Callable[[int], Any], extra: int = 2) -> list:
    """``first(0), first(1), ...`` until their reprs, each with ``extra``
    characters more (a separator, a dict value), fill ``size``."""
    out, used, i = [], 2, 0
    while used < size or not out:
        x = first(i)
        out.append(x)
        used += len(repr(x)) + extra
        i += 1
    return out


def joined(items: list, brackets: str = "[]") -> str:
    return brackets[0] + ", ".join(map(repr, items)) + brackets[1]


def tuple_of_lists(size: int) -> Shape:
    return repeated(size, "[]", "[]", [], [], sep=",", v1_brackets="()", build=tuple)


def ints_tail_tuple(size: int) -> Shape:
    n = count(size, 3, extra=6)
    return Shape("[" + "12," * n + "(1,)]", "[" + "12," * n + "[1]]",
                 [12] * n + [(1,)], [12] * n + [[1]])


def tuples(size: int) -> Shape:
    return repeated(size, "(1, 2)", "[1, 2]", (1, 2), [1, 2])


def x41_escapes(size: int) -> Shape:
    return one_string(size, "\\x41", "\\u0041", "A")


def newline_escapes(size: int) -> Shape:
    return one_string(size, "\\n", "\\n", "\n")


def unicode_escapes(size: int) -> Shape:
    return one_string(size, "\\u00e9", "\\u00e9", "\u00e9")


def escaped_strings(size: int) -> Shape:
    return repeated(size, "'a\\tb'", '"a\\tb"', "a\tb", "a\tb")


def escaped_quotes(size: int) -> Shape:
    return repeated(size, "'a\\'b'", '"a\'b"', "a'b", "a'b")


def sq_strings(size: int) -> Shape:
    return repeated(size, "'abc'", '"abc"', "abc", "abc")


def dq_strings(size: int) -> Shape:
    return repeated(size, '"abc"', '"abc"', "abc", "abc")


def long_string(size: int) -> Shape:
    return one_string(size, "a", "a", "a")


def none_list(size: int) -> Shape:
    return repeated(size, "None", "null", None, None)


def bool_list(size: int) -> Shape:
    n = count(size, len("True, False, "))
    v1 = "[" + ", ".join(["True, False"] * n) + "]"
    js = "[" + ", ".join(["true, false"] * n) + "]"
    return Shape(v1, js, [True, False] * n, [True, False] * n)


def ints(size: int) -> Shape:
    items = numbers(size, int)
    return Shape(joined(items), joined(items), items, items)


def floats(size: int) -> Shape:
    items = numbers(size, lambda i: i + 0.5)
    return Shape(joined(items), joined(items), items, items)


def str_key_dicts(size: int) -> Shape:
    return repeated(size, "{'a': 1, 'b': 'x'}", '{"a": 1, "b": "x"}',
                    {"a": 1, "b": "x"}, {"a": 1, "b": "x"})


def int_key_dict(size: int) -> Shape:
    keys = numbers(size, int, extra=len(": 0, "))
    v1 = "{" + ", ".join(f"{k}: 0" for k in keys) + "}"
    js = "{" + ", ".join(f'"{k}": 0' for k in keys) + "}"
    return Shape(v1, js, dict.fromkeys(keys, 0), {str(k): 0 for k in keys})


def a_set(size: int) -> Shape:
    items = numbers(size, int)
    return Shape(joined(items, "{}"), joined(items), set(items), items, set, "set(...)")


def deep_legal(size: int) -> Shape:
    item = "[" * DEEP + "1" + "]" * DEEP
    value: Any = 1
    for _ in range(DEEP):
        value = [value]
    return repeated(size, item, item, value, value)


def encoded(strings: list) -> list:
    return list(map(str.encode, strings, repeat("latin-1")))


def bytes_list(size: int) -> Shape:
    shape = repeated(size, "b'abc'", '"abc"', b"abc", "abc")
    shape.make, shape.make_name = encoded, "each str.encode('latin-1')"
    return shape


SHAPES: dict[str, Callable[[int], Shape]] = {
    "tuple-of-lists": tuple_of_lists,
    "ints-tail-tuple": ints_tail_tuple,
    "tuples": tuples,
    "x41-escapes": x41_escapes,
    "newline-escapes": newline_escapes,
    "unicode-escapes": unicode_escapes,
    "escaped-strings": escaped_strings,
    "escaped-quotes": escaped_quotes,
    "sq-strings": sq_strings,
    "dq-strings": dq_strings,
    "long-string": long_string,
    "none-list": none_list,
    "bool-list": bool_list,
    "ints": ints,
    "floats": floats,
    "str-key-dicts": str_key_dicts,
    "int-key-dict": int_key_dict,
    "set": a_set,
    "deep-legal": deep_legal,
    "bytes": bytes_list,
}


# ------------------------------------------------------------- checking ---

def same(a: Any, b: Any) -> bool:
    """``a == b`` with the types of every part equal too (a tuple is not a
    list, ``True`` is not ``1``); iterative, for deep values."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, (list, tuple)):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif isinstance(x, dict):
            if len(x) != len(y) or list(map(type, x)) != list(map(type, y)):
                return False
            for key, item in x.items():
                if key not in y:
                    return False
                stack.append((item, y[key]))
        elif isinstance(x, (set, frozenset)):
            if x != y or {type(v) for v in x} != {type(v) for v in y}:
                return False
        elif x != y:
            return False
    return True


# ------------------------------------------------------------ measuring ---

def json_gc_off(text: str) -> Any:
    """``json.loads`` with the cyclic collector paused around it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return json.loads(text)
    finally:
        if enabled:
            gc.enable()


def timed(fn: Callable[[str], Any], text: str) -> float:
    gc.collect()
    t0 = time.perf_counter()
    value = fn(text)
    elapsed = time.perf_counter() - t0
    del value
    return elapsed


def traced_peak(fn: Callable[[str], Any], text: str) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        value = fn(text)
        peak = tracemalloc.get_traced_memory()[1]
        del value
    finally:
        tracemalloc.stop()
    return peak


def checked(fn: Callable[[str], Any], text: str, expected: Any) -> str:
    """'' when ``fn(text)`` returns ``expected``, else what went wrong."""
    try:
        value = fn(text)
    except Exception as exc:  # noqa: BLE001 - a refusal is a result here
        return f"raised {type(exc).__name__}: {str(exc)[:120]}"
    return "" if same(value, expected) else f"wrong value ({type(value).__name__})"


def measure(name: str, size: int, rounds: int) -> dict:
    from sipyco import pyon

    shape = SHAPES[name](size)
    row = {"shape": name, "bytes": len(shape.v1), "json_bytes": len(shape.json)}
    # the first call of each reader is the check (and a warm-up)
    row["pyon_error"] = checked(pyon.decode_v1, shape.v1, shape.value)
    row["json_error"] = checked(json.loads, shape.json, shape.json_value)
    shape.value = shape.json_value = None  # (not held while the readers are measured)
    if row["pyon_error"]:  # nothing to time: the reader refused the text
        return row
    readers = {"pyon": (pyon.decode_v1, shape.v1), "json": (json.loads, shape.json),
               "json_gc_off": (json_gc_off, shape.json)}
    make = shape.make
    if make is not None:
        row["make_name"] = shape.make_name
        readers["json_made"] = (lambda text: make(json.loads(text)), shape.json)
    best = dict.fromkeys(readers, float("inf"))
    for _ in range(rounds):
        for key, (fn, text) in readers.items():
            best[key] = min(best[key], timed(fn, text))
    row.update({key + "_s": seconds for key, seconds in best.items()})
    row["pyon_peak"] = traced_peak(pyon.decode_v1, shape.v1)
    row["json_peak"] = traced_peak(json.loads, shape.json)
    base = "json"
    if make is not None:
        row["json_made_peak"] = traced_peak(readers["json_made"][0], shape.json)
        base = "json_made"
    row["time_ratio"] = row["pyon_s"] / row[base + "_s"]
    row["memory_ratio"] = row["pyon_peak"] / row[base + "_peak"]
    return row


def verdict(row: dict) -> str:
    if row["pyon_error"]:
        return f"FAIL ({row['pyon_error']})"
    failed = []
    if row["time_ratio"] > MAX_TIME_RATIO:
        failed.append("time")
    if row["memory_ratio"] > MAX_MEMORY_RATIO:
        failed.append("memory")
    verdict = "FAIL (" + ", ".join(failed) + ")" if failed else "PASS"
    if row["json_error"]:
        verdict += f"; baseline json.loads {row['json_error']}"
    return verdict


# ------------------------------------------------------------ reporting ---

def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms"


def mib(nbytes: int) -> str:
    return f"{nbytes / MiB:,.2f} MiB"


def line(row: dict) -> str:
    head = f"{row['shape']}: v1 {mib(row['bytes'])}, JSON {mib(row['json_bytes'])}"
    if row["pyon_error"]:
        return f"{head}; pyon.decode_v1 {row['pyon_error']} -> {verdict(row)}"
    return (f"{head}; pyon.decode_v1 {ms(row['pyon_s'])} peak {mib(row['pyon_peak'])}, "
            f"json.loads {ms(row['json_s'])} peak {mib(row['json_peak'])}, "
            f"gc off {ms(row['json_gc_off_s'])}{made(row)}; time x{row['time_ratio']:.2f}, "
            f"memory x{row['memory_ratio']:.2f} -> {verdict(row)}")


def made(row: dict) -> str:
    """The baseline with the values made, where there is one."""
    if "make_name" not in row:
        return ""
    return (f"; baseline json.loads then {row['make_name']}: {ms(row['json_made_s'])}, "
            f"{mib(row['json_made_peak'])}")


def markdown(rows: list[dict]) -> str:
    lines = [
        "| shape | v1 bytes | pyon.decode_v1 | json.loads | json.loads, gc off "
        "| time ratio | memory ratio | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["pyon_error"]:
            lines.append(f"| {r['shape']} | {r['bytes']:,} | - | - | - | - | - | {verdict(r)} |")
            continue
        lines.append(
            f"| {r['shape']} | {r['bytes']:,} | {ms(r['pyon_s'])}, {mib(r['pyon_peak'])} | "
            f"{ms(r['json_s'])}, {mib(r['json_peak'])}{made(r).replace(';', ';<br>')} | "
            f"{ms(r['json_gc_off_s'])} | "
            f"{r['time_ratio']:.2f}x | {r['memory_ratio']:.2f}x | {verdict(r)} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=float, default=4.0,
                        help="MiB of v1 text per shape (0.25 for a quick run)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds; the best counts")
    parser.add_argument("--shape", action="extend", nargs="+", metavar="NAME",
                        help="run only shapes whose name contains this (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the shapes and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(SHAPES))
        return 0
    if args.size <= 0 or args.rounds < 1:
        parser.error("--size must be positive and --rounds at least 1")
    names = select(list(SHAPES), args.shape, "shape")

    import numpy

    from sipyco._pyon import b64

    print(f"# PYON v1 reader beside json.loads: Python {platform.python_version()}, "
          f"numpy {numpy.__version__}, sipyco._pyon.b64.ACCELERATED {b64.ACCELERATED}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"{args.size:g} MiB per shape, best of {args.rounds} rounds; PASS: time "
          f"<= {MAX_TIME_RATIO:g}x and memory <= {MAX_MEMORY_RATIO:g}x json.loads", flush=True)
    size = int(args.size * MiB)
    rows = []
    t_start = time.monotonic()
    for name in names:
        row = measure(name, size, args.rounds)
        print(line(row), flush=True)
        rows.append(row)
    print(f"\n({time.monotonic() - t_start:.0f} s)\n")
    print(markdown(rows))
    passed = sum(verdict(r) == "PASS" or verdict(r).startswith("PASS;") for r in rows)
    print(f"\n{passed} PASS, {len(rows) - passed} FAIL of {len(rows)} shapes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
