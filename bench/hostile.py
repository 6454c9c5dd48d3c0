"""Hostile inputs: what each costs the library as it is when this runs.

``hatch run hostile [--scale S] [--row NAME ...] [--rpc-only | --decode-only |
--stalls]`` (or ``python bench/hostile.py ...`` with the environment's
interpreter); not part of ``hatch run bench``.  ``--list`` names the rows;
``--row`` takes a name (that row alone) or part of one (every row holding it).

Table A sends each hostile value to a pc_rpc server in a process of its own
(``echo(value)`` on loopback, with its address space capped by RLIMIT_AS at
start-up use + ``--cap`` MiB, so that an accepted value cannot take the
machine down), while a second client process calls ``echo`` in a loop.  It
records the outcome (refused, and with which error; accepted, and whether
the value came back as sent; no reply; the server dead), the server's peak
RSS growth (VmHWM after resetting it through /proc/PID/clear_refs, and
VmRSS sampled every 10 ms), the wall time until the reply, and the other
client's echo latency p50/p99/max while the hostile call was in progress,
beside the same figures over a quiet second before it.  Then, in another
process, ``pyon.decode`` of the value alone: best-of time and tracemalloc
peak, beside ``json.loads`` of the JSON-shaped equivalent in the same run.

Table B: a log server fed a record header announcing 100,000 lines and then
1 MiB lines (and, meanwhile, a second source's records); a LogForwarder
whose log server streams 1 GB back at it; a log server sent 100,000
distinct logger names; a sync_struct publisher of a 50 MB structure to 20
subscribers that never read, while another, reading, subscriber connects.

Table C, stalls: values whose whole request line is just under 4 MiB
(upstream's whole message limit), in shapes slow to decode: ``[[],[],...]``,
a v1 ``([],[],...)``, ``[{},{},...]``, ``[0,0,...]``, ``[0.5,0.5,...]``,
v1 lists of ``None`` and of ``''``, a v1 string of ``\\x41`` escapes, dicts
of distinct int (v1) and string keys, a v1 set of distinct ints, the v1
``[12,12,...,(1,)]``, and table A's hash-flood dict (which the server
refuses, after reading it).  Each is sent as in table A's [rpc] line, twice:
to a server with the default ``offload_over`` (a request that long is
decoded, and a reply that large encoded, in a worker thread), and to one
with ``offload_over=None`` (everything on the event loop: the baseline, in
the same run).  The target, on the first line: the other client's slowest
echo call while the hostile call is in progress < 100 ms.  (The issue asks
for the p99; the echo client makes one call at a time, so a long stall is
one slow sample among many quick ones and hardly moves a p99: the slowest
call is the stricter, honest figure.  The p99 is printed too.)
``--stalls`` runs table C alone; a run without ``--row`` runs tables A, B
and C in turn.

``--scale`` multiplies every count and size (item counts, line counts,
bytes streamed, megabytes published, the stall rows' 4 MiB, down to 4 KiB);
the array shapes of the first rows are fixed.  Each measurement prints one
line, and a Markdown table closes the run.  Every wait has a timeout
(``--timeout``), and every child process is killed in a ``finally`` block.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import queue
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import hostile_peers as hp  # noqa: E402
from selection import select  # noqa: E402

PEERS = os.path.join(HERE, "hostile_peers.py")
MiB = 1 << 20
SERVER_DEFAULT = "default"  # an rpc-server child given no offload_over: the Server's own


# ----------------------------------------------------------- processes ---

class ChildGone(Exception):
    pass


class Child:
    """A hostile_peers.py child: lines from its stdout with a timeout,
    commands on its stdin, stderr kept in a file; killed on close."""

    def __init__(self, *args):
        self.log = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen([sys.executable, PEERS, *map(str, args)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True)
        self.pid = self.proc.pid
        self._lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def read(self, timeout: float) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no line from the child within {timeout:g} s") from None
        if line is None:
            raise ChildGone(f"the child ended (status {self.proc.poll()}): {self.tail()}")
        return line

    def port(self, timeout: float = 60) -> int:
        line = self.read(timeout)
        if not line.startswith("port "):
            raise ChildGone(f"expected a port, got {line!r}")
        return int(line.split()[1])

    def send(self, text: str) -> None:
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def ask(self, command: str, timeout: float = 30) -> dict:
        self.send(command)
        return json.loads(self.read(timeout))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 3) -> str:
        self.log.seek(0)
        text = self.log.read().strip().splitlines()
        return " / ".join(line[:200] for line in text[-lines:])

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class PeakRss:
    """A process's peak RSS from now on: VmHWM after resetting it (where
    /proc/PID/clear_refs allows), and VmRSS sampled every 10 ms."""

    def __init__(self, pid: int):
        self.pid = pid
        self.start_rss = hp.status_of(pid, "VmRSS") or 0
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
            self.hwm_reset = True
        except OSError:
            self.hwm_reset = False
        self.sampled = self.start_rss
        self.last = self.start_rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self):
        while not self._stop.wait(0.01):
            rss = hp.status_of(self.pid, "VmRSS")
            if rss is None:
                return
            self.last = rss
            self.sampled = max(self.sampled, rss)

    def stop(self) -> int:
        """The peak, in bytes (the sampled one if the HWM is unusable)."""
        self._stop.set()
        self._thread.join(5)
        peak = self.sampled
        if self.hwm_reset:
            hwm = hp.status_of(self.pid, "VmHWM")
            if hwm is not None:
                peak = max(peak, hwm)
        return peak

    @property
    def growth_note(self) -> str:
        return "" if self.hwm_reset else " (sampled)"


# ------------------------------------------------------------- results ---

@dataclass
class Result:
    name: str
    mode: str
    sent: str
    outcome: str
    cost: str
    baseline: str = "-"
    ratio: str = "-"
    target: str = "-"
    verdict: str = "-"
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = (f"{self.name} [{self.mode}]: sent {self.sent}; {self.outcome}; {self.cost}; "
                f"baseline {self.baseline}; ratio {self.ratio}; target {self.target}: "
                f"{self.verdict}")
        for note in self.notes:
            text += f"\n    note: {note}"
        return text


def mib(n: float) -> str:
    """A memory figure: KiB below 1 MiB, MiB above."""
    if abs(n) < MiB:
        return f"{n / 1024:,.0f} KiB"
    return f"{n / MiB:,.1f} MiB"


def size(n: int) -> str:
    if n < 10_000:
        return f"{n:,} B"
    if n < 10 * MiB:
        return f"{n / 1024:,.0f} KiB"
    return f"{n / MiB:,.1f} MiB"


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.1f} ms"


def kind_of(outcome: str) -> str:
    return outcome.split(":")[0].split(",")[0].split(" (")[0]


# ------------------------------------------------------- table A: rpc ---

class RawRpc:
    """A pc_rpc client on a plain socket, sending exactly the bytes given."""

    def __init__(self, port: int, version: int, timeout: float):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = bytearray()
        self.sock.sendall(b"ARTIQ pc_rpc\n")
        deadline = time.monotonic() + timeout
        self.readline(deadline)
        self.sock.sendall(b"echo pyon_v2\n" if version == 2 else b"echo\n")
        self.readline(deadline)

    def readline(self, deadline: float) -> bytes | None:
        """A line, or None if the connection closed first; TimeoutError."""
        scanned = 0
        while True:
            end = self.buf.find(b"\n", scanned)
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[:end + 1]
                return line
            scanned = len(self.buf)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(1 << 20)  # TimeoutError (socket.timeout) passes up
            except ConnectionError:
                return None
            if not data:
                return None
            self.buf += data

    def close(self):
        self.sock.close()


def request_line(texts: hp.Texts) -> bytes:
    if texts.version == 2:
        text = '{"action":"call","name":"echo","args":[' + texts.value + '],"kwargs":{}}\n'
    else:
        text = ('{"action": "call", "name": "echo", "args": [' + texts.value
                + '], "kwargs": {}}\n')
    return text.encode("ascii")


def read_reply(reply: bytes, texts: hp.Texts) -> str:
    from sipyco import pyon

    head = reply[:40].replace(b" ", b"")
    if head.startswith(b'{"status":"failed"'):
        try:
            exc = pyon.decode(reply)["exception"]
            text = f"{exc.get('class')}: {exc.get('message')}"
        except Exception as err:  # noqa: BLE001 - described instead
            text = f"unreadable failed reply ({err})"
        if "Unable to allocate" in text or "MemoryError" in text:
            return "capped (a MemoryError under the RLIMIT_AS cap): " + text
        return "refused: " + text
    if not head.startswith(b'{"status":"ok"'):
        return f"other: reply {reply[:60]!r}"
    if texts.version == 2 and texts.json == texts.value:
        expected = b'{"status":"ok","ret":' + texts.value.encode() + b"}"
        return ("accepted, returned exactly (byte for byte)" if reply == expected else
                f"accepted, returned differently ({size(len(reply))} reply)")
    if texts.small_reply and len(reply) > MiB:
        return (f"accepted, returned differently (a {size(len(reply))} reply to a "
                f"{size(len(texts.value))} value)")
    if texts.check is not None and texts.cheap_to_decode and len(reply) <= 16 * MiB:
        try:
            value = pyon.decode(reply)["ret"]
        except Exception as err:  # noqa: BLE001 - described instead
            return f"accepted, reply undecodable here ({err})"
        if texts.check(value):
            return "accepted, returned exactly"
        return f"accepted, returned differently ({hp._describe(value)})"
    return f"accepted ({size(len(reply))} reply)"


def percentiles(values: list[float]) -> tuple[float, float, float] | None:
    if not values:
        return None
    values = sorted(values)
    p99 = values[min(len(values) - 1, int(round(0.99 * (len(values) - 1))))]
    return statistics.median(values), p99, values[-1]


def echo_figures(report: dict, t0: float, t1: float) -> tuple[list[float], bool]:
    """Durations of the echo calls in progress at any time in [t0, t1]
    (a call still running at the end counts with its time so far)."""
    durations = [d for start, d in report["samples"] if start < t1 and start + d > t0]
    unfinished = False
    if report.get("in_flight") and report["in_flight"][0] < t1:
        durations.append(report["in_flight"][1])
        unfinished = True
    return durations, unfinished


def measure_rpc(name: str, texts: hp.Texts, args,
                offload_over: int | str | None = SERVER_DEFAULT) -> tuple[Result, dict]:
    """The [rpc] line; ``offload_over`` is passed to the Server unless it is
    SERVER_DEFAULT (the line's mode then names it)."""
    from sipyco._bounds import DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_MESSAGE_SIZE

    request = request_line(texts)
    figures: dict = {"request": len(request)}
    notes = []
    limit, budget = DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_BUFFERED_BYTES
    if len(request) > limit:
        limit = len(request) + MiB
        notes.append(f"server started with max_message_size={limit} (the default is "
                     f"{DEFAULT_MAX_MESSAGE_SIZE}) to let the request in")
    if len(request) > budget:
        budget = len(request) + MiB
        notes.append(f"server started with max_buffered_bytes={budget} (the default is "
                     f"{DEFAULT_MAX_BUFFERED_BYTES}) to let the request in")
    sent = f"{size(len(request))} (v{texts.version} request; value {size(len(texts.value))})"
    server_args = [args.cap, limit, budget]
    mode = "rpc"
    if offload_over != SERVER_DEFAULT:
        server_args.append("none" if offload_over is None else offload_over)
        mode = f"rpc, offload_over={offload_over}"
    with Child("rpc-server", *server_args) as server:
        port = server.port()
        with Child("echoer", port, args.timeout) as echoer:
            echoer.read(60)
            hostile = RawRpc(port, texts.version, 30)
            try:
                q0 = time.monotonic()
                time.sleep(args.quiet)
                q1 = time.monotonic()
                rss = PeakRss(server.pid)
                t0 = time.monotonic()
                deadline = t0 + args.timeout
                reply = outcome = None
                try:
                    hostile.sock.settimeout(args.timeout)
                    hostile.sock.sendall(request)
                except TimeoutError:
                    outcome = f"the server stopped reading (sending timed out after " \
                              f"{args.timeout:g} s)"
                except ConnectionError as exc:
                    outcome = f"closed while sending ({type(exc).__name__})"
                if outcome is None:
                    try:
                        reply = hostile.readline(deadline)
                        outcome = None if reply is not None else "closed without a reply"
                    except TimeoutError:
                        outcome = f"no reply within {args.timeout:g} s"
                t1 = time.monotonic()
                time.sleep(0.2)
                peak = rss.stop()
                kept = hp.status_of(server.pid, "VmRSS")
            finally:
                hostile.close()
            time.sleep(0.1)
            echoer.send("stop")
            try:
                report = json.loads(echoer.read(30))
            except (TimeoutError, ChildGone) as exc:
                report = {"samples": [], "in_flight": None, "error": str(exc)}
        if reply is not None:
            outcome = read_reply(reply, texts)
        time.sleep(0.3)
        if reply is None and "MemoryError" in server.tail(50):
            outcome += " (the server hit a MemoryError under the RLIMIT_AS cap)"
        if not server.alive():
            outcome = f"server died (status {server.proc.poll()}); {outcome}"
            notes.append(f"server stderr: {server.tail()}")
        elif reply is None:
            notes.append(f"server stderr: {server.tail()}")
    quiet = percentiles([d for s, d in report["samples"] if q0 <= s < q1])
    during, unfinished = echo_figures(report, t0, t1)
    busy = percentiles(during)
    if report.get("error"):
        notes.append(f"echo client: {report['error']}")
    growth = peak - rss.start_rss
    figures.update(growth=growth, seconds=t1 - t0, echo_max=busy[2] if busy else None,
                   echo_p99=busy[1] if busy else None, echo_n=len(during),
                   echo_error=report.get("error"), outcome=outcome)
    echo = ("no echo call overlapped" if busy is None else
            f"echo n={len(during)} p50 {ms(busy[0])} p99 {ms(busy[1])} max "
            f"{'>=' if unfinished else ''}{ms(busy[2])}")
    kept = "n/a" if kept is None else mib(kept - rss.start_rss)
    ended = "reply" if reply is not None else "gave up"
    sign = "+" if growth >= 0 else ""
    cost = (f"{ended} after {ms(t1 - t0)}; server {sign}{mib(growth)} peak{rss.growth_note}, "
            f"{kept} kept; {echo}")
    baseline = ("quiet echo n/a" if quiet is None else
                f"quiet echo p50 {ms(quiet[0])} p99 {ms(quiet[1])}")
    ratio = (f"echo p99 x{busy[1] / quiet[1]:.1f}" if quiet and busy and quiet[1] > 0 else "-")
    return Result(name, mode, sent, outcome, cost, baseline, ratio, notes=notes), figures


# ---------------------------------------------------- table A: decode ---

def measure_decode(name: str, texts: hp.Texts, args) -> list[tuple[Result, dict]]:
    """The [decode] line, and a second one when pyon refused the text over
    its max_items and was measured again with that limit raised."""
    sent = f"{size(len(texts.value))} (value text)"
    with Child("decode", name, args.scale, args.cap) as child:
        try:
            data = json.loads(child.read(args.timeout))
        except TimeoutError:
            return [(Result(name, "decode", sent, f"no result within {args.timeout:g} s",
                            "-"), {})]
        except ChildGone as exc:
            return [(Result(name, "decode", sent, f"decoder process died: {exc}", "-"), {})]
    json_ = data.get("json")
    lines = []
    for key, mode in (("pyon", "decode"), ("pyon_raised", "decode, max_items raised")):
        pyon_ = data.get(key)
        if pyon_ is None:
            continue
        peak = pyon_.get("peak")
        cost = f"pyon.decode {ms(pyon_['seconds'])}, tracemalloc peak " + \
            (mib(peak) if peak is not None else "not measured (too slow)")
        baseline = ratio = "-"
        if json_ is not None:
            baseline = (f"json.loads of {size(data['json_bytes'])}: {ms(json_['seconds'])}, "
                        f"{mib(json_['peak'])}")
            if json_["outcome"] != "decoded":
                baseline += f" ({json_['outcome']})"
            parts = [f"time {pyon_['seconds'] / json_['seconds']:.2f}x"]
            if peak is not None and json_["peak"]:
                parts.append(f"memory {peak / json_['peak']:.2f}x")
            ratio = ", ".join(parts)
        result = Result(name, mode, sent, pyon_["outcome"], cost, baseline, ratio)
        if "max_items" in pyon_:
            result.notes.append(f"decoded with max_items={pyon_['max_items']} (the text's "
                                "length + 1), to measure the reader past its default limit")
        figures = {"outcome": pyon_["outcome"], "seconds": pyon_["seconds"], "peak": peak,
                   "json_seconds": json_ and json_["seconds"],
                   "json_peak": json_ and json_["peak"]}
        lines.append((result, figures))
    return lines


# ------------------------------------------------------- table A: targets ---

def target_nparray(mode, f):
    text = "refused, or returned exactly, < 100 MiB"
    kind = kind_of(f["outcome"])
    if mode == "rpc":
        exact = "returned exactly" in f["outcome"]
        return text + " growth", (kind == "refused" or exact) and f["growth"] < 100 * MiB
    exact = "equal" in f["outcome"]
    small = f["peak"] is not None and f["peak"] < 100 * MiB
    return text + " tracemalloc peak", (kind == "refused" or exact) and small


def target_refused(mode, f):
    return "refused", kind_of(f["outcome"]) == "refused"


def target_hash(mode, f):
    kind = kind_of(f["outcome"])
    if mode == "rpc":
        fast = kind == "accepted" and f["seconds"] < 2
        calm = f["echo_max"] is not None and f["echo_max"] < 0.5
        return ("refused or decoded in < 2 s, other client's calls < 0.5 s",
                (kind == "refused" or fast) and calm)
    return ("refused or decoded in < 2 s",
            kind == "refused" or (kind == "decoded" and f["seconds"] < 2))


def target_vs_json(mode, f):
    if mode == "rpc":
        return "- (the reader's target: see [decode])", None
    if not f.get("json_seconds") or f["peak"] is None:
        return "<= 2x JSON time, <= 1.5x its memory", False
    return ("<= 2x JSON time, <= 1.5x its memory",
            f["seconds"] <= 2 * f["json_seconds"] and f["peak"] <= 1.5 * f["json_peak"])


_NAMED_LIMIT = re.compile(r"\bmax_[a-z_]+=\d+")


def target_echo_growth(mode, f):
    if mode == "decode":
        return "- (the server's target: see [rpc])", None
    kind = kind_of(f["outcome"])
    named = kind == "refused" and _NAMED_LIMIT.search(f["outcome"]) is not None
    return ("server growth <= 10x the request, or refused with a named limit",
            named or (kind == "accepted" and f["growth"] <= 10 * f["request"]))


TABLE_A = {
    "nparray-S0-1e5x1e3-v1": target_nparray,
    "nparray-S0-1e5x1e3-v2": target_nparray,
    "nparray-S0-1e5x1e5-v1": target_nparray,
    "nparray-S0-1e5x1e5-v2": target_nparray,
    "subarray-0-1e9x1e9-v1": target_refused,
    "subarray-0-1e9x1e9-v2": target_refused,
    "hash-dict-v1": target_hash,
    "hash-set-v2": target_hash,
    "hash-set-v1": target_hash,
    "tuple-of-lists-v1": target_vs_json,
    "ints-tail-tuple-v1": target_vs_json,
    "x41-escapes-v1": target_vs_json,
    "empty-lists-echo": target_echo_growth,
}
assert set(TABLE_A) == set(hp.TEXTS)


def run_table_a(name: str, args) -> list[Result]:
    texts = hp.TEXTS[name](args.scale)
    results = []
    modes = [m for m in ("rpc", "decode")
             if not (m == "rpc" and args.decode_only) and not (m == "decode" and args.rpc_only)]
    for mode in modes:
        try:
            if mode == "rpc":
                lines = [measure_rpc(name, texts, args)]
            else:
                lines = measure_decode(name, texts, args)
        except Exception as exc:  # noqa: BLE001 - one row failing does not stop the run
            lines = [(Result(name, mode, "-", f"not measured: {exc!r}", "-"), {})]
        for result, figures in lines:
            if figures:
                target, ok = TABLE_A[name](mode.split(",")[0], figures)
                result.target = target
                result.verdict = "-" if ok is None else ("PASS" if ok else "FAIL")
                if ok and TABLE_A[name] is target_vs_json and \
                        kind_of(figures["outcome"]) == "refused":
                    result.verdict = "PASS (by refusing)"
            print(result.line(), flush=True)
            results.append(result)
    return results


# ------------------------------------------------------ table C: stalls ---

STALL_TARGET = 0.1  # seconds: the other client's slowest echo call during a stall row's call
TABLE_C = hp.STALL_TEXTS


def run_table_c(name: str, args) -> list[Result]:
    """The row's [rpc] line with the Server's default offload_over (judged),
    then with offload_over=None (the baseline)."""
    from sipyco._bounds import DEFAULT_OFFLOAD_OVER

    texts = TABLE_C[name](args.scale)
    request = len(request_line(texts))
    over = request - hp.stall_bytes(args.scale)
    # the exact length: size() would round just under 4 MiB up to "4,096 KiB"
    sent = f"{request:,} B (v{texts.version} request: {texts.what})"
    results = []
    for offload_over, mode in ((SERVER_DEFAULT, f"rpc, offload_over={DEFAULT_OFFLOAD_OVER} "
                                                "(default)"),
                               (None, "rpc, offload_over=None")):
        try:
            result, figures = measure_rpc(name, texts, args, offload_over)
        except Exception as exc:  # noqa: BLE001 - one row failing does not stop the run
            result, figures = Result(name, mode, "-", f"not measured: {exc!r}", "-"), {}
        result.mode, result.sent = mode, sent
        if over > 0:
            result.notes.append(f"the request is {over:,} bytes over the row's "
                                f"{hp.stall_bytes(args.scale):,}")
        slowest, p99 = figures.get("echo_max"), figures.get("echo_p99")
        if slowest is not None and p99 is not None and slowest >= STALL_TARGET > p99:
            result.notes.append(f"the slowest echo call took {ms(slowest)}, the p99 of "
                                f"{figures['echo_n']} is {ms(p99)}: the echo client makes "
                                "one call at a time, so a stall counts once however long "
                                "it lasts")
        if offload_over is None:
            result.target = "- (the baseline: everything on the event loop)"
        elif figures:
            result.target = f"other client's slowest echo call < {ms(STALL_TARGET)}"
            if figures["echo_error"]:
                result.verdict = "FAIL"
                result.notes.append("the other client's call failed (see the echo "
                                    "client's note): it was not answered")
            elif figures["echo_n"] == 0:
                result.notes.append(f"no echo call overlapped the hostile call (which took "
                                    f"{ms(figures['seconds'])}): no figure to judge")
            else:
                result.verdict = "PASS" if figures["echo_max"] < STALL_TARGET else "FAIL"
        print(result.line(), flush=True)
        results.append(result)
    return results


# ------------------------------------------------------------- table B ---

def log_flood(args) -> Result:
    """A record header announcing 100,000 lines, then 1 MiB lines; a second
    source sends a record every 0.25 s meanwhile."""
    n_lines = max(1, round(2500 * args.scale))
    line = b"x" * MiB + b"\n"   # exactly max_message_size (1 MiB) of content: accepted
    with Child("log-server") as server:
        port = server.port()
        hostile = socket.create_connection(("127.0.0.1", port), timeout=args.timeout)
        probe = socket.create_connection(("127.0.0.1", port), timeout=10)
        rss = PeakRss(server.pid)
        stop = threading.Event()
        probes = [0]

        def send_probes():
            probe.sendall(b"ARTIQ logging\n")
            while not stop.wait(0.25):
                probe.sendall(f"probe:INFO:probe:{time.time()!r}\n".encode())
                probes[0] += 1

        prober = threading.Thread(target=send_probes, daemon=True)
        try:
            hostile.sendall(b"ARTIQ logging\nhostile:INFO<100000>:flood:first line\n")
            prober.start()
            t0 = time.monotonic()
            done, outcome = 0, None
            try:
                hostile.settimeout(args.timeout)
                while done < n_lines:
                    hostile.sendall(line)
                    done += 1
                    if time.monotonic() - t0 > args.timeout:
                        outcome = f"stopped after {args.timeout:g} s"
                        break
            except (ConnectionError, TimeoutError) as exc:
                outcome = f"connection ended by the server after {done} lines " \
                          f"({type(exc).__name__})"
            elapsed = time.monotonic() - t0
            time.sleep(0.5)
            stop.set()
            prober.join(5)
            deadline = time.monotonic() + 10
            stats = server.ask("stats", args.timeout)
            while stats["by_source"].get("probe", 0) < probes[0] and time.monotonic() < deadline:
                time.sleep(0.2)
                stats = server.ask("stats", args.timeout)
            peak = rss.stop()
            now = hp.status_of(server.pid, "VmRSS") or 0
        finally:
            stop.set()
            hostile.close()
            probe.close()
    growth = peak - rss.start_rss
    got = stats["by_source"].get("probe", 0)
    delays = stats["delays"]
    if outcome is None:
        outcome = f"all {done:,} lines taken, connection kept"
    if stats["warnings"]:
        outcome += f"; server warned: {stats['warnings'][-1][:120]}"
    cost = (f"server +{mib(growth)} peak{rss.growth_note} after {done:,} lines "
            f"({mib(done * len(line))} in {ms(elapsed)}), +{mib(now - rss.start_rss)} held; "
            f"second source: {got}/{probes[0]} records arrived, max delay "
            f"{ms(max(delays) if delays else None)}")
    ratio = f"growth / max_message_size = {growth / MiB:.1f}x"
    served = probes[0] > 0 and got == probes[0]
    return Result("log-continuation-flood", "log server",
                  f"{mib(done * len(line))} (header + {done:,} x 1 MiB lines)", outcome, cost,
                  "-", ratio, "none set (other sources still served: "
                  f"{'yes' if served else 'NO'})", "-")


def log_forwarder_back(args) -> Result:
    """A fake log server streaming bytes back at a LogForwarder."""
    total = max(MiB, round(1e9 * args.scale))
    chunk = b"x" * (MiB - 1) + b"\n"
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(30)
    port = listener.getsockname()[1]
    received = bytearray()
    sent = 0
    outcome = None
    conn = None
    try:
        with Child("log-forwarder", port) as fwd:
            fwd.read(60)
            conn, _ = listener.accept()

            def collect():
                conn_local = conn
                while True:
                    try:
                        data = conn_local.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    received.extend(data)

            collector = threading.Thread(target=collect, daemon=True)
            collector.start()
            time.sleep(0.5)
            rss = PeakRss(fwd.pid)
            ticks_before = received.count(b"tick")
            conn.settimeout(args.timeout)
            t0 = time.monotonic()
            try:
                while sent < total:
                    n = min(len(chunk), total - sent)
                    conn.sendall(chunk[:n])
                    sent += n
            except TimeoutError:
                outcome = f"the forwarder stopped reading after {mib(sent)}"
            except ConnectionError as exc:
                outcome = f"the forwarder closed the connection after {mib(sent)} " \
                          f"({type(exc).__name__})"
            elapsed = time.monotonic() - t0
            time.sleep(0.5)
            ticks = received.count(b"tick") - ticks_before
            peak = rss.stop()
            alive = fwd.alive()
    finally:
        if conn is not None:
            conn.close()
        listener.close()
    growth = peak - rss.start_rss
    if outcome is None:
        outcome = f"all {mib(sent)} read and dropped"
    if not alive:
        outcome += "; the forwarder process died"
    cost = (f"forwarder +{mib(growth)} peak{rss.growth_note} while {mib(sent)} arrived in "
            f"{ms(elapsed)} ({sent / max(elapsed, 1e-9) / 1e6:,.0f} MB/s); its own records "
            f"delivered meanwhile: {ticks}")
    return Result("log-forwarder-1GB-back", "forwarder", f"{mib(sent)} to the forwarder",
                  outcome, cost, "-", "-", "none set", "-")


def log_names(args) -> Result:
    """Records under many distinct logger names from one peer, which then leaves."""
    n = max(1, round(100_000 * args.scale))
    with Child("log-server") as server:
        port = server.port()
        before = server.ask("stats", args.timeout)
        time.sleep(0.3)
        rss = PeakRss(server.pid)
        payload = b"ARTIQ logging\n" + b"".join(
            f"peer:INFO:peer.name{i}:record {i}\n".encode() for i in range(n))
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=args.timeout) as peer:
            peer.sendall(payload)
        deadline = time.monotonic() + args.timeout
        stats = server.ask("stats", args.timeout)
        while stats["by_source"].get("peer", 0) < n and time.monotonic() < deadline:
            time.sleep(0.2)
            stats = server.ask("stats", args.timeout)
        elapsed = time.monotonic() - t0
        time.sleep(1.0)
        kept = (hp.status_of(server.pid, "VmRSS") or 0) - rss.start_rss
        peak = rss.stop()
    got = stats["by_source"].get("peer", 0)
    outcome = f"{got:,} of {n:,} records re-emitted in {ms(elapsed)}"
    cost = (f"server RSS kept after the peer left: +{mib(kept)} (peak +{mib(peak - rss.start_rss)}"
            f"{rss.growth_note}); loggers {before['loggers']} -> {stats['loggers']}")
    return Result("log-100k-names", "log server", f"{size(len(payload))} ({n:,} names)",
                  outcome, cost, "-", f"{kept / n:,.0f} B kept per name" if n else "-",
                  "none set", "-")


