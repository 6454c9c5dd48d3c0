"""Helpers shared by the remote-logging tests (see conftest.py for why
records are collected and forwarded the way they are)."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_until(predicate, what: str, timeout: float = 15.0) -> None:
    """Poll ``predicate`` on the running loop; fail (never hang) after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        await asyncio.sleep(0.01)


def not_yet_sourced(record: logging.LogRecord) -> bool:
    """Forwarder filter: refuse records that arrived with a source (re-emitted ones)."""
    return not hasattr(record, "source")


class SourcedRecords(logging.Handler):
    """Keeps the records that carry a ``source``: those a Server re-emitted
    (and LogParser's)."""

    def __init__(self) -> None:
        super().__init__(level=1)
        self.records: list[logging.LogRecord] = []
        self.addFilter(lambda record: hasattr(record, "source"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def named(self, prefix: str) -> list[logging.LogRecord]:
        return [r for r in self.records if r.name == prefix or r.name.startswith(prefix + ".")]

    async def wait_for(self, count: int, prefix: str | None = None) -> list[logging.LogRecord]:
        """The first ``count`` records (of loggers under ``prefix``), once they are there."""
        def have():
            return self.records if prefix is None else self.named(prefix)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15.0
        while len(have()) < count:
            if loop.time() > deadline:
                got = [(r.name, r.levelname, r.getMessage()) for r in have()]
                pytest.fail(f"expected {count} records, got {len(got)}: {got}")
            await asyncio.sleep(0.01)
        return have()[:count]


async def check_log_sender_records(captured):
    """What tests/logging/log_sender.py sends must arrive, exactly."""
    got = await captured.wait_for(4, "sender")
    assert [(r.name, r.levelno, r.getMessage(), r.source) for r in got] == [
        ("sender.sub", logging.INFO, "plain", "remote-src"),
        ("sender.sub", logging.WARNING, "with args and 7", "remote-src"),
        ("sender", logging.ERROR, "two\nlines", "remote-src"),
        ("sender", logging.CRITICAL, "colons: a:b", "remote-src"),
    ]
