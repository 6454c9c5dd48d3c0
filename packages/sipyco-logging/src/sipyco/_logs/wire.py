"""The remote-logging line format, without I/O.

A record travels as ``SOURCE:LEVEL:NAME:MESSAGE``; a message of N > 1 lines
as ``SOURCE:LEVEL<N>:NAME:FIRST_LINE`` followed by its N-1 other lines as
they are.  This module turns records into those lines and lines back into
records, refusing (not guessing at) anything malformed.
"""

from __future__ import annotations

import logging
import re

__all__ = ["TRACE", "LEVELS", "parse_log_message", "Record", "RecordAssembler",
           "MalformedLine"]

TRACE = 5

#: The level names the format knows (WARN is an alias of WARNING).
LEVELS = {
    "CRITICAL": logging.CRITICAL,
    "ERROR": logging.ERROR,
    "WARN": logging.WARNING,
    "WARNING": logging.WARNING,
    "INFO": logging.INFO,
    "DEBUG": logging.DEBUG,
    "TRACE": TRACE,
}

_MESSAGE = re.compile(r"(" + "|".join(LEVELS) + r")(?:<(\d{1,9})>)?:([^:]*):(.*)", re.DOTALL)
_MAX_LINES = 100_000


def parse_log_message(msg: str) -> tuple[int, int, str, str]:
    """``(further_lines, level, logger_name, message)`` for a line in the
    ``LEVEL[<N>]:NAME:MESSAGE`` form; anything else is an INFO message from
    logger ``print`` with no further lines."""
    m = _MESSAGE.fullmatch(msg)
    if m is None:
        return 0, logging.INFO, "print", msg
    count = int(m.group(2)) if m.group(2) else 1
    return max(count, 1) - 1, LEVELS[m.group(1)], m.group(3), m.group(4)


class MalformedLine(ValueError):
    """A line that is not a record header where one was expected."""


class Record:
    """One received record: where it came from and what it says."""

    __slots__ = ("source", "level", "name", "lines")

    def __init__(self, source: str, level: int, name: str, first_line: str):
        self.source = source
        self.level = level
        self.name = name
        self.lines = [first_line]

    @property
    def message(self) -> str:
        return "\n".join(self.lines)


class RecordAssembler:
    """Feed it lines one by one; it gives back each complete record.

    A line is either the header of a new record or, when the previous header
    announced more lines, one of those continuation lines, taken verbatim
    whatever it contains: a message's own newlines can never forge a record.
    """

    def __init__(self) -> None:
        self._open: Record | None = None
        self._missing = 0

    def feed(self, line: str) -> Record | None:
        """Returns the record ``line`` completes, if any; MalformedLine for a
        header without a ``SOURCE:`` prefix or with an absurd line count."""
        if self._missing:
            record = self._open
            record.lines.append(line)
            self._missing -= 1
            if self._missing:
                return None
            self._open = None
            return record
        source, sep, rest = line.partition(":")
        if not sep:
            raise MalformedLine(f"no SOURCE: prefix in {line[:80]!r}")
        further, level, name, message = parse_log_message(rest)
        if further > _MAX_LINES:
            raise MalformedLine(f"a record announcing {further + 1} lines")
        record = Record(source, level, name, message)
        if further:
            self._open = record
            self._missing = further
            return None
        return record

    def pending(self) -> Record | None:
        """A record still waiting for continuation lines (at end of stream)."""
        return self._open
