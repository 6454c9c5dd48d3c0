"""Target classes the pc_rpc tests serve."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Optional


class CustomError(Exception):
    pass


class Echo:
    """A target that returns what it is given."""

    def __init__(self):
        self.active = 0
        self.peak = 0
        self._lock = threading.Lock()

    def echo(self, x):
        """Return x unchanged."""
        return x

    def add(self, a: int, b: int = 2, *rest, scale: float = 1.0, **extra) -> float:
        return (a + b + sum(rest)) * scale

    def fail_value(self, text):
        raise ValueError(text)

    def fail_custom(self):
        raise CustomError("custom trouble")

    def fail_os(self):
        raise FileNotFoundError(2, "No such file", "/nowhere")

    def return_object(self):
        return object()

    def blob(self, nbytes: int) -> bytes:
        return b"x" * nbytes

    def quit(self):
        raise SystemExit

    async def slow(self, x, delay: float = 0.05):
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(delay)
        finally:
            self.active -= 1
        return x

    def block(self, seconds: float):
        time.sleep(seconds)
        return seconds

    def get_peak(self):
        return self.peak

    # typing.Optional on purpose: the method list must render it
    def annotated(self, a: list[int], b: Optional[int] = None) -> dict[str, float]:  # noqa: UP045
        return {}

    def _private(self):
        return "secret"


class Counter:
    """Made once per connection when served as a class."""

    def __init__(self):
        self.n = 0

    def incr(self):
        self.n += 1
        return self.n
