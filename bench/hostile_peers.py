"""Child processes and hostile texts for bench/hostile.py.

``python hostile_peers.py MODE ...`` runs one of:

* ``rpc-server CAP_MIB MAX_MESSAGE_SIZE MAX_BUFFERED_BYTES``: a pc_rpc
  Server with an ``echo`` target (offering PYON v2; a client that does not
  ask for it gets v1);
* ``echoer PORT TIMEOUT``: a Client calling ``echo`` in a loop, timing each
  call; ``stop`` on stdin makes it print every (start, duration) as JSON;
* ``decode ROW SCALE CAP_MIB``: ``pyon.decode`` of one row's text alone, and
  ``json.loads`` of its JSON-shaped equivalent, timed and under tracemalloc;
  prints the figures as JSON;
* ``log-server``: a logging_tools.Server whose root logger counts what it
  re-emits (``stats`` on stdin prints the counts as JSON);
* ``log-forwarder PORT``: a LogForwarder to 127.0.0.1:PORT logging a
  ``tick`` record every 0.2 s;
* ``publisher MEGABYTES``: a sync_struct Publisher of notifier ``bench``
  holding about MEGABYTES of strings (``stats`` on stdin: its subscribers).

Every server prints ``port N`` once it listens; each child stops when its
stdin closes (and is killed by the parent in any case).  Children that take
hostile input first cap their address space (RLIMIT_AS) at what they use
after start-up plus CAP_MIB, so an accepted request cannot take the machine
down.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
import json
import logging
import os
import resource
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MiB = 1 << 20
M61 = (1 << 61) - 1   # CPython's int hash is taken modulo this prime


# ----------------------------------------------------------- the texts ---

@dataclass
class Texts:
    """One hostile value as text, and what it is measured against."""

    value: str                  # the PYON text of the value
    version: int                # the pc_rpc codec to select (1 or 2)
    json: str | None            # its JSON-shaped equivalent (the baseline), if any
    what: str                   # a short description
    check: Callable[[Any], bool] | None = None  # decoded value is what was sent
    cheap_to_decode: bool = True  # safe for the parent to decode a reply (no collisions)
    small_reply: bool = False     # its exact echo is tiny: a large reply is a different value


def _nparray(shape, dtype_v1: str, dtype_v2: str, version: int, what: str) -> Texts:
    import numpy

    dims = ",".join(map(str, shape))
    if version == 1:
        value = f'nparray(({", ".join(map(str, shape))}), {dtype_v1}, b"")'
    else:
        value = '{"__jsonclass__":["nparray",[[' + dims + "]," + dtype_v2 + ',""]]}'
    spec = json.loads(dtype_v2)
    if isinstance(spec, list):  # fields: (name, type, shape)
        spec = [(name, kind, tuple(sub)) for name, kind, sub in spec]
    dtype = numpy.dtype(spec)

    def check(x):
        return isinstance(x, numpy.ndarray) and x.shape == tuple(shape) and x.dtype == dtype
    return Texts(value, version, "[[" + dims + "]," + dtype_v2 + ',""]', what, check,
                 small_reply=True)


def _colliding_keys(scale: float) -> list[int]:
    n = max(100, round(60_000 * scale))
    # n keys sharing the hash 7, and n distinct small ones (none of them 7)
    return [k * M61 + 7 for k in range(1, n + 1)] + list(range(8, 8 + n))


def _hash_dict_v1(scale: float) -> Texts:
    keys = _colliding_keys(scale)
    value = "{" + ", ".join(f"{k}: 0" for k in keys) + "}"
    baseline = "{" + ", ".join(f'"{k}": 0' for k in keys) + "}"
    n = len(keys)
    return Texts(value, 1, baseline,
                 f"dict, {n // 2:,} int keys of one hash + {n // 2:,} others",
                 lambda x: isinstance(x, dict) and len(x) == n, cheap_to_decode=False)


def _hash_set(scale: float, version: int) -> Texts:
    keys = _colliding_keys(scale)
    n = len(keys)
    if version == 2:
        value = '{"__jsonclass__":["set",[[' + ",".join(map(str, keys)) + "]]]}"
        baseline = "[" + ",".join(map(str, keys)) + "]"
    else:
        value = "{" + ", ".join(map(str, keys)) + "}"
        baseline = "[" + ", ".join(map(str, keys)) + "]"
    return Texts(value, version, baseline,
                 f"set, {n // 2:,} ints of one hash + {n // 2:,} others",
                 lambda x: isinstance(x, set) and len(x) == n, cheap_to_decode=False)


def _count(base: int, scale: float) -> int:
    return max(2, round(base * scale))


def _tuple_of_lists(scale: float) -> Texts:
    n = _count(5_000_000, scale)
    return Texts("(" + "[]," * (n - 1) + "[])", 1, "[" + "[]," * (n - 1) + "[]]",
                 f"v1 ([],[],...), {n:,} items",
                 lambda x: isinstance(x, tuple) and len(x) == n)


def _ints_tail_tuple(scale: float) -> Texts:
    n = _count(5_000_000, scale)
    return Texts("[" + "12," * (n - 1) + "(1,)]", 1, "[" + "12," * (n - 1) + "[1]]",
                 f"v1 [12,12,...,(1,)], {n:,} items",
                 lambda x: isinstance(x, list) and len(x) == n and x[-1] == (1,))


def _x41_escapes(scale: float) -> Texts:
    n = _count(10_000_000, scale)
    return Texts('"' + "\\x41" * n + '"', 1, '"' + "\\u0041" * n + '"',
                 f"v1 string of {n:,} \\x41 escapes",
                 lambda x: isinstance(x, str) and len(x) == n)


def _empty_lists(scale: float) -> Texts:
    n = _count(10_000_000, scale)
    text = "[" + "[]," * (n - 1) + "[]]"
    return Texts(text, 2, text, f"[[],[],...], {n:,} items",
                 lambda x: isinstance(x, list) and len(x) == n)


_SUBARRAY_V1 = '[("a", "<i4", (0,))]'
_SUBARRAY_V2 = '[["a","<i4",[0]]]'

#: row name -> function of the scale giving the row's Texts (table A).
TEXTS: dict[str, Callable[[float], Texts]] = {
    "nparray-S0-1e5x1e3-v1": lambda s: _nparray((100_000, 1000), '"|S0"', '"|S0"', 1,
                                                '|S0 array (100000, 1000)'),
    "nparray-S0-1e5x1e3-v2": lambda s: _nparray((100_000, 1000), '"|S0"', '"|S0"', 2,
                                                '|S0 array (100000, 1000)'),
    "nparray-S0-1e5x1e5-v1": lambda s: _nparray((100_000, 100_000), '"|S0"', '"|S0"', 1,
                                                '|S0 array (100000, 100000)'),
    "nparray-S0-1e5x1e5-v2": lambda s: _nparray((100_000, 100_000), '"|S0"', '"|S0"', 2,
                                                '|S0 array (100000, 100000)'),
    "subarray-0-1e9x1e9-v1": lambda s: _nparray((10**9, 10**9), _SUBARRAY_V1, _SUBARRAY_V2,
                                                1, "zero-size subarray field, (1e9, 1e9)"),
    "subarray-0-1e9x1e9-v2": lambda s: _nparray((10**9, 10**9), _SUBARRAY_V1, _SUBARRAY_V2,
                                                2, "zero-size subarray field, (1e9, 1e9)"),
    "hash-dict-v1": _hash_dict_v1,
    "hash-set-v2": lambda s: _hash_set(s, 2),
    "hash-set-v1": lambda s: _hash_set(s, 1),
    "tuple-of-lists-v1": _tuple_of_lists,
    "ints-tail-tuple-v1": _ints_tail_tuple,
    "x41-escapes-v1": _x41_escapes,
    "empty-lists-echo": _empty_lists,
}


# ----------------------------------------------------------- utilities ---

def status_of(pid: int | str, field: str) -> int | None:
    """A ``/proc/PID/status`` memory field in bytes (None if unreadable)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def cap_address_space(cap_mib: int) -> int:
    """Limit this process's address space to what it maps now plus
    ``cap_mib`` MiB; returns the limit in bytes."""
    limit = (status_of("self", "VmSize") or 0) + cap_mib * MiB
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    return limit


