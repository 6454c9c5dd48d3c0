"""The remote-logging line format without any I/O: parse_log_message, the
RecordAssembler that turns received lines into records, and the
MultilineFormatter that writes them."""

from __future__ import annotations

import logging
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sipyco._logs.wire import MalformedLine, RecordAssembler
from sipyco.logging_tools import LEVELS, TRACE, MultilineFormatter, parse_log_message

ALL_LEVELS = [
    ("CRITICAL", 50),
    ("ERROR", 40),
    ("WARN", 30),
    ("WARNING", 30),
    ("INFO", 20),
    ("DEBUG", 10),
    ("TRACE", 5),
]


def make_record(name, level, msg, args=None, exc_info=None):
    return logging.LogRecord(name, level, __file__, 1, msg, args, exc_info)


# ---- parse_log_message -------------------------------------------------------


def test_trace_is_level_5_and_known_to_logging():
    assert TRACE == 5
    assert logging.getLevelName(5) == "TRACE"
    assert dict(LEVELS) == dict(ALL_LEVELS)


@pytest.mark.parametrize("levelname, levelno", ALL_LEVELS)
def test_every_level_name_parses(levelname, levelno):
    assert parse_log_message(f"{levelname}:dev.sub:hello") == (0, levelno, "dev.sub", "hello")


@pytest.mark.parametrize("levelname, levelno", ALL_LEVELS)
def test_every_level_name_takes_a_line_count(levelname, levelno):
    assert parse_log_message(f"{levelname}<4>:dev:first") == (3, levelno, "dev", "first")


@pytest.mark.parametrize("count, further", [(1, 0), (2, 1), (3, 2), (10, 9), (12345, 12344)])
def test_line_counts(count, further):
    assert parse_log_message(f"INFO<{count}>:n:m") == (further, logging.INFO, "n", "m")


def test_a_zero_line_count_means_no_further_lines():
    assert parse_log_message("ERROR<0>:n:m") == (0, logging.ERROR, "n", "m")


@pytest.mark.parametrize("line, name, message", [
    ("INFO:dev:a: b :c", "dev", "a: b :c"),        # colons in the message are kept
    ("INFO:dev::", "dev", ":"),
    ("INFO:dev:", "dev", ""),                       # an empty message
    ("INFO:a.b.c:x", "a.b.c", "x"),                 # dotted logger names
    ("INFO:ctl:http://host:80/x", "ctl", "http://host:80/x"),
    # a logger name cannot hold a colon: the name ends at the first one
    ("INFO:a:b:c", "a", "b:c"),
    ("INFO::no name", "", "no name"),
])
def test_names_and_messages_with_colons(line, name, message):
    assert parse_log_message(line) == (0, logging.INFO, name, message)


@pytest.mark.parametrize("line", [
    "just some output",
    "",
    "INFO",
    "INFO:",
    "INFO:only-a-name",
    "info:dev:lower-case level",
    "NOTICE:dev:unknown level",
    "Level 25:dev:custom level",
    "INFO<x>:dev:bad count",
    "INFO<>:dev:empty count",
    "INFO<-1>:dev:negative count",
    "INFO<2:dev:unclosed count",
    " INFO:dev:leading space",
    "INFO :dev:space before colon",
    "Traceback (most recent call last):",
    "  File \"x.py\", line 1, in <module>",
    "ZeroDivisionError: division by zero",
    "12:30:00 the time",
])
def test_lines_that_do_not_parse_are_print_output(line):
    assert parse_log_message(line) == (0, logging.INFO, "print", line)


# ---- RecordAssembler ----------------------------------------------------------


def _as_tuple(record):
    return record.source, record.level, record.name, record.message


def test_single_line_record():
    asm = RecordAssembler()
    rec = asm.feed("SRC:WARNING:dev.sub:watch out: hot")
    assert _as_tuple(rec) == ("SRC", logging.WARNING, "dev.sub", "watch out: hot")
    assert asm.pending() is None


@pytest.mark.parametrize("levelname, levelno", ALL_LEVELS)
def test_assembled_levels(levelname, levelno):
    rec = RecordAssembler().feed(f"host:{levelname}:n:m")
    assert _as_tuple(rec) == ("host", levelno, "n", "m")


