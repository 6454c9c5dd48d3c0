"""LogParser (a child process's log output back into records), the one
formatter class shared with common_args, and real subprocesses on both ends."""

from __future__ import annotations

import argparse
import asyncio
import logging
import pathlib
import sys

import pytest
from support.logging_records import check_log_sender_records, summary

import sipyco._logfmt
import sipyco.common_args
import sipyco.logging_tools
from sipyco.logging_tools import LogParser, multiline_log_config

HERE = pathlib.Path(__file__).resolve().parent


@pytest.fixture
def names(sender):
    """Unique logger names for the lines fed to a parser (collected by
    ``captured``)."""
    return sender.name


def test_line_input(captured, names):
    n = names
    sources = iter(["s1", "s2", "s3", "s4", "s5"])
    parser = LogParser(lambda: next(sources))
    parser.line_input(f"INFO:{n}.dev:hello")
    parser.line_input(f"WARNING<2>:{n}.dev:first")
    parser.line_input("second")
    parser.line_input("a plain line: not a record")
    parser.line_input(f"TRACE:{n}:tiny")
    got = [r for r in captured.records if r.name.startswith(n) or r.name == "print"]
    assert summary(got) == [
        (n + ".dev", logging.INFO, "hello", "s1"),
        # a multi-line message is one record (source_cb is asked once for it)
        (n + ".dev", logging.WARNING, "first\nsecond", "s2"),
        ("print", logging.INFO, "a plain line: not a record", "s3"),
        (n, 5, "tiny", "s4"),
    ]


def test_line_input_continuation_lines_are_verbatim(captured, names):
    n = names
    parser = LogParser(lambda: "child")
    parser.line_input(f"ERROR<3>:{n}:boom")
    parser.line_input(f"CRITICAL:{n}.forged:looks like a header")
    parser.line_input("")
    parser.line_input(f"DEBUG:{n}:after")
    got = [r for r in captured.records if r.name.startswith(n)]
    assert summary(got) == [
        (n, logging.ERROR, f"boom\nCRITICAL:{n}.forged:looks like a header\n", "child"),
        (n, logging.DEBUG, "after", "child"),
    ]


def _stream(data: bytes, limit: int = 2**16) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=limit)
    reader.feed_data(data)
    reader.feed_eof()
    return reader


@pytest.mark.asyncio
async def test_stream_task(captured, names):
    n = names
    data = (f"INFO:{n}.dev:hello\r\n"
            f"WARNING<2>:{n}.dev:first\n"
            "second\n"
            "plain output\n"
            f"ERROR:{n}:no line end at the end").encode()
    await LogParser(lambda: "ctl").stream_task(_stream(data))
    got = [r for r in captured.records if r.name.startswith(n) or r.name == "print"]
    assert summary(got) == [
        (n + ".dev", logging.INFO, "hello", "ctl"),
        (n + ".dev", logging.WARNING, "first\nsecond", "ctl"),
        ("print", logging.INFO, "plain output", "ctl"),
        (n, logging.ERROR, "no line end at the end", "ctl"),
    ]


@pytest.mark.asyncio
async def test_stream_task_fed_while_running(captured, names):
    n = names
    reader = asyncio.StreamReader()
    task = asyncio.ensure_future(LogParser(lambda: "ctl").stream_task(reader))
    reader.feed_data(f"INFO:{n}:par".encode())
    await asyncio.sleep(0.01)
    reader.feed_data(f"tial\nDEBUG:{n}:second\n".encode())
    reader.feed_eof()
    await asyncio.wait_for(task, 15)
    got = [r for r in captured.records if r.name.startswith(n)]
    assert [r.getMessage() for r in got] == ["partial", "second"]


@pytest.mark.asyncio
async def test_stream_task_after_an_over_long_line(captured, names):
    """The lines after an over-long one are still parsed one by one.

    Fails: after readline() refuses the over-long line, stream_task reads the
    next 64 KiB as if it were one line, so the following lines are merged into
    one record (and a multi-line header's count stops meaning anything)."""
    n = names
    data = (b"x" * 100 + b"\n"
            + f"INFO:{n}:a\n".encode()
            + f"WARNING:{n}:b\n".encode())
    await LogParser(lambda: "ctl").stream_task(_stream(data, limit=32))
    got = [r for r in captured.records if r.name.startswith(n)]
    assert [(r.levelno, r.getMessage()) for r in got] == [(logging.INFO, "a"),
                                                          (logging.WARNING, "b")]


@pytest.mark.asyncio
async def test_child_process_stderr_through_log_parser(captured, names):
    """A child using init_logger_from_args; its stderr parsed by LogParser,
    as a controller manager does."""
    n = names
    script = (
        "import argparse, logging\n"
        "from sipyco.common_args import init_logger_from_args\n"
        "init_logger_from_args(argparse.Namespace(verbose=2, quiet=0))\n"
        f"log = logging.getLogger({n!r} + '.child')\n"
        "log.debug('debug %d', 1)\n"
        "log.warning('two\\nlines')\n"
        "try:\n"
        "    1 / 0\n"
        "except ZeroDivisionError:\n"
        "    log.exception('failed: badly')\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL)
    await asyncio.wait_for(LogParser(lambda: "child-ctl").stream_task(proc.stderr), 60)
    assert await asyncio.wait_for(proc.wait(), 60) == 0
    got = [r for r in captured.records if r.name.startswith(n)]
    child = n + ".child"
    assert summary(got[:2]) == [
        (child, logging.DEBUG, "debug 1", "child-ctl"),
        (child, logging.WARNING, "two\nlines", "child-ctl"),
    ]
    [failed] = got[2:]
    lines = failed.getMessage().split("\n")
    assert lines[0] == "failed: badly"
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "ZeroDivisionError: division by zero"
    assert (failed.name, failed.levelno, failed.source) == (child, logging.ERROR, "child-ctl")


@pytest.mark.asyncio
async def test_forwarder_in_a_subprocess(log_server, captured):
    """A separate program with a LogForwarder and a SourceFilter."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "log_sender.py"), str(log_server.port), "remote-src",
        stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0
    assert out == b"sent\n"
    await check_log_sender_records(captured)


# ---- one formatter class ---------------------------------------------------------


def test_one_formatter_class():
    cls = sipyco._logfmt.MultilineFormatter
    assert sipyco.logging_tools.MultilineFormatter is cls
    assert sipyco.common_args.MultilineFormatter is cls


@pytest.fixture
def restore_root():
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield root
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)


def test_init_logger_from_args_uses_it(restore_root):
    handler = sipyco.common_args.init_logger_from_args(argparse.Namespace(verbose=1, quiet=0))
    assert handler in restore_root.handlers
    assert type(handler.formatter) is sipyco.logging_tools.MultilineFormatter
    assert restore_root.level == logging.INFO


def test_multiline_log_config_uses_it(restore_root):
    handler = multiline_log_config(logging.DEBUG)
    assert handler in restore_root.handlers
    assert type(handler.formatter) is sipyco.logging_tools.MultilineFormatter
    assert restore_root.level == logging.DEBUG


def test_forwarder_uses_it():
    fwd = sipyco.logging_tools.LogForwarder("127.0.0.1", 1)
    try:
        assert type(fwd.formatter) is sipyco.logging_tools.MultilineFormatter
    finally:
        fwd.close()
