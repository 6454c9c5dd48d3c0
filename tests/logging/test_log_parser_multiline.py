"""LogParser rebuilds a multi-line message (a traceback, above all) into one
record, as the network Server does, with the same continuation counting:
lines fed one by one, streams that end or break in the middle, the bound on
announced line counts, and a real worker-shaped child process."""

from __future__ import annotations

import asyncio
import logging
import pathlib
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.logging_records import summary
from support.net import within

from sipyco._logs.wire import (
    DROPPED_LINE,
    MAX_RECORD_LINES,
    MessageAssembler,
    RecordAssembler,
)
from sipyco.logging_tools import LogParser, MultilineFormatter

HERE = pathlib.Path(__file__).resolve().parent

TRACEBACK = [
    "Traceback (most recent call last):",
    '  File "worker.py", line 12, in run',
    "TypeError: unsupported operand type(s) for +: 'int' and 'str'",
]


@pytest.fixture
def source():
    """A source name of this test's own, and the records that carry it."""
    return f"src{id(object())}"


def from_source(captured, source):
    return [r for r in captured.records if r.source == source]


def feed(parser, *lines):
    for line in lines:
        parser.line_input(line)


# ---- line_input ------------------------------------------------------------------


def test_a_traceback_is_one_record_with_its_first_line_intact(captured, source):
    parser = LogParser(lambda: source)
    feed(parser, "WARNING<3>:worker:" + TRACEBACK[0], *TRACEBACK[1:])
    [record] = from_source(captured, source)
    assert summary([record]) == [("worker", logging.WARNING, "\n".join(TRACEBACK), source)]
    assert record.getMessage().split("\n")[0] == "Traceback (most recent call last):"


def test_the_record_is_emitted_when_its_last_line_arrives(captured, source):
    parser = LogParser(lambda: source)
    feed(parser, "ERROR<3>:worker:one", "two")
    assert from_source(captured, source) == []
    parser.line_input("three")
    assert [r.getMessage() for r in from_source(captured, source)] == ["one\ntwo\nthree"]


def test_source_cb_is_asked_once_per_record(captured):
    calls = []

    def source_cb():
        calls.append(None)
        return f"call{len(calls)}"

    parser = LogParser(source_cb)
    feed(parser, "INFO<4>:counted:a", "b", "c", "d", "INFO:counted:e")
    got = [r for r in captured.records if r.name == "counted"]
    assert [(r.getMessage(), r.source) for r in got] == [("a\nb\nc\nd", "call1"), ("e", "call2")]
    assert len(calls) == 2


@pytest.mark.parametrize("continuation", [
    "ERROR:other:looks like a record",
    "CRITICAL<9>:other:looks like a long record",
    "WARN:x:",
    "INFO::",
    "KeyError: 'a:b:c'",
    "  http://host:80/path",
    ":",
    "",
    "   ",
])
def test_continuation_lines_are_taken_verbatim(captured, source, continuation):
    parser = LogParser(lambda: source)
    feed(parser, "ERROR<3>:worker:first", continuation, "last", "DEBUG:worker:next record")
    assert summary(from_source(captured, source)) == [
        ("worker", logging.ERROR, f"first\n{continuation}\nlast", source),
        ("worker", logging.DEBUG, "next record", source),
    ]


def test_multi_line_records_between_plain_lines(captured, source):
    parser = LogParser(lambda: source)
    feed(parser,
         "starting up",
         "INFO<2>:ctl.dev:connected to", "  /dev/ttyUSB0",
         "a plain line: from print()",
         "WARNING<3>:ctl:retrying", "attempt 2", "attempt 3",
         "ERROR<1>:ctl:one line said as one",
         "DEBUG<0>:ctl:zero means one too",
         "done")
    assert summary(from_source(captured, source)) == [
        ("print", logging.INFO, "starting up", source),
        ("ctl.dev", logging.INFO, "connected to\n  /dev/ttyUSB0", source),
        ("print", logging.INFO, "a plain line: from print()", source),
        ("ctl", logging.WARNING, "retrying\nattempt 2\nattempt 3", source),
        ("ctl", logging.ERROR, "one line said as one", source),
        ("ctl", logging.DEBUG, "zero means one too", source),
        ("print", logging.INFO, "done", source),
    ]


