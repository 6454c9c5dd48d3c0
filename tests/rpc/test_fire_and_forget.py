"""FFProxy: one background call at a time, failures as warnings."""

from __future__ import annotations

import threading
import warnings

import pytest

from sipyco.fire_and_forget import FFProxy


class Slow:
    def __init__(self):
        self.started = threading.Event()
        self.release = threading.Event()
        self.calls = []

    def work(self, x):
        self.calls.append(x)
        self.started.set()
        assert self.release.wait(30)

    def quick(self, x):
        self.calls.append(x)

    def broken(self):
        raise RuntimeError("kaput")


def test_call_returns_at_once_and_runs_in_background():
    target = Slow()
    proxy = FFProxy(target)
    assert proxy.work(1) is None
    assert target.started.wait(30)
    assert threading.current_thread() is threading.main_thread()
    target.release.set()
    proxy.ff_join()
    assert target.calls == [1]


def test_call_while_busy_is_dropped_with_a_warning():
    target = Slow()
    proxy = FFProxy(target)
    proxy.work(1)
    assert target.started.wait(30)
    with pytest.warns(RuntimeWarning, match="dropped"):
        proxy.quick(2)
    target.release.set()
    proxy.ff_join()
    proxy.quick(3)
    proxy.ff_join()
    assert target.calls == [1, 3]


def test_exceptions_become_warnings():
    proxy = FFProxy(Slow())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        proxy.broken()
        proxy.ff_join()
    assert any("kaput" in str(w.message) for w in caught)


def test_ff_join_without_calls_and_unknown_methods():
    proxy = FFProxy(Slow())
    proxy.ff_join()
    with pytest.raises(AttributeError):
        proxy.no_such_method()
