"""sipyco.pipe_ipc: a parent and real child processes (pipe_child.py, of
both kinds) exchanging PYON lines over inherited pipes; the child-side
comms also on plain pipes made in the test process."""

from __future__ import annotations

import asyncio
import hashlib
import os
import pathlib
import signal
import sys

import pytest
import pytest_asyncio
from support.net import eventually, within

from sipyco import pyon
from sipyco._pipes import ReadSide
from sipyco.errors import ConnectionClosed, MessageTooLarge
from sipyco.pipe_ipc import AsyncioChildComm, AsyncioParentComm, ChildComm

HERE = pathlib.Path(__file__).resolve().parent
CHILD = HERE / "pipe_child.py"
KINDS = ["async", "blocking"]
BIG = 100 << 20
PATTERN = b"0123456789abcdef"   # as in pipe_child.py

needs_proc_fd = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"),
                                   reason="counts descriptors in /proc/self/fd")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def big_line(size: int) -> bytes:
    return (PATTERN * (size // len(PATTERN) + 1))[:size] + b"\n"


def line_of(value) -> bytes:
    return pyon.encode(value).encode() + b"\n"


async def send(comm, value) -> None:
    comm.write(line_of(value))
    await within(comm.drain())


async def receive(comm):
    line = await within(comm.readline())
    assert line.endswith(b"\n"), line[:200]
    return pyon.decode(line.decode())


@pytest_asyncio.fixture
async def spawn():
    """``await spawn(kind, *args, **comm_options)``: an AsyncioParentComm
    whose child runs ``pipe_child.py kind ADDRESS *args``; every child is
    killed (if still running) and reaped, and every comm closed, after the
    test."""
    comms = []

    async def start(kind, *args, **options):
        comm = AsyncioParentComm(**options)
        comms.append(comm)
        await comm.create_subprocess(sys.executable, str(CHILD), kind, comm.get_address(),
                                     *map(str, args))
        return comm

    yield start
    for comm in comms:
        process = comm.process
        if process is not None:
            if process.returncode is None:
                process.kill()
            await within(process.wait())
        comm.close()


# ------------------------------------------------- PYON lines both ways ---

VALUES = [
    None, True, 42, -1.5, float("inf"), "text", "two\nlines and \u00e9\U0001F600",
    b"\x00\xff\n", (1, "a"), [1, [2, [3]]], {"a": 1, 2: (3, 4)}, {1, 2}, 1 + 2j,
    {"nested": {"deep": [None, {"x": [1.25]}]}},
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.asyncio
async def test_pyon_lines_both_ways(spawn, kind):
    comm = await spawn(kind)
    for value in VALUES:
        await send(comm, {"op": "echo", "value": value})
        assert await receive(comm) == {"echo": value}
    await send(comm, {"op": "exit", "code": 3})
    assert await within(comm.readline()) == b""
    assert await within(comm.process.wait()) == 3


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.asyncio
async def test_bursts_of_small_lines_keep_their_order(spawn, kind):
    comm = await spawn(kind)
    count = 20000
    await send(comm, {"op": "burst", "count": count})
    for i in range(count):
        assert await receive(comm) == i
    comm.write(line_of({"op": "collect", "count": count}))
    for i in range(count):
        comm.write(line_of(i))
    await within(comm.drain())
    assert await receive(comm) == list(range(count))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.asyncio
async def test_a_100_mib_line_each_way(spawn, kind):
    comm = await spawn(kind)
    line = big_line(BIG)
    expected = {"size": len(line), "sha256": hashlib.sha256(line).hexdigest()}
    comm.write(line_of({"op": "recv_big"}))
    comm.write(line)
    await within(comm.drain())
    del line
    assert await receive(comm) == expected

    await send(comm, {"op": "send_big", "size": BIG})
    got = await within(comm.readline())
    assert {"size": len(got), "sha256": hashlib.sha256(got).hexdigest()} == expected
    del got
    await send(comm, {"op": "echo", "value": "still in step"})
    assert await receive(comm) == {"echo": "still in step"}


# ----------------------------------------------------------- the end ---

@needs_proc_fd
@pytest.mark.parametrize("how", ["exit", "sigkill"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.asyncio
async def test_the_child_ending_closes_the_parent_side(spawn, kind, how):
    before = open_fds()
    comm = await spawn(kind)
    await send(comm, {"op": "echo", "value": 1})
    assert await receive(comm) == {"echo": 1}
    pending = asyncio.ensure_future(comm.readline())
    await asyncio.sleep(0)
    if how == "exit":
        await send(comm, {"op": "exit", "code": 0})
    else:
        comm.process.send_signal(signal.SIGKILL)
    assert await within(pending) == b""
    assert await within(comm.readline()) == b""
    assert await within(comm.read(10)) == b""
    assert await within(comm.process.wait()) == (0 if how == "exit" else -signal.SIGKILL)
    await eventually(lambda: open_fds() == before, what="the parent's pipes closed")
    with pytest.raises(ConnectionClosed, match="child process has exited"):
        comm.write(b"anyone there?\n")
    with pytest.raises(ConnectionClosed):
        await within(comm.drain())
    comm.close()
    comm.close()
    assert open_fds() == before
    with pytest.raises(RuntimeError, match="closed"):
        await comm.readline()


@needs_proc_fd
@pytest.mark.asyncio
async def test_a_grandchild_holding_the_pipes_does_not_keep_the_parent_waiting(spawn):
    before = open_fds()
    comm = await spawn("blocking")
    await send(comm, {"op": "spawn_holder"})
    holder = (await receive(comm))["pid"]
    try:
        assert await within(comm.readline()) == b""
        assert await within(comm.process.wait()) == 0
        await eventually(lambda: open_fds() == before, what="the parent's pipes closed")
    finally:
        os.kill(holder, signal.SIGKILL)


@needs_proc_fd
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.asyncio
async def test_the_child_closing_its_end(spawn, kind):
    before = open_fds()
    comm = await spawn(kind)
    await send(comm, {"op": "close_and_sleep"})
    assert await within(comm.readline()) == b""
    with pytest.raises(ConnectionClosed, match="child process closed its end"):
        for _ in range(1000):   # the child's end may need a moment to close
            comm.write(b"x" * 4096)
            await within(comm.drain())
    assert comm.process.returncode is None
    comm.close()
    assert open_fds() == before


@pytest.mark.asyncio
async def test_close_interrupts_pending_reads_and_drains(spawn):
    comm = await spawn("blocking")
    await send(comm, {"op": "sleep"})
    reading = asyncio.ensure_future(comm.readline())
    comm.write(b"z" * (4 << 20))   # more than any pipe holds: the child reads nothing
    draining = asyncio.ensure_future(comm.drain())
    await asyncio.sleep(0.05)
    assert not reading.done() and not draining.done()
    comm.close()
    assert await within(reading) == b""
    with pytest.raises(ConnectionClosed, match="closed"):
        await within(draining)
    for call in (comm.readline(), comm.read(1), comm.drain()):
        with pytest.raises(RuntimeError, match="AsyncioParentComm is closed"):
            await call
    with pytest.raises(RuntimeError, match="closed"):
        comm.write(b"x\n")


# --------------------------------------------------------------- read(n) ---

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.asyncio
async def test_read_n_mixed_with_lines(spawn, kind):
    comm = await spawn(kind)
    # the command and raw bytes in one write: the child's line reader holds
    # the bytes when read(n) asks for them
    comm.write(line_of({"op": "read", "sizes": [3, 0, 5]}) + b"abcdefgh")
    await within(comm.drain())
    assert await receive(comm) == [b"abc", b"", b"defgh"]

    await send(comm, {"op": "send_raw", "data": b"first\nabcdef"})
    assert await within(comm.readline()) == b"first\n"
    assert await within(comm.read(2)) == b"ab"
    assert await within(comm.read(100)) == b"cdef"    # what there is, not 100
    await send(comm, {"op": "send_raw", "data": b"unterminated"})
    await send(comm, {"op": "exit", "code": 0})
    assert await within(comm.read()) == b"unterminated"
    assert await within(comm.read(1)) == b""


@pytest.fixture
def pipes():
    """Two pipes for a child comm made in this process: ``(address, to_child,
    from_child)``, the last two being the test's descriptors."""
    down_r, down_w = os.pipe()
    up_r, up_w = os.pipe()
    yield f"{down_r},{up_w}", down_w, up_r
    for fd in (down_r, down_w, up_r, up_w):
        try:
            os.close(fd)
        except OSError:
            pass


def test_blocking_child_read_semantics(pipes):
    address, to_child, from_child = pipes
    comm = ChildComm(address)
    os.write(to_child, b"line one\nabcdefgh")
    assert comm.readline() == b"line one\n"
    assert comm.read(0) == b""
    assert comm.read(3) == b"abc"
    assert comm.read(100) == b"defgh"
    os.write(to_child, b"xy\nlast, unterminated")
    assert comm.readline() == b"xy\n"
    os.close(to_child)
    assert comm.readline() == b"last, unterminated"
    assert comm.readline() == b""
    assert comm.read(5) == b""
    assert comm.read() == b""
    comm.write(bytearray(b"up\n"))
    comm.write(memoryview(b"and away\n"))
    assert os.read(from_child, 100) == b"up\nand away\n"
    comm.close()
    comm.close()
    with pytest.raises(RuntimeError, match="ChildComm is closed"):
        comm.readline()
    with pytest.raises(RuntimeError, match="ChildComm is closed"):
        comm.write(b"x")
    assert os.read(from_child, 100) == b""


def test_blocking_child_read_to_the_end(pipes):
    address, to_child, _ = pipes
    comm = ChildComm(address)
    os.write(to_child, b"one\ntwo")
    assert comm.readline() == b"one\n"
    os.close(to_child)
    assert comm.read(-1) == b"two"
    comm.close()


def test_blocking_child_writes_to_a_gone_parent(pipes):
    address, _, from_child = pipes
    comm = ChildComm(address)
    os.close(from_child)
    with pytest.raises(ConnectionClosed, match="parent process closed its end"):
        comm.write(b"hello?\n")
    comm.close()


@pytest.mark.asyncio
async def test_asyncio_child_read_semantics(pipes):
    address, to_child, from_child = pipes
    comm = AsyncioChildComm(address)
    with pytest.raises(RuntimeError, match="connect"):
        await comm.readline()
    with pytest.raises(RuntimeError, match="connect"):
        comm.write(b"x")
    await comm.connect()
    with pytest.raises(RuntimeError, match="already connected"):
        await comm.connect()
    os.write(to_child, b"line one\nabcdefgh")
    assert await within(comm.readline()) == b"line one\n"
    assert await within(comm.read(0)) == b""
    assert await within(comm.read(3)) == b"abc"
    assert await within(comm.read(100)) == b"defgh"
    later = asyncio.ensure_future(comm.read(10))
    await asyncio.sleep(0.01)
    assert not later.done()
    with pytest.raises(RuntimeError, match="already reading"):
        await comm.readline()
    os.write(to_child, b"late")
    assert await within(later) == b"late"
    os.write(to_child, b"tail\nno newline")
    os.close(to_child)
    assert await within(comm.readline()) == b"tail\n"
    assert await within(comm.readline()) == b"no newline"
    assert await within(comm.readline()) == b""
    comm.write(b"up\n")
    await within(comm.drain())
    assert os.read(from_child, 100) == b"up\n"
    comm.close()
    comm.close()
    assert os.read(from_child, 100) == b""
    with pytest.raises(RuntimeError, match="AsyncioChildComm is closed"):
        await comm.read(1)
    with pytest.raises(RuntimeError, match="closed"):
        await comm.connect()


def test_read_side_without_io():
    """The buffer under every comm: lines and raw bytes mixed, in order."""
    side = ReadSide(8, "the peer")
    assert side.line() is None
    side.feed(b"ab\ncd")
    assert side.take(1) == b"a"
    assert side.line() == b"b\n"
    assert side.line() is None
    side.feed(b"ef\n0123456789\ngh")
    assert side.line() == b"cdef\n"
    with pytest.raises(MessageTooLarge, match="line from the peer of 10 bytes"):
        side.line()
    assert side.take(-1) is None            # the end has not come
    side.feed(b"ij")
    assert side.line() is None
    side.feed(b"klmnopq")
    with pytest.raises(MessageTooLarge, match="at least 11 bytes"):
        side.take(-1)                       # past the limit before the end
    assert side.take(4) == b"ghij"
    side.end()
    assert side.take(-1) == b"klmnopq"
    assert side.line() == b""
    assert side.take(3) == b""


# ------------------------------------------------------------- limits ---

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.asyncio
async def test_a_line_over_the_parents_limit(spawn, kind):
    comm = await spawn(kind, max_message_size=1000)
    await send(comm, {"op": "long_line", "size": 5000})
    with pytest.raises(MessageTooLarge, match="max_message_size=1000") as info:
        await within(comm.readline())
    assert (info.value.size, info.value.limit) == (5000, 1000)
    assert "child process" in str(info.value)
    assert await receive(comm) == "after"          # the stream is still in step
    await send(comm, {"op": "long_line", "size": 1000})   # exactly the limit: fine
    assert await within(comm.readline()) == b"y" * 1000 + b"\n"
    assert await receive(comm) == "after"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.asyncio
async def test_a_line_over_the_childs_limit(spawn, kind):
    comm = await spawn(kind, 1000)
    comm.write(b"z" * 5000 + b"\n")
    await send(comm, {"op": "echo", "value": "next"})
    assert await receive(comm) == {"error": "MessageTooLarge", "size": 5000, "limit": 1000}
    assert await receive(comm) == {"echo": "next"}


def test_child_limit_and_unterminated_over_long_line(pipes):
    address, to_child, _ = pipes
    comm = ChildComm(address, max_message_size=10)
    os.write(to_child, b"0123456789\n" + b"x" * 30)
    assert comm.readline() == b"0123456789\n"
    os.close(to_child)
    with pytest.raises(MessageTooLarge, match="unterminated") as info:
        comm.readline()
    assert info.value.size == 30
    assert comm.readline() == b""
    comm.close()


@pytest.mark.parametrize("bad", [0, -1, 1.5, "10", True])
def test_max_message_size_must_be_a_positive_int(pipes, bad):
    with pytest.raises(ValueError, match="max_message_size"):
        AsyncioParentComm(max_message_size=bad)
    with pytest.raises(ValueError, match="max_message_size"):
        ChildComm(pipes[0], max_message_size=bad)


# ------------------------------------------------------ caller mistakes ---

@pytest.mark.parametrize("address", ["", "3", "3,", ",4", "a,b", "3,4,5", "-1,4", " 3,4",
                                     "3;4", "3,3", "٣,٤"])
def test_malformed_addresses(address):
    for cls in (ChildComm, AsyncioChildComm):
        with pytest.raises(ValueError, match="malformed pipe_ipc address") as info:
            cls(address)
        assert repr(address) in str(info.value)


def test_an_address_that_is_not_a_string():
    for cls in (ChildComm, AsyncioChildComm):
        with pytest.raises(TypeError, match="address"):
            cls((3, 4))


@pytest.mark.asyncio
async def test_an_address_naming_closed_descriptors():
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    address = f"{r},{w}"
    with pytest.raises(ValueError, match="not open") as info:
        ChildComm(address)
    assert repr(address) in str(info.value)
    comm = AsyncioChildComm(address)
    with pytest.raises(ValueError, match="not open"):
        await comm.connect()


@needs_proc_fd
@pytest.mark.asyncio
async def test_parent_before_start_and_closed_unstarted():
    before = open_fds()
    comm = AsyncioParentComm()
    rfd, wfd = map(int, comm.get_address().split(","))
    assert rfd != wfd and open_fds() == before + 4
    with pytest.raises(RuntimeError, match="create_subprocess"):
        await comm.readline()
    with pytest.raises(RuntimeError, match="create_subprocess"):
        await comm.read(1)
    with pytest.raises(RuntimeError, match="create_subprocess"):
        comm.write(b"x\n")
    with pytest.raises(RuntimeError, match="create_subprocess"):
        await comm.drain()
    comm.close()
    comm.close()
    assert open_fds() == before
    with pytest.raises(RuntimeError, match="closed"):
        await comm.create_subprocess(sys.executable, "-c", "pass")


@pytest.mark.asyncio
async def test_one_child_per_parent_comm_and_bytes_only(spawn):
    comm = await spawn("blocking")
    with pytest.raises(RuntimeError, match="already started"):
        await comm.create_subprocess(sys.executable, "-c", "pass")
    with pytest.raises(TypeError, match="bytes"):
        comm.write("text\n")


@pytest.mark.asyncio
async def test_create_subprocess_passes_options_through(tmp_path):
    comm = AsyncioParentComm()
    extra_r, extra_w = os.pipe()
    try:
        script = ("import os, sys\n"
                  "from sipyco.pipe_ipc import ChildComm\n"
                  "comm = ChildComm(sys.argv[1])\n"
                  "extra = os.read(int(sys.argv[2]), 100)\n"
                  "comm.write(os.getcwd().encode() + b'|' + os.environ['PIPE_TEST'].encode()"
                  " + b'|' + extra + b'\\n')\n")
        await comm.create_subprocess(sys.executable, "-c", script, comm.get_address(),
                                     str(extra_r), pass_fds=[extra_r], cwd=tmp_path,
                                     env={**os.environ, "PIPE_TEST": "env ok"})
        os.write(extra_w, b"extra ok")
        line = await within(comm.readline())
        assert line == f"{tmp_path}|env ok|extra ok\n".encode()
        assert await within(comm.process.wait()) == 0
    finally:
        comm.close()
        os.close(extra_r)
        os.close(extra_w)


def test_windows_is_refused_clearly(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    for make in (AsyncioParentComm, lambda: AsyncioChildComm("3,4"), lambda: ChildComm("3,4")):
        with pytest.raises(NotImplementedError, match="named pipes are not implemented"):
            make()


def test_peer_gone_is_what_upstream_code_catches_too():
    from sipyco.errors import ConnectionClosed, PeerGone
    for cls in (ConnectionClosed, EOFError, BrokenPipeError, ConnectionResetError, OSError):
        assert issubclass(PeerGone, cls)
