"""Helpers of the PYON tests: strict structural equality, a hang guard, and
the test-case shorthands the text tests share."""

from __future__ import annotations

import base64
import concurrent.futures
import math
import threading
from collections import OrderedDict

import numpy
import pytest

__all__ = ["assert_same", "b64", "case", "run_guarded", "HANG_GUARD_SECONDS"]

# How long one decode may run before the hang guard gives up on it.  This is
# not a performance requirement: every text used with it is refused (or read)
# in milliseconds, the guard only turns an endless loop into a failure.
HANG_GUARD_SECONDS = 5


def b64(data) -> str:
    """Base64 text of ``bytes`` or of an array's C-ordered buffer."""
    if isinstance(data, (numpy.ndarray, numpy.generic)):
        data = data.tobytes()
    return base64.b64encode(data).decode("ascii")


def case(id_, value, text):
    """One ``(value, text)`` parameter set of a text test, named ``id_``."""
    return pytest.param(value, text, id=id_)


def _same_float(actual: float, expected: float, path: str) -> None:
    if math.isnan(expected):
        assert math.isnan(actual), f"{path}: {actual!r} is not nan"
        return
    assert actual == expected, f"{path}: {actual!r} != {expected!r}"
    assert math.copysign(1.0, actual) == math.copysign(1.0, expected), \
        f"{path}: sign of zero differs ({actual!r} vs {expected!r})"


def assert_same(actual, expected, path: str = "x", *, ordered: bool = True) -> None:
    """Assert ``actual`` equals ``expected`` with exactly the same types, all the
    way down.  nan equals nan, -0.0 differs from 0.0, arrays must agree in
    dtype, shape and every byte.  ``ordered=False`` ignores the order of plain
    dict items (the pretty form sorts them)."""
    assert type(actual) is type(expected), \
        f"{path}: type {type(actual).__name__} != {type(expected).__name__}"
    if isinstance(expected, numpy.ndarray):
        assert actual.dtype == expected.dtype, f"{path}: dtype {actual.dtype} != {expected.dtype}"
        assert actual.dtype.str == expected.dtype.str, f"{path}: {actual.dtype.str!r}"
        assert actual.shape == expected.shape, f"{path}: shape {actual.shape} != {expected.shape}"
        assert actual.tobytes() == expected.tobytes(), f"{path}: array contents differ"
    elif isinstance(expected, numpy.generic):
        assert actual.dtype == expected.dtype, f"{path}: dtype {actual.dtype} != {expected.dtype}"
        assert actual.tobytes() == expected.tobytes(), f"{path}: {actual!r} != {expected!r}"
    elif type(expected) is float:
        _same_float(actual, expected, path)
    elif type(expected) is complex:
        _same_float(actual.real, expected.real, path + ".real")
        _same_float(actual.imag, expected.imag, path + ".imag")
    elif type(expected) in (list, tuple):
        assert len(actual) == len(expected), f"{path}: length {len(actual)} != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{path}[{i}]", ordered=ordered)
    elif type(expected) is set:
        assert len(actual) == len(expected), f"{path}: size {len(actual)} != {len(expected)}"
        members = {m: m for m in actual}
        for e in expected:
            assert e in members, f"{path}: element {e!r} is missing"
            assert_same(members[e], e, f"{path} (element {e!r})", ordered=ordered)
    elif type(expected) is OrderedDict or (type(expected) is dict and ordered):
        assert len(actual) == len(expected), f"{path}: size {len(actual)} != {len(expected)}"
        for (ak, av), (ek, ev) in zip(actual.items(), expected.items(), strict=True):
            assert_same(ak, ek, f"{path} key {ek!r}", ordered=ordered)
            assert_same(av, ev, f"{path}[{ek!r}]", ordered=ordered)
    elif type(expected) is dict:
        assert len(actual) == len(expected), f"{path}: size {len(actual)} != {len(expected)}"
        keys = {k: k for k in actual}
        for ek, ev in expected.items():
            assert ek in keys, f"{path}: key {ek!r} is missing"
            assert_same(keys[ek], ek, f"{path} key {ek!r}", ordered=ordered)
            assert_same(actual[ek], ev, f"{path}[{ek!r}]", ordered=ordered)
    elif type(expected) is slice:
        for part in ("start", "stop", "step"):
            assert_same(getattr(actual, part), getattr(expected, part), f"{path}.{part}",
                        ordered=ordered)
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def run_guarded(fn, *args, timeout: float = HANG_GUARD_SECONDS):
    """Call ``fn(*args)`` in a daemon thread and return its result (or raise
    its exception); fail with ``TimeoutError`` if it has not finished in
    ``timeout`` seconds.  A daemon thread is used so that a decode that never
    returns cannot keep the interpreter alive after the test session."""
    future: concurrent.futures.Future = concurrent.futures.Future()

    def work():
        if not future.set_running_or_notify_cancel():
            return
        try:
            result = fn(*args)
        except BaseException as exc:  # handed to the waiting test as it is
            future.set_exception(exc)
        else:
            future.set_result(result)

    threading.Thread(target=work, daemon=True, name="pyon-hang-guard").start()
    try:
        return future.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        raise TimeoutError(f"{getattr(fn, '__name__', fn)} did not return within "
                           f"{timeout} s: it hangs or does far more work than its input") \
            from None
