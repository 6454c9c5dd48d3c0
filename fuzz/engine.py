"""One target's fuzz run: hypothesis generates the inputs, each input runs
under a time guard and a memory measurement, outcomes are counted, and every
distinct violation is shrunk by hypothesis to a minimal reproduction.

A target (:class:`Target`) runs one input and counts what happened to it
(:func:`attempt` counts an accepted call or a documented refusal).  What
escapes a target's ``run`` is a violation:

* an exception the code under test does not document (anything but the
  refusals the target lists);
* :class:`Broken`: a property the target checks failed (e.g. a server that
  fell out of step with its client);
* a hang: the input used more than ``time_bound`` seconds of CPU, plus
  :data:`TIME_PER_BYTE` per byte of input (a timer on CPU time,
  :data:`signal.SIGPROF`, interrupts it; CPU rather than wall time, so that
  other processes on the machine cannot make an input look slow);
* memory: the input made the process allocate more than
  ``MEMORY_FACTOR * input_size + MEMORY_CONSTANT`` bytes at its peak
  (measured with :mod:`tracemalloc`, started for that input alone);
* retained memory: replaying a sample of the inputs at the end leaves memory
  allocated (something keeps a part of each input forever).

Inputs are generated in segments of :data:`SEGMENT` examples, each a
hypothesis run with its own seed (derived from the run's seed, so a run is
repeatable).  When an input shows a violation not seen before, the segment
raises it, hypothesis shrinks it (for at most :data:`SHRINK_SECONDS`), the
minimal input is kept as the reproduction, and the next segment goes on
where the count stood; later inputs with the same violation are counted,
not shrunk again.
"""

from __future__ import annotations

import gc
import os
import random
import resource
import signal
import sys
import time
import traceback
import tracemalloc
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import HypothesisWarning

__all__ = [
    "Target", "Broken", "attempt", "run_target", "Result", "Failure", "TIME_BOUND",
    "MEMORY_FACTOR", "MEMORY_CONSTANT", "SEGMENT",
]

#: CPU seconds an input may use before it counts as a hang, plus
#: TIME_PER_BYTE for each byte of it.  Generous: linear work costs at most
#: about 11 us per byte under tracemalloc (the densest PYON, measured; the v1
#: reader takes ~5 us per byte of a megabyte-long text), so only work that
#: grows faster than its input, or does not end, reaches the bound.
TIME_BOUND = 10.0
TIME_PER_BYTE = 50e-6
#: Peak bytes an input may make the process allocate: this many per input
#: byte, plus :data:`MEMORY_CONSTANT`.  The densest valid PYON (a list of
#: one-element sets, ``[{1},{1},...]``) costs 65 bytes of Python objects per
#: byte of text, measured; anything growing faster than its input, or without
#: bound, passes 128x quickly.
MEMORY_FACTOR = 128
MEMORY_CONSTANT = 4 << 20
#: Examples per hypothesis run.
SEGMENT = 10_000
_VERBOSITY = Verbosity.debug if os.environ.get("SIPYCO_FUZZ_DEBUG") else Verbosity.quiet
#: Wall-clock seconds spent shrinking one violation.
SHRINK_SECONDS = 60.0
#: Distinct violations shrunk per target (further ones are counted only).
MAX_SHRUNK = 8
#: Inputs kept (uniformly sampled, each at most 64 kB) for the retained-memory check.
REPLAY_KEEP = 2000
#: Bytes replaying the sample may leave allocated: fresh inputs (caches that
#: fill up to a bound are fine), then the same inputs again (nothing at all).
RETAIN_FRESH_LIMIT = 512 << 10
RETAIN_REPEAT_LIMIT = 64 << 10

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
_PACKAGES = os.path.join(_ROOT, "packages")


class Broken(Exception):
    """A property the target checks does not hold (a violation)."""


class _Hang(BaseException):
    """Raised by the time guard's signal in the middle of an input."""


@dataclass(frozen=True)
class Target:
    """What is fuzzed.  ``inputs()`` builds the strategy; ``run(x, counts)``
    runs one input, counting outcomes in ``counts`` (see :func:`attempt`);
    ``size(x)`` is the input's size in bytes (the memory bound's base);
    ``reproduce(x)`` is a standalone Python snippet that replays ``x``."""

    name: str
    about: str
    inputs: Callable[[], st.SearchStrategy]
    run: Callable[[Any, Counter], None]
    size: Callable[[Any], int]
    reproduce: Callable[[Any], str]


def attempt(counts: Counter, label: str, documented: tuple[type[BaseException], ...],
            fn: Callable, *args: Any) -> tuple[bool, Any]:
    """``fn(*args)``: ``(True, result)``, counted as ``"LABEL: accepted"``;
    or ``(False, exception)`` for a documented refusal, counted as
    ``"LABEL: refused CLASS"``.  Any other exception propagates."""
    try:
        result = fn(*args)
    except documented as exc:
        counts[f"{label}: refused {type(exc).__name__}"] += 1
        return False, exc
    counts[f"{label}: accepted"] += 1
    return True, result


