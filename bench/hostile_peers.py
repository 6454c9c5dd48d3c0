"""Child processes and hostile texts for bench/hostile.py.

``python hostile_peers.py MODE ...`` runs one of:

* ``rpc-server CAP_MIB MAX_MESSAGE_SIZE MAX_BUFFERED_BYTES [OFFLOAD_OVER]``:
  a pc_rpc Server with an ``echo`` target (offering PYON v2; a client that
  does not ask for it gets v1), started with ``offload_over=OFFLOAD_OVER``
  when it is given (an int, or ``none`` for None), with the Server's
  default otherwise;
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
import itertools
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


def _colliding_keys(scale: float, n: int | None = None) -> list[int]:
    if n is None:
        n = max(100, round(60_000 * scale))
    # n keys sharing the hash 7, and n distinct small ones (none of them 7)
    return [k * M61 + 7 for k in range(1, n + 1)] + list(range(8, 8 + n))


def _hash_dict_v1(scale: float, n: int | None = None) -> Texts:
    keys = _colliding_keys(scale, n)
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


# ------------------------------------------------------ the stall texts ---

#: What bench/hostile.py's request_line puts around a value's text (the
#: whole line, newline included), by codec version.
CALL_AROUND = {2: len('{"action":"call","name":"echo","args":[],"kwargs":{}}\n'),
               1: len('{"action": "call", "name": "echo", "args": [], "kwargs": {}}\n')}
STALL_BYTES = 4 * MiB  # upstream's whole message limit


def stall_bytes(scale: float) -> int:
    """Most bytes a stall row's request line takes: just under 4 MiB at
    scale 1 (and never under 4 KiB)."""
    return max(4096, round(STALL_BYTES * scale)) - 1


def _room(scale: float, version: int) -> int:
    """Characters left for the value in a stall row's request line."""
    return stall_bytes(scale) - CALL_AROUND[version]