async def _subscriber_connect(port: int, timeout: float) -> float:
    from sipyco.sync_struct import Subscriber

    sub = Subscriber("bench", lambda struct: struct, handshake_timeout=timeout)
    t0 = time.perf_counter()
    try:
        await asyncio.wait_for(sub.connect("127.0.0.1", port), timeout)
        return time.perf_counter() - t0
    finally:
        await sub.close()


def sync_stalled(args) -> Result:
    """20 subscribers that never read a 50 MB structure, and one that does."""
    megabytes = 50 * args.scale
    stalled_n = 20
    with Child("publisher", megabytes) as pub:
        port = pub.port(args.timeout)
        at_start = hp.status_of(pub.pid, "VmRSS") or 0
        # the first connect also pays for warming up: the baseline is the better of two
        alone = min(asyncio.run(_subscriber_connect(port, args.timeout)) for _ in range(2))
        time.sleep(0.3)
        rss = PeakRss(pub.pid)
        stalled = []
        try:
            for _ in range(stalled_n):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.settimeout(10)
                s.connect(("127.0.0.1", port))
                s.sendall(b"ARTIQ sync_struct\nbench\n")
                stalled.append(s)
            # wait for the publisher to settle: RSS unchanged for a second
            deadline = time.monotonic() + args.timeout
            last, steady_since = -1, time.monotonic()
            while time.monotonic() < deadline:
                now = hp.status_of(pub.pid, "VmRSS") or 0
                if abs(now - last) > MiB:
                    last, steady_since = now, time.monotonic()
                elif time.monotonic() - steady_since > 1.0:
                    break
                time.sleep(0.1)
            try:
                meanwhile = asyncio.run(_subscriber_connect(port, args.timeout))
                connect_outcome = None
            except Exception as exc:  # noqa: BLE001 - reported
                meanwhile, connect_outcome = None, f"{type(exc).__name__}: {exc}"
            stats = pub.ask("stats", args.timeout)
            peak = rss.stop()
        finally:
            for s in stalled:
                s.close()
    growth = peak - rss.start_rss
    kept = stats["subscribers"] - (1 if meanwhile is None else 0)
    outcome = (f"{min(kept, stalled_n)} of {stalled_n} stalled subscribers still connected, "
               f"{mib(stats['buffered'])} waiting for them (accounted peak "
               f"{mib(stats['peak'])})")
    if connect_outcome:
        outcome += f"; the reading subscriber failed: {connect_outcome}"
    cost = (f"publisher +{mib(growth)} peak{rss.growth_note} over its RSS before the stalled "
            f"subscribers (+{mib(peak - at_start)} over its RSS before any subscriber); "
            f"reading subscriber connected in {ms(meanwhile)}")
    ratio = f"connect x{meanwhile / alone:.1f}" if meanwhile else "-"
    return Result("sync-20-stalled", "publisher",
                  f"{stalled_n} x {megabytes:g} MB owed", outcome, cost,
                  f"connect alone {ms(alone)}", ratio, "none set", "-")