def _control(loop: asyncio.AbstractEventLoop, stop: asyncio.Event,
             commands: dict[str, Callable[[], Any]]) -> None:
    """Answer commands on stdin (one JSON line each, computed on the loop);
    set ``stop`` when stdin closes."""
    async def run(fn):
        return fn()

    for line in sys.stdin:
        fn = commands.get(line.strip())
        if fn is None:
            continue
        try:
            answer = asyncio.run_coroutine_threadsafe(run(fn), loop).result(30)
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            answer = {"error": repr(exc)}
        print(json.dumps(answer), flush=True)
    loop.call_soon_threadsafe(stop.set)


def _serve(make_server, commands=None, start_args=("127.0.0.1", 0)) -> None:
    async def main():
        server = make_server()
        await server.start(*start_args)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        threading.Thread(target=_control, args=(loop, stop, dict(commands or {})),
                         daemon=True).start()
        print(f"port {server.port}", flush=True)
        await stop.wait()
        await server.stop()

    asyncio.run(main())


# ------------------------------------------------------------ children ---

class Echo:
    def echo(self, value):
        return value


def rpc_server(cap_mib: int, max_message_size: int, max_buffered_bytes: int) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s:%(name)s:%(message)s")
    from sipyco.pc_rpc import Server

    cap_address_space(cap_mib)
    _serve(lambda: Server({"echo": Echo()}, max_message_size=max_message_size,
                          max_buffered_bytes=max_buffered_bytes))


