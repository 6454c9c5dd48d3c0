"""Helpers of the remote-logging tests (see tests/logging/conftest.py for why
records are collected and forwarded the way they are)."""

from __future__ import annotations

import logging

from support.net import eventually

__all__ = ["SourcedRecords", "check_log_sender_records", "not_yet_sourced", "summary"]


def not_yet_sourced(record: logging.LogRecord) -> bool:
    """Forwarder filter: refuse records that arrived with a source (re-emitted ones)."""
    return not hasattr(record, "source")


def summary(records) -> list[tuple]:
    """``(name, levelno, message, source)`` of each record."""
    return [(r.name, r.levelno, r.getMessage(), r.source) for r in records]


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

        try:
            await eventually(lambda: len(have()) >= count, what=f"{count} records")
        except AssertionError:
            got = [(r.name, r.levelname, r.getMessage()) for r in have()]
            raise AssertionError(f"expected {count} records, got {len(got)}: {got}") from None
        return have()[:count]


async def check_log_sender_records(captured):
    """What tests/logging/log_sender.py sends must arrive, exactly."""
    got = await captured.wait_for(4, "sender")
    assert summary(got) == [
        ("sender.sub", logging.INFO, "plain", "remote-src"),
        ("sender.sub", logging.WARNING, "with args and 7", "remote-src"),
        ("sender", logging.ERROR, "two\nlines", "remote-src"),
        ("sender", logging.CRITICAL, "colons: a:b", "remote-src"),
    ]