@dataclass
class Failure:
    kind: str          # undocumented exception | broken property | hang | memory | ...
    signature: str
    detail: str
    where: str
    reproduction: str
    shrunk: bool
    occurrences: int = 1
    trace: str = ""


@dataclass
class Result:
    target: str
    about: str
    requested: int
    seed: int
    inputs: int = 0
    distinct: int = 0
    seconds: float = 0.0
    outcomes: dict = field(default_factory=dict)
    slowest: float = 0.0           # CPU seconds
    slowest_input: str = ""
    slowest_size: int = 0
    slowest_reproduction: str = ""
    peak: int = 0
    peak_input_size: int = 0
    worst_ratio: float = 0.0       # peak / size, over inputs of at least 4 kB
    worst_ratio_size: int = 0
    largest_input: int = 0
    replayed: int = 0
    retained_fresh: int = 0
    retained_repeat: int = 0
    rss_max: int = 0
    shrink_seconds: float = 0.0
    failures: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures and self.inputs >= self.requested

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Result:
        d = dict(d)
        d["failures"] = [Failure(**f) for f in d.get("failures", [])]
        return cls(**d)


def _where(tb) -> str:
    """The innermost frame in the code under test (packages/), else the innermost."""
    frames = traceback.extract_tb(tb)
    if not frames:
        return "?"
    ours = [f for f in frames if os.path.abspath(f.filename).startswith(_PACKAGES)]
    f = (ours or frames)[-1]
    name = f.filename
    if name.startswith(_PACKAGES):
        name = name[len(_PACKAGES) + 1:].split(os.sep + "src" + os.sep, 1)[-1]
    elif name.startswith(_ROOT + os.sep):
        name = name[len(_ROOT) + 1:]
    return f"{name}:{f.lineno} in {f.name}"