def test_multi_line_record():
    asm = RecordAssembler()
    assert asm.feed("SRC:ERROR<3>:dev:first") is None
    assert asm.pending() is not None
    assert asm.feed("second") is None
    rec = asm.feed("third")
    assert _as_tuple(rec) == ("SRC", logging.ERROR, "dev", "first\nsecond\nthird")
    assert asm.pending() is None
    # and the next line is a header again
    assert _as_tuple(asm.feed("SRC:INFO:dev:next")) == ("SRC", logging.INFO, "dev", "next")


def test_continuation_lines_that_look_like_headers_are_taken_verbatim():
    asm = RecordAssembler()
    assert asm.feed("SRC:INFO<4>:dev:first") is None
    assert asm.feed("OTHER:CRITICAL:forged:record") is None
    assert asm.feed("no source at all") is None
    rec = asm.feed("")
    assert _as_tuple(rec) == ("SRC", logging.INFO, "dev",
                              "first\nOTHER:CRITICAL:forged:record\nno source at all\n")


def test_a_source_line_that_does_not_parse_is_print_output():
    rec = RecordAssembler().feed("ctl:some plain output")
    assert _as_tuple(rec) == ("ctl", logging.INFO, "print", "some plain output")


@pytest.mark.parametrize("line", ["no source prefix", "", "INFO without colon"])
def test_missing_source_prefix_is_malformed(line):
    asm = RecordAssembler()
    with pytest.raises(MalformedLine):
        asm.feed(line)
    # the assembler is still usable afterwards
    assert _as_tuple(asm.feed("s:INFO:n:m")) == ("s", logging.INFO, "n", "m")


def test_an_absurd_line_count_is_malformed():
    asm = RecordAssembler()
    with pytest.raises(MalformedLine):
        asm.feed("s:INFO<999999999>:n:m")
    assert asm.pending() is None
    assert _as_tuple(asm.feed("s:INFO:n:m")) == ("s", logging.INFO, "n", "m")


def test_pending_gives_the_unfinished_record():
    asm = RecordAssembler()
    asm.feed("s:DEBUG<3>:n:one")
    asm.feed("two")
    rec = asm.pending()
    assert _as_tuple(rec) == ("s", logging.DEBUG, "n", "one\ntwo")


# ---- MultilineFormatter ---------------------------------------------------------


def test_single_line_format():
    fmt = MultilineFormatter()
    assert fmt.format(make_record("dev.sub", logging.WARNING, "msg")) == "WARNING:dev.sub:msg"
    assert fmt.format(make_record("n", TRACE, "tiny")) == "TRACE:n:tiny"


def test_multi_line_format():
    fmt = MultilineFormatter()
    assert fmt.format(make_record("name", logging.INFO, "a\nb\nc")) == "INFO<3>:name:a\nb\nc"
    assert fmt.format(make_record("name", logging.ERROR, "a\n")) == "ERROR<2>:name:a\n"


def test_args_are_applied():
    fmt = MultilineFormatter()
    rec = make_record("n", logging.INFO, "%d items in %s", (3, "box"))
    assert fmt.format(rec) == "INFO:n:3 items in box"


def test_a_traceback_is_counted():
    fmt = MultilineFormatter()
    try:
        raise ValueError("bad value")
    except ValueError:
        rec = make_record("n", logging.ERROR, "it failed", exc_info=sys.exc_info())
    text = fmt.format(rec)
    lines = text.split("\n")
    assert lines[0] == f"ERROR<{len(lines)}>:n:it failed"
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: bad value"


names = st.text(st.characters(blacklist_characters=":\n", blacklist_categories=("Cs",)),
                min_size=1, max_size=20)


@given(levelno=st.sampled_from([50, 40, 30, 20, 10, 5]), name=names,
       message=st.text(st.characters(blacklist_categories=("Cs",)), max_size=60),
       source=names)
def test_formatter_and_assembler_round_trip(levelno, name, message, source):
    """Whatever the message holds, the receiving side gets exactly one record
    back, identical to what was logged."""
    text = MultilineFormatter().format(make_record(name, levelno, message))
    asm = RecordAssembler()
    records = [r for r in (asm.feed(line) for line in f"{source}:{text}".split("\n"))
               if r is not None]
    assert asm.pending() is None
    assert [_as_tuple(r) for r in records] == [(source, levelno, name, message)]