def echoer(port: int, timeout: float) -> None:
    """Call echo in a loop until ``stop``; then print the timings."""
    from sipyco.pc_rpc import Client

    client = Client("127.0.0.1", port, "echo", timeout=timeout)
    samples: list[tuple[float, float]] = []
    state = {"start": None, "error": None}
    stop = threading.Event()

    def loop():
        i = 0
        while not stop.is_set():
            value = [i, "payload"]
            t0 = state["start"] = time.monotonic()
            try:
                reply = client.echo(value)
            except Exception as exc:  # noqa: BLE001 - reported
                state["error"] = f"{type(exc).__name__}: {exc}"
                state["start"] = None
                return
            samples.append((t0, time.monotonic() - t0))
            state["start"] = None
            if reply != value:
                state["error"] = "wrong reply"
                return
            i += 1

    worker = threading.Thread(target=loop, daemon=True)
    worker.start()
    print("ready", flush=True)
    sys.stdin.readline()
    stop.set()
    now = time.monotonic()
    started = state["start"]
    in_flight = None if started is None else (started, now - started)
    print(json.dumps({"samples": samples, "in_flight": in_flight, "error": state["error"]}),
          flush=True)
    os._exit(0)  # the worker may be stuck in a call: do not wait for it


def _classify(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, MemoryError) or "Unable to allocate" in text:
        return "capped: " + text
    if isinstance(exc, ValueError):
        return "refused: " + text
    return "error: " + text


def _timed(fn, text, rounds: int) -> tuple[str, float, Any]:
    best, outcome, value = None, "", None
    for _ in range(rounds):
        value = None
        gc.collect()
        t0 = time.perf_counter()
        try:
            value = fn(text)
            outcome = "decoded"
        except Exception as exc:  # noqa: BLE001 - the outcome being measured
            outcome = _classify(exc)
        elapsed = time.perf_counter() - t0
        best = elapsed if best is None else min(best, elapsed)
        if elapsed > 20:
            break
    return outcome, best, value


def _traced_peak(fn, text) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        try:
            value = fn(text)
        except Exception:  # noqa: BLE001 - only the memory is measured here
            value = None
        peak = tracemalloc.get_traced_memory()[1]
        del value
    finally:
        tracemalloc.stop()
    return peak


def _measure(decode, texts: Texts, rounds: int) -> dict:
    outcome, seconds, value = _timed(decode, texts.value, rounds)
    if outcome == "decoded" and texts.check is not None:
        outcome = "decoded, equal" if texts.check(value) else \
            f"decoded, different ({_describe(value)})"
    del value
    figures = {"outcome": outcome, "seconds": seconds}
    if seconds < 60:  # (a slower decode is not run again under tracemalloc)
        figures["peak"] = _traced_peak(decode, texts.value)
    return figures