def test_flush_emits_an_unfinished_record(captured, source):
    parser = LogParser(lambda: source)
    feed(parser, "ERROR<5>:worker:Terminating", "Traceback (most recent call last):")
    assert from_source(captured, source) == []
    parser.flush()
    parser.flush()  # nothing more to give
    parser.line_input("INFO:worker:a header again")
    assert summary(from_source(captured, source)) == [
        ("worker", logging.ERROR, "Terminating\nTraceback (most recent call last):", source),
        ("worker", logging.INFO, "a header again", source),
    ]


# ---- the bound on announced lines -------------------------------------------------------


def test_an_absurd_line_count_is_plain_output(captured, source):
    parser = LogParser(lambda: source)
    header = f"ERROR<{MAX_RECORD_LINES + 1}>:worker:a liar"
    feed(parser, header, "INFO:worker:still a header")
    assert summary(from_source(captured, source)) == [
        ("print", logging.INFO, header, source),
        ("worker", logging.INFO, "still a header", source),
    ]


def test_the_largest_count_allowed_is_waited_for(captured, source):
    parser = LogParser(lambda: source)
    parser.line_input(f"INFO<{MAX_RECORD_LINES}>:big:first")
    for i in range(MAX_RECORD_LINES - 2):
        parser.line_input(f"INFO:big:{i}")
    assert from_source(captured, source) == []
    parser.line_input("last")
    [record] = from_source(captured, source)
    lines = record.getMessage().split("\n")
    assert (len(lines), lines[0], lines[1], lines[-1]) == (MAX_RECORD_LINES, "first",
                                                           "INFO:big:0", "last")


@pytest.mark.parametrize("assembler", [MessageAssembler, RecordAssembler])
def test_both_readers_share_the_bound(assembler):
    prefix = "src:" if assembler is RecordAssembler else ""
    asm = assembler()
    asm.feed(f"{prefix}INFO<{MAX_RECORD_LINES}>:n:m")
    assert asm.pending() is not None
    asm = assembler()
    with pytest.raises(ValueError, match=str(MAX_RECORD_LINES)):
        asm.feed(f"{prefix}INFO<{MAX_RECORD_LINES + 1}>:n:m")
    assert asm.pending() is None


def test_the_server_assembler_is_the_parser_one_with_a_source_prefix():
    assert issubclass(RecordAssembler, MessageAssembler)
    asm = RecordAssembler()
    assert asm.feed("host:WARNING<2>:n:a") is None
    rec = asm.feed("host:not a source")
    assert (rec.source, rec.level, rec.name, rec.message) == ("host", logging.WARNING, "n",
                                                              "a\nhost:not a source")


# ---- stream_task ---------------------------------------------------------------------