def _short(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


@dataclass
class _Violation:
    kind: str
    signature: str
    detail: str
    where: str
    trace: str = ""


class _Hunt:
    """The violation being shrunk in the current segment."""

    def __init__(self, violation: _Violation, x: Any, seconds: float):
        self.violation = violation
        self.first = x
        self.best_key = repr(x)
        self.started = time.perf_counter()
        self.deadline = self.started + seconds


class _Found(Exception):
    def __init__(self, x: Any, violation: _Violation):
        super().__init__(violation.signature)
        self.x = x
        self.violation = violation


class _Runner:
    def __init__(self, target: Target, count: int, seed: int, *, time_bound: float,
                 progress: Callable[[Result], None] | None, crumbs: Callable[[str], None] | None,
                 tick: Callable[[float], None] | None, replay: int, shrink_seconds: float):
        self.target = target
        self.count = count
        self.seed = seed
        self.time_bound = time_bound
        self.progress = progress
        self.crumbs = crumbs
        self.tick = tick
        self.replay_keep = replay
        self.shrink_seconds = shrink_seconds
        self.result = Result(target.name, target.about, count, seed)
        self.outcomes: Counter = Counter()
        self.failures: dict[str, Failure] = {}
        self.seen: set[int] = set()
        self.kept: list = []
        self.rng = random.Random(seed)
        self.hunt: _Hunt | None = None
        self.guarded = False
        self.slowest_x: Any = None

    # ---- one input

    def _execute(self, x: Any, counts: Counter) -> tuple[_Violation | None, float, int, int]:
        """Run ``x``: (violation or None, CPU seconds, peak bytes, input size)."""
        violation = None
        size = self.target.size(x)
        bound = self.time_bound + TIME_PER_BYTE * size
        if self.tick is not None:
            self.tick(bound)
        tracing = tracemalloc.is_tracing()
        if tracing:
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
        else:
            base = 0
            tracemalloc.start()
        # No garbage collection inside the measured call: a full collection
        # of the harness's own heap (hypothesis keeps much) would be charged
        # to whichever input happened to trigger it.
        collecting = gc.isenabled()
        gc.disable()
        if self.guarded:
            signal.setitimer(signal.ITIMER_PROF, bound)
        started = time.process_time()
        try:
            try:
                self.target.run(x, counts)
            finally:
                elapsed = time.process_time() - started
                if self.guarded:
                    signal.setitimer(signal.ITIMER_PROF, 0)
                if collecting:
                    gc.enable()
        except _Hang as exc:
            violation = _Violation("hang", "hang", f"interrupted after {bound:.1f} s of CPU "
                                   f"time (input of {size} bytes)", _where(exc.__traceback__))
        except Broken as exc:  # told apart by the check that failed, not its message
            where = _where(exc.__traceback__)
            violation = _Violation("broken property", f"broken|{where}", str(exc), where)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - whatever it is, it is reported
            where = _where(exc.__traceback__)
            trace = "".join(traceback.format_exception(exc)[-8:])
            violation = _Violation("undocumented exception",
                                   f"exception|{type(exc).__qualname__}|{where}",
                                   _short(f"{type(exc).__qualname__}: {exc}", 300), where, trace)
        peak = tracemalloc.get_traced_memory()[1] - base
        if not tracing:
            tracemalloc.stop()
        if violation is None and elapsed > bound:
            violation = _Violation("hang", "hang", f"took {elapsed:.1f} s of CPU time (bound "
                                   f"{bound:.1f} s for an input of {size} bytes)", "?")
        memory_bound = MEMORY_FACTOR * size + MEMORY_CONSTANT
        if violation is None and peak > memory_bound:
            violation = _Violation("memory", "memory", f"peak {peak} bytes for an input of "
                                   f"{size} bytes (bound {memory_bound})", "?")
        return violation, elapsed, peak, size

    def _count(self, x: Any) -> _Violation | None:
        key = repr(x)
        if self.crumbs is not None:
            self.crumbs(key)
        counts: Counter = Counter()
        violation, elapsed, peak, size = self._execute(x, counts)
        r = self.result
        r.inputs += 1
        self.seen.add(hash(key))
        self.outcomes.update(counts)
        if violation is not None:
            self.outcomes[f"VIOLATION: {violation.kind}"] += 1
        if elapsed > r.slowest:
            r.slowest, r.slowest_input, r.slowest_size = elapsed, _short(key, 300), size
            r.slowest_reproduction = ""
            self.slowest_x = x
        if peak > r.peak:
            r.peak, r.peak_input_size = peak, size
        if size >= 4096 and peak / size > r.worst_ratio:
            r.worst_ratio, r.worst_ratio_size = peak / size, size
        r.largest_input = max(r.largest_input, size)
        if size <= 65536:  # reservoir sample for the retained-memory check
            if len(self.kept) < self.replay_keep:
                self.kept.append(x)
            else:
                j = self.rng.randrange(r.inputs)
                if j < self.replay_keep:
                    self.kept[j] = x
        if self.progress is not None and r.inputs % 5000 == 0:
            r.failures = list(self.failures.values())
            self.progress(r)
        return violation

    # ---- hypothesis segments

    def _body(self, x: Any) -> None:
        hunt = self.hunt
        if hunt is not None:  # shrinking: candidates are not counted
            key = repr(x)
            if time.perf_counter() > hunt.deadline and key != hunt.best_key:
                return
            violation = self._execute(x, Counter())[0]
            if violation is not None and violation.signature == hunt.violation.signature:
                hunt.best_key = key
                _found(x, violation)
            return
        violation = self._count(x)
        if violation is None:
            return
        known = self.failures.get(violation.signature)
        if known is not None:
            known.occurrences += 1
            return
        if sum(f.shrunk for f in self.failures.values()) >= MAX_SHRUNK:
            self._record(violation, x, shrunk=False)
            return
        self.hunt = _Hunt(violation, x, self.shrink_seconds)
        _found(x, violation)

    def _record(self, violation: _Violation, x: Any, shrunk: bool) -> None:
        self.failures[violation.signature] = Failure(
            violation.kind, violation.signature, violation.detail, violation.where,
            self.target.reproduce(x), shrunk, trace=violation.trace)

    def _segment(self, strategy: st.SearchStrategy, n: int, segment_seed: int) -> None:
        test = given(strategy)(self._body)
        test = hypothesis_seed(segment_seed)(test)
        warnings.filterwarnings("ignore", "Generating overly large repr", HypothesisWarning)
        test = settings(max_examples=n, deadline=None, database=None, derandomize=False,
                        suppress_health_check=list(HealthCheck),
                        phases=(Phase.generate, Phase.shrink), report_multiple_bugs=False,
                        verbosity=_VERBOSITY, print_blob=False)(test)
        try:
            test()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # _Found, or hypothesis' own report of it
            hunt = self.hunt
            if hunt is None:
                raise
            found = _find(exc)
            if found is not None and found.violation.signature == hunt.violation.signature:
                self._record(found.violation, found.x, shrunk=True)
            else:  # not reproducible on replay (timing, memory): keep the original
                self._record(hunt.violation, hunt.first, shrunk=False)
            self.result.shrink_seconds += time.perf_counter() - hunt.started
        finally:
            self.hunt = None

    # ---- the whole run

    def run(self) -> Result:
        r = self.result
        started = time.perf_counter()
        old_handler = None
        try:
            old_handler = signal.signal(signal.SIGPROF, _on_prof)
            self.guarded = True
        except ValueError:  # not the main thread: wall time is still checked after
            self.guarded = False
        hypothesis_bound = _limit_shrinking(self.shrink_seconds)
        try:
            strategy = self.target.inputs()
            segment = stalled = 0
            while r.inputs < self.count and stalled < 3:
                before = r.inputs
                self._segment(strategy, min(SEGMENT, self.count - before),
                              self.seed * 1_000_003 + segment)
                segment += 1
                stalled = stalled + 1 if r.inputs == before else 0  # nothing new to give
            self._replay()
        finally:
            _limit_shrinking(hypothesis_bound)
            if self.guarded:
                signal.setitimer(signal.ITIMER_PROF, 0)
                signal.signal(signal.SIGPROF, old_handler or signal.SIG_DFL)
        r.seconds = time.perf_counter() - started
        r.distinct = len(self.seen)
        r.outcomes = dict(sorted(self.outcomes.items()))
        r.failures = list(self.failures.values())
        r.rss_max = _rss_max()
        if self.slowest_x is not None:
            r.slowest_reproduction = self.target.reproduce(self.slowest_x)
        return r

    def _replay(self) -> None:
        """Replay the kept sample: half to warm up, then the other half
        (fresh inputs) once and twice more, measuring what stays allocated."""
        sample = list(self.kept)
        if len(sample) < 20:
            return
        half = len(sample) // 2
        warm, fresh = sample[:half], sample[half:]

        def play(inputs):
            for x in inputs:
                self._execute(x, Counter())

        play(warm)
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            play(fresh)
            gc.collect()
            after_fresh = tracemalloc.get_traced_memory()[0]
            play(fresh)
            play(fresh)
            gc.collect()
            after_repeat = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        r = self.result
        r.replayed = len(fresh)
        r.retained_fresh = after_fresh - base
        r.retained_repeat = after_repeat - after_fresh
        if r.retained_fresh > RETAIN_FRESH_LIMIT or r.retained_repeat > RETAIN_REPEAT_LIMIT:
            v = _Violation("retained memory", "retained memory",
                           f"replaying {len(fresh)} inputs left {r.retained_fresh} bytes "
                           f"allocated, replaying them twice more {r.retained_repeat} more "
                           f"(limits {RETAIN_FRESH_LIMIT}, {RETAIN_REPEAT_LIMIT})", "?")
            self.failures[v.signature] = Failure(v.kind, v.signature, v.detail, v.where,
                                                 "(the replayed sample; no single input)",
                                                 False)


def _limit_shrinking(seconds: float | None) -> float | None:
    """Make hypothesis itself stop shrinking after ``seconds`` (its
    internal bound is five minutes; past our own deadline the candidates
    are not run, but hypothesis still builds each one, which for inputs of
    a megabyte takes long).  Returns the bound it replaced (None: unknown)."""
    try:
        from hypothesis.internal.conjecture import engine as conjecture_engine
    except ImportError:  # pragma: no cover - a hypothesis without it: our deadline only
        return None
    old = getattr(conjecture_engine, "MAX_SHRINKING_SECONDS", None)
    if old is not None and seconds is not None:
        conjecture_engine.MAX_SHRINKING_SECONDS = seconds
    return old


def _found(x: Any, violation: _Violation) -> None:
    # One raise site: hypothesis tells failures apart by where they were
    # raised, and shrinks only towards the same one.
    raise _Found(x, violation)


def _on_prof(signum, frame):
    raise _Hang()


def _find(exc: BaseException) -> _Found | None:
    if isinstance(exc, _Found):
        return exc
    for inner in getattr(exc, "exceptions", ()):
        found = _find(inner)
        if found is not None:
            return found
    cause = exc.__cause__ or exc.__context__
    return _find(cause) if cause is not None and cause is not exc else None


def _rss_max() -> int:
    """The process's peak resident set size, in bytes."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb if sys.platform == "darwin" else kb * 1024


def run_target(target: Target, count: int, seed: int = 0, *, time_bound: float = TIME_BOUND,
               progress: Callable[[Result], None] | None = None,
               crumbs: Callable[[str], None] | None = None,
               tick: Callable[[float], None] | None = None, replay: int = REPLAY_KEEP,
               shrink_seconds: float = SHRINK_SECONDS) -> Result:
    """Fuzz ``target`` with ``count`` inputs (see the module's docstring).
    ``progress(result)`` is called every 5000 inputs; ``crumbs(repr)`` is
    given each input before it runs (to find it after a crash) and
    ``tick(seconds)`` before each input runs, with the CPU seconds it is
    allowed (to re-arm an outside watchdog); ``replay``
    inputs are kept for the retained-memory check; each violation is shrunk
    for at most ``shrink_seconds``."""
    return _Runner(target, count, seed, time_bound=time_bound, progress=progress,
                   crumbs=crumbs, tick=tick, replay=replay,
                   shrink_seconds=shrink_seconds).run()