def decode_alone(row: str, scale: float, cap_mib: int) -> None:
    """Print the figures of ``pyon.decode`` on the row's text and of
    ``json.loads`` on its JSON-shaped equivalent.  When pyon refuses the
    text for holding more than ``max_items`` values, and its ``decode``
    takes that keyword, it is measured once more with the limit raised."""
    from sipyco import pyon

    texts = TEXTS[row](scale)
    cap_address_space(cap_mib)
    rounds = 3 if len(texts.value) < MiB else 1
    result = {"bytes": len(texts.value), "json_bytes": len(texts.json or "")}
    result["pyon"] = _measure(pyon.decode, texts, rounds)
    if "max_items=" in result["pyon"]["outcome"] and \
            "max_items" in inspect.signature(pyon.decode).parameters:
        limit = len(texts.value) + 1  # every value takes at least one character
        result["pyon_raised"] = _measure(functools.partial(pyon.decode, max_items=limit),
                                         texts, rounds)
        result["pyon_raised"]["max_items"] = limit
    if texts.json is not None:
        j_outcome, j_seconds, _ = _timed(json.loads, texts.json, rounds)
        result["json"] = {"outcome": j_outcome, "seconds": j_seconds,
                          "peak": _traced_peak(json.loads, texts.json)}
    print(json.dumps(result), flush=True)


def _describe(value) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"{type(value).__name__} {shape} {value.dtype.str}, {value.nbytes:,} bytes"
    try:
        return f"{type(value).__name__} of {len(value):,}"
    except TypeError:
        return type(value).__name__


class _Counting(logging.Handler):
    """What the log server re-emits: counts per source, probe delays, and
    the server's own warnings."""

    def __init__(self):
        super().__init__(level=1)
        self.by_source: dict[str, int] = {}
        self.delays: list[float] = []
        self.warnings: list[str] = []

    def emit(self, record):
        source = getattr(record, "source", None)
        if source is None:
            if record.levelno >= logging.WARNING:
                self.warnings.append(record.getMessage()[:300])
                del self.warnings[:-5]
            return
        self.by_source[source] = self.by_source.get(source, 0) + 1
        if source == "probe":
            try:
                self.delays.append(record.created - float(record.getMessage()))
            except ValueError:
                pass


def log_server() -> None:
    from sipyco.logging_tools import Server

    handler = _Counting()
    root = logging.getLogger()
    root.setLevel(1)
    root.addHandler(handler)

    def stats():
        return {"by_source": handler.by_source, "delays": handler.delays,
                "warnings": handler.warnings,
                "loggers": len(logging.root.manager.loggerDict)}

    _serve(Server, {"stats": stats})


def log_forwarder(port: int) -> None:
    from sipyco.logging_tools import LogForwarder

    async def main():
        fwd = LogForwarder("127.0.0.1", port, reconnect_timer=0.2, source="fwd")
        log = logging.getLogger("hostile.forwarder")
        log.setLevel(logging.INFO)
        log.propagate = False
        log.addHandler(fwd)
        fwd.start()
        print("ready", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        threading.Thread(target=_control, args=(loop, stop, {}), daemon=True).start()
        i = 0
        while not stop.is_set():
            log.info("tick %d", i)
            i += 1
            try:
                await asyncio.wait_for(stop.wait(), 0.2)
            except asyncio.TimeoutError:
                pass
        await fwd.stop()

    asyncio.run(main())


def publisher(megabytes: float) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s:%(name)s:%(message)s")
    from sipyco.sync_struct import Notifier, Publisher

    count = max(1, round(megabytes))
    size = round(megabytes * 1_000_000 / count)
    struct = {f"k{i:03d}": chr(ord("a") + i % 26) * size for i in range(count)}
    pub = Publisher({"bench": Notifier(struct)})

    def stats():
        subs = pub._subscriptions["bench"]
        return {"subscribers": len(subs), "buffered": pub.buffered_bytes,
                "peak": pub._shared.peak}

    _serve(lambda: pub, {"stats": stats})


def main(argv: list[str]) -> None:
    mode, args = argv[0], argv[1:]
    if mode == "rpc-server":
        rpc_server(int(args[0]), int(args[1]), int(args[2]))
    elif mode == "echoer":
        echoer(int(args[0]), float(args[1]))
    elif mode == "decode":
        decode_alone(args[0], float(args[1]), int(args[2]))
    elif mode == "log-server":
        log_server()
    elif mode == "log-forwarder":
        log_forwarder(int(args[0]))
    elif mode == "publisher":
        publisher(float(args[0]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