def _stream(data: bytes, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return reader


@pytest.mark.asyncio
async def test_stream_task_rebuilds_records(captured, source):
    data = ("plain\r\n"
            "WARNING<3>:worker:" + TRACEBACK[0] + "\r\n"
            + "\n".join(TRACEBACK[1:]) + "\n"
            "INFO:worker:after\n").encode()
    await within(LogParser(lambda: source).stream_task(_stream(data)))
    assert summary(from_source(captured, source)) == [
        ("print", logging.INFO, "plain", source),
        ("worker", logging.WARNING, "\n".join(TRACEBACK), source),
        ("worker", logging.INFO, "after", source),
    ]


@pytest.mark.asyncio
@pytest.mark.parametrize("ending", ["\n", ""])
async def test_a_record_cut_by_the_end_of_the_stream(captured, source, ending):
    data = f"ERROR<4>:worker:Terminating\n{TRACEBACK[0]}\n{TRACEBACK[1]}{ending}".encode()
    await within(LogParser(lambda: source).stream_task(_stream(data)))
    assert summary(from_source(captured, source)) == [
        ("worker", logging.ERROR, f"Terminating\n{TRACEBACK[0]}\n{TRACEBACK[1]}", source),
    ]


@pytest.mark.asyncio
async def test_a_cancelled_stream_task_emits_what_arrived(captured, source):
    reader = _stream(b"ERROR<3>:worker:one\ntwo\n", eof=False)
    task = asyncio.ensure_future(LogParser(lambda: source).stream_task(reader))
    await asyncio.sleep(0.05)
    assert from_source(captured, source) == []
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await within(task)
    assert [r.getMessage() for r in from_source(captured, source)] == ["one\ntwo"]


@pytest.mark.asyncio
async def test_an_over_long_line_inside_a_record_keeps_the_count(captured, source):
    data = (b"ERROR<3>:worker:one\n" + b"x" * 100 + b"\nthree\n"
            + b"y" * 100 + b"\n"  # between records: skipped
            + b"INFO:worker:next\n")
    await within(LogParser(lambda: source).stream_task(_stream(data), max_message_size=64))
    assert summary(from_source(captured, source)) == [
        ("worker", logging.ERROR, f"one\n{DROPPED_LINE}\nthree", source),
        ("worker", logging.INFO, "next", source),
    ]


@pytest.mark.asyncio
async def test_an_over_long_last_line_completes_the_record(captured, source):
    data = b"ERROR<2>:worker:one\n" + b"x" * 100 + b"\nINFO:worker:next\n"
    await within(LogParser(lambda: source).stream_task(_stream(data), max_message_size=64))
    assert [r.getMessage() for r in from_source(captured, source)] == [
        f"one\n{DROPPED_LINE}", "next"]


# ---- what the formatter writes, the parser reads back -------------------------------------


@given(messages=st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
                         min_size=1, max_size=4),
       levelno=st.sampled_from([50, 40, 30, 20, 10, 5]))
def test_formatter_to_parser_round_trip(messages, levelno):
    """Whatever the messages hold, each comes back as exactly one record."""
    got = []
    handler = logging.Handler(level=1)
    handler.emit = got.append
    handler.addFilter(lambda r: getattr(r, "source", None) == "round-trip")
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(1)
    root.addHandler(handler)
    try:
        parser = LogParser(lambda: "round-trip")
        for message in messages:
            record = logging.LogRecord("rt.logger", levelno, __file__, 1, message, None, None)
            for line in MultilineFormatter().format(record).split("\n"):
                parser.line_input(line)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert [(r.name, r.levelno, r.getMessage()) for r in got] == [
        ("rt.logger", levelno, m) for m in messages]


# ---- a worker-shaped child process ------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("how", ["multiline_log_config", "init_logger_from_args"])
async def test_a_worker_traceback_arrives_as_one_record(captured, source, how):
    """A child that logs an exception with logger.exception and exits; its
    stderr read with LogParser.stream_task, as a master reads its workers'
    and a controller manager its controllers'."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "log_worker.py"), how,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    await within(LogParser(lambda: source).stream_task(proc.stderr), 60)
    assert await within(proc.wait(), 60) == 1

    got = from_source(captured, source)
    assert summary(got[:1]) == [("worker", logging.INFO, "running the experiment", source)]
    assert summary(got[2:]) == [("print", logging.INFO, "worker gone", source)]
    failure = got[1]
    assert (failure.name, failure.levelno) == ("worker", logging.ERROR)
    lines = failure.getMessage().split("\n")
    assert lines[0] == "Terminating with exception (TypeError)"
    assert lines[1] == "Traceback (most recent call last):"
    assert "KeyError: 'scan'" in lines
    assert "" in lines  # the blank lines around the chaining notice
    assert "The above exception was the direct cause of the following exception:" in lines
    assert any("in run_experiment" in line for line in lines)
    assert lines[-2:] == ["TypeError: no 'scan' in params", "ERROR:forged:not a record"]
    assert [r for r in got if r.name == "forged"] == []