TABLE_B = {
    "log-continuation-flood": log_flood,
    "log-forwarder-1GB-back": log_forwarder_back,
    "log-100k-names": log_names,
    "sync-20-stalled": sync_stalled,
}


# ---------------------------------------------------------------- main ---

def markdown(results: list[Result]) -> str:
    def cell(text: str) -> str:
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= 160 else text[:157] + "..."

    lines = ["| row | part | sent | outcome | cost | baseline | ratio | target | result |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append("| " + " | ".join(cell(x) for x in (
            r.name, r.mode, r.sent, r.outcome, r.cost, r.baseline, r.ratio, r.target,
            r.verdict)) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiplies every count and size (0.1 for a quick run)")
    parser.add_argument("--row", action="append",
                        help="run only rows whose name contains this (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the rows and exit")
    part = parser.add_mutually_exclusive_group()
    part.add_argument("--rpc-only", action="store_true", help="table A: skip pyon.decode alone")
    part.add_argument("--decode-only", action="store_true",
                      help="table A: only pyon.decode alone (tables B and C are skipped)")
    part.add_argument("--stalls", action="store_true",
                      help="only table C (the stall rows), or those of them --row names")
    parser.add_argument("--cap", type=int, default=4096,
                        help="MiB of address space a server or decoder may add (RLIMIT_AS)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds, for every wait")
    parser.add_argument("--quiet", type=float, default=1.0,
                        help="seconds of echo calls measured before each hostile request")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(list(TABLE_A) + list(TABLE_B) + list(TABLE_C)))
        return 0
    names = select(list(TABLE_A) + list(TABLE_B) + list(TABLE_C), args.row, "row")
    if args.decode_only:
        names = [n for n in names if n in TABLE_A]
    if args.stalls:
        names = [n for n in names if n in TABLE_C]
        if not names:
            raise SystemExit(f"no stall row matches {args.row}; rows: {', '.join(TABLE_C)}")

    import numpy

    from sipyco import pyon

    print(f"# Hostile inputs, {datetime.datetime.now().isoformat(timespec='seconds')}: "
          f"Python {platform.python_version()}, numpy {numpy.__version__}, "
          f"{'pybase64' if pyon.ACCELERATED else 'stdlib base64'}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}; scale {args.scale:g}, RLIMIT_AS cap "
          f"+{args.cap} MiB on servers and decoders, timeout {args.timeout:g} s; every server "
          f"with the library's default limits unless its row says otherwise", flush=True)
    results: list[Result] = []
    t_start = time.monotonic()
    for name in names:
        if name in TABLE_A:
            results += run_table_a(name, args)
            continue
        if name in TABLE_C:
            results += run_table_c(name, args)
            continue
        try:
            result = TABLE_B[name](args)
        except Exception as exc:  # noqa: BLE001 - one row failing does not stop the run
            result = Result(name, "-", "-", f"not measured: {exc!r}", "-")
        print(result.line(), flush=True)
        results.append(result)
    print(f"\n({time.monotonic() - t_start:.0f} s)\n")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
