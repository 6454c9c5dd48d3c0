"""Seeing a server's event loop take turns: a ticker task on that loop logs
a mark each time it runs, the server's work logs its own marks in the same
list, and :func:`runs_between_turns` counts how much work ran between two
of the ticker's turns."""

from __future__ import annotations

import asyncio
import threading

TICK = "tick"


class Ticker:
    """A task on ``loop`` appending :data:`TICK` to ``marks`` every time it
    gets a turn, until :meth:`stop`."""

    def __init__(self, marks: list, loop: asyncio.AbstractEventLoop):
        self.marks = marks
        self._stopping = threading.Event()  # set from any thread
        self._done = asyncio.run_coroutine_threadsafe(self._tick(), loop)

    async def _tick(self) -> None:
        while not self._stopping.is_set():
            self.marks.append(TICK)
            await asyncio.sleep(0)

    def stop(self) -> None:
        """Stop ticking; from a thread other than the loop's (and wait)."""
        self._stopping.set()
        self._done.result(30)

    async def stop_on_loop(self) -> None:
        """Stop ticking, from a coroutine on the ticker's own loop."""
        self._stopping.set()
        await asyncio.wrap_future(self._done)


def runs_between_turns(marks: list) -> list[int]:
    """How many marks other than :data:`TICK` came between each two ticks
    (and before the first, after the last)."""
    runs, run = [], 0
    for mark in marks:
        if mark == TICK:
            runs.append(run)
            run = 0
        else:
            run += 1
    runs.append(run)
    return runs
