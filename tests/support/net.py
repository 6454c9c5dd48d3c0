"""Ports and bounded waiting: a test that would hang fails instead."""

from __future__ import annotations

import asyncio
import socket
import time

__all__ = ["LIMIT", "free_port", "within", "eventually", "wait_until"]

#: The longest any single wait may take before it is reported as a failure.
#: Not a performance requirement: what the tests wait for normally happens
#: in milliseconds; the limit only turns a hang into a failure.
LIMIT = 20.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listened on a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def within(awaitable, limit: float = LIMIT):
    """Await ``awaitable``; fail (instead of hanging) after ``limit`` seconds.
    Whatever it raises itself, a TimeoutError included, goes through."""
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait([task], timeout=limit)
    if not done:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise AssertionError(f"did not finish within {limit} s")
    return task.result()


async def eventually(predicate, limit: float = LIMIT, what: str | None = None) -> None:
    """Poll ``predicate()`` on the running loop until it is true; fail after
    ``limit`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"not true within {limit} s: {what or predicate}")
        await asyncio.sleep(0.005)


def wait_until(predicate, limit: float = LIMIT, what: str | None = None) -> None:
    """The blocking twin of :func:`eventually`, for threads and subprocesses."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {limit} s: {what or predicate}")
        time.sleep(0.005)
