"""The cyclic garbage collector paused while one large message is built.

Reading a message of a million small containers makes CPython's collector
run again and again over a heap that only grows: ``json.loads`` of 4 MiB of
``[[],[],...]`` spends about three quarters of its time in the collector.
None of what a reader builds can be garbage until it returns, so the
readers and writers of large messages pause the collector meanwhile.

:func:`paused_gc` nests and may be entered from several threads at once (an
asyncio server decodes large requests off its event loop): the collector is
paused by the first to enter and restored by the last to leave, and only if
it was enabled when the first entered, so a program that disabled it itself
finds it disabled still.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc", "PAUSE_GC_OVER"]

#: Texts shorter than this are read with the collector left alone: too few
#: containers for a collection to matter, and the pause is not free.
PAUSE_GC_OVER = 1 << 16


class _Pauses:
    """How many pauses are in progress, and what to restore after the last."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.restore = False


_pauses = _Pauses()


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run the body with the cyclic collector disabled (see the module)."""
    pauses = _pauses
    with pauses.lock:
        if pauses.depth == 0:
            pauses.restore = gc.isenabled()
            gc.disable()
        pauses.depth += 1
    try:
        yield
    finally:
        with pauses.lock:
            pauses.depth -= 1
            if pauses.depth == 0 and pauses.restore:
                gc.enable()