def _uniform(room: int, head: str, item: str, sep: str, tail: str) -> tuple[str, int]:
    """head + n copies of item joined by sep + tail, with the largest n
    (at least 2) that fits in room characters; and n."""
    n = max(2, (room - len(head) - len(tail) + len(sep)) // (len(item) + len(sep)))
    return head + sep.join([item] * n) + tail, n


def _distinct(room: int, head: str, items, sep: str, tail: str) -> tuple[str, int]:
    """head + as many of the iterable items (texts) as fit in room
    characters, joined by sep, + tail; and how many (at least 2)."""
    parts, used = [], len(head) + len(tail) - len(sep)
    for item in items:
        used += len(sep) + len(item)
        if used > room and len(parts) >= 2:
            break
        parts.append(item)
    return head + sep.join(parts) + tail, len(parts)


def _stall_list(scale: float, version: int, item: str, sep: str, value: Any,
                what: str) -> Texts:
    """A list of one repeated item; checked as n copies of value."""
    text, n = _uniform(_room(scale, version), "[", item, sep, "]")
    return Texts(text, version, text if version == 2 else None,
                 f"{what}, {n:,} items",
                 lambda x: isinstance(x, list) and len(x) == n and
                 all(type(v) is type(value) and v == value for v in x))


def _stall_tuple_of_lists(scale: float) -> Texts:
    text, n = _uniform(_room(scale, 1), "(", "[]", ",", ")")
    return Texts(text, 1, None, f"v1 ([],[],...), {n:,} items",
                 lambda x: isinstance(x, tuple) and len(x) == n and
                 all(v == [] for v in x))


def _stall_x41(scale: float) -> Texts:
    text, n = _uniform(_room(scale, 1), '"', "\\x41", "", '"')
    return Texts(text, 1, None, f"v1 string of {n:,} \\x41 escapes",
                 lambda x: x == "A" * n)


def _stall_int_key_dict(scale: float) -> Texts:
    text, n = _distinct(_room(scale, 1), "{", (f"{i}: 0" for i in itertools.count()),
                        ", ", "}")
    return Texts(text, 1, None, f"v1 dict of {n:,} distinct int keys",
                 lambda x: isinstance(x, dict) and len(x) == n and
                 all(type(k) is int for k in x) and not any(x.values()))


def _stall_str_key_dict(scale: float) -> Texts:
    text, n = _distinct(_room(scale, 2), "{", (f'"{i}":0' for i in itertools.count()),
                        ",", "}")
    return Texts(text, 2, text, f"dict of {n:,} distinct string keys",
                 lambda x: isinstance(x, dict) and len(x) == n and not any(x.values()))


def _stall_set(scale: float) -> Texts:
    text, n = _distinct(_room(scale, 1), "{", map(str, itertools.count()), ", ", "}")
    return Texts(text, 1, None, f"v1 set of {n:,} distinct ints",
                 lambda x: isinstance(x, set) and x == set(range(n)))


def _stall_ints_tail_tuple(scale: float) -> Texts:
    text, n = _uniform(_room(scale, 1), "[", "12", ",", ",(1,)]")
    return Texts(text, 1, None, f"v1 [12,12,...,(1,)], {n + 1:,} items",
                 lambda x: isinstance(x, list) and len(x) == n + 1 and x[-1] == (1,)
                 and x.count(12) == n)


def _stall_hash_dict(scale: float) -> Texts:
    """_hash_dict_v1 with as many key pairs as fit (a colliding key and a
    small one each)."""
    room = _room(scale, 1)
    used, n = 0, 0  # "{" and "}" make up for the ", " the last key goes without
    while True:
        pair = len(str((n + 1) * M61 + 7)) + len(str(8 + n)) + 2 * len(": 0, ")
        if used + pair > room and n >= 1:
            break
        used += pair
        n += 1
    return _hash_dict_v1(scale, n)


#: row name -> function of the scale giving the row's Texts (table C): each
#: value's whole request line just under 4 MiB at scale 1.
STALL_TEXTS: dict[str, Callable[[float], Texts]] = {
    "stall-empty-lists": lambda s: _stall_list(s, 2, "[]", ",", [], "[[],[],...]"),
    "stall-tuple-of-lists-v1": _stall_tuple_of_lists,
    "stall-empty-dicts": lambda s: _stall_list(s, 2, "{}", ",", {}, "[{},{},...]"),
    "stall-ints": lambda s: _stall_list(s, 2, "0", ",", 0, "[0,0,...]"),
    "stall-floats": lambda s: _stall_list(s, 2, "0.5", ",", 0.5, "[0.5,0.5,...]"),
    "stall-none-v1": lambda s: _stall_list(s, 1, "None", ", ", None, "v1 [None, None, ...]"),
    "stall-sq-strings-v1": lambda s: _stall_list(s, 1, "''", ", ", "", "v1 ['', '', ...]"),
    "stall-x41-v1": _stall_x41,
    "stall-int-key-dict-v1": _stall_int_key_dict,
    "stall-str-key-dict": _stall_str_key_dict,
    "stall-set-v1": _stall_set,
    "stall-ints-tail-tuple-v1": _stall_ints_tail_tuple,
    "stall-hash-dict-v1": _stall_hash_dict,
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


def rpc_server(cap_mib: int, max_message_size: int, max_buffered_bytes: int,
               offload_over: str | None = None) -> None:
    """``offload_over``: the argument as given (an int's text, or ``none``);
    None leaves the Server's default."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s:%(name)s:%(message)s")
    from sipyco.pc_rpc import Server

    options = {}
    if offload_over is not None:
        options["offload_over"] = None if offload_over == "none" else int(offload_over)
    cap_address_space(cap_mib)
    _serve(lambda: Server({"echo": Echo()}, max_message_size=max_message_size,
                          max_buffered_bytes=max_buffered_bytes, **options))


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
        rpc_server(int(args[0]), int(args[1]), int(args[2]), *args[3:4])
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
