"""The remote-logging line format, without I/O.

A message of one line is written ``LEVEL:NAME:MESSAGE``; a message of N > 1
lines ``LEVEL<N>:NAME:FIRST_LINE`` followed by its N-1 other lines as they
are.  A child process writes that on its console (:class:`LogParser` reads
it); a forwarder sends it with a ``SOURCE:`` prefix on each header (the
:class:`Server` reads that).  This module turns those lines back into
records: :class:`MessageAssembler` does the continuation counting for both
readers, :class:`RecordAssembler` adds the ``SOURCE:`` prefix on top.
"""

from __future__ import annotations

import logging
import re

__all__ = ["TRACE", "LEVELS", "MAX_RECORD_LINES", "DROPPED_LINE", "parse_log_message",
           "Record", "MessageAssembler", "RecordAssembler", "MalformedLine"]

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

#: The most lines a header may announce (``LEVEL<N>`` with a larger N is
#: refused): a reader never waits for, nor holds, more lines for one record
#: than this, whatever a peer claims.  Python's own tracebacks stay far below
#: it (recursion is folded into "[Previous line repeated ...]").
MAX_RECORD_LINES = 100_000

#: What takes the place of a line that was dropped (over the size limit)
#: inside a multi-line record, so the count of the lines after it stays right.
DROPPED_LINE = "<line too long, dropped>"

_MESSAGE = re.compile(r"(" + "|".join(LEVELS) + r")(?:<(\d{1,9})>)?:([^:]*):(.*)", re.DOTALL)


def parse_log_message(msg: str) -> tuple[int, int, str, str]:
    """``(further_lines, level, logger_name, message)`` for a line in the
    ``LEVEL[<N>]:NAME:MESSAGE`` form; anything else is an INFO message from
    logger ``print`` with no further lines.

    ``msg`` is one line, without its newline; nothing raises for a line that
    does not parse."""
    m = _MESSAGE.fullmatch(msg)
    if m is None:
        return 0, logging.INFO, "print", msg
    count = int(m.group(2)) if m.group(2) else 1
    return max(count, 1) - 1, LEVELS[m.group(1)], m.group(3), m.group(4)


class MalformedLine(ValueError):
    """A line that is not a record header where one was expected."""


class Record:
    """One received record: where it came from (None when the reader knows
    that by itself) and what it says."""

    __slots__ = ("source", "level", "name", "lines")

    def __init__(self, source: str | None, level: int, name: str, first_line: str):
        self.source = source
        self.level = level
        self.name = name
        self.lines = [first_line]

    @property
    def message(self) -> str:
        return "\n".join(self.lines)


class MessageAssembler:
    """Feed it ``LEVEL[<N>]:NAME:MESSAGE`` lines one by one; it gives back
    each complete record.

    A line is either the header of a new record or, when the previous header
    announced more lines, one of those continuation lines, taken verbatim
    whatever it contains (even a valid header): a message's own newlines can
    never forge a record.  A header line that does not parse is a one-line
    INFO record of logger ``print`` (see :func:`parse_log_message`).

    With ``max_record_size``, a record keeps at most that many characters of
    message (newlines included): continuation lines past it are counted and
    dropped, and a last line says how many were (so a peer announcing many
    long lines cannot make a reader hold them all).
    """

    def __init__(self, max_record_size: int | None = None) -> None:
        self._open: Record | None = None
        self._missing = 0
        self.max_record_size = max_record_size
        self._size = 0   # characters of the open record's message so far
        self._cut = 0    # continuation lines of the open record dropped

    def feed(self, line: str) -> Record | None:
        """Returns the record ``line`` completes, if any.  Raises
        MalformedLine (and stays between records) for a header announcing
        more than :data:`MAX_RECORD_LINES` lines."""
        if self._missing:
            limit = self.max_record_size
            if limit is not None and (self._cut or self._size + 1 + len(line) > limit):
                self._cut += 1
            else:
                self._open.lines.append(line)
                self._size += 1 + len(line)
            self._missing -= 1
            if self._missing:
                return None
            return self.flush()
        source, text = self._split_source(line)
        further, level, name, message = parse_log_message(text)
        if further >= MAX_RECORD_LINES:
            raise MalformedLine(f"a record announcing {further + 1} lines "
                                f"(at most {MAX_RECORD_LINES} are taken)")
        record = Record(source, level, name, message)
        if further:
            self._open = record
            self._missing = further
            self._size = len(message)
            self._cut = 0
            return None
        return record

    def drop_line(self) -> Record | None:
        """Account for a line that was read but dropped: inside a record,
        :data:`DROPPED_LINE` takes its place (and may complete the record,
        which is returned); between records there is nothing to do."""
        return self.feed(DROPPED_LINE) if self._missing else None

    def pending(self) -> Record | None:
        """The record still waiting for continuation lines, if any."""
        return self._open

    def flush(self) -> Record | None:
        """Give up waiting (the input ended): the unfinished record with the
        lines that arrived, if any; the next line is a header again."""
        record, self._open, self._missing = self._open, None, 0
        if self._cut:
            record.lines.append(f"<{self._cut} more lines dropped: the record is longer "
                                f"than {self.max_record_size} characters>")
            self._cut = 0
        return record

    def _split_source(self, line: str) -> tuple[str | None, str]:
        """(source, the rest of a header line); this format has no source."""
        return None, line


class RecordAssembler(MessageAssembler):
    """The network variant: every header is prefixed with ``SOURCE:``
    (continuation lines are not)."""

    def _split_source(self, line: str) -> tuple[str, str]:
        source, sep, rest = line.partition(":")
        if not sep:
            raise MalformedLine(f"no SOURCE: prefix in {line[:80]!r}")
        return source, rest
