"""The machinery under :mod:`sipyco.pipe_ipc`: addresses, and pipe drivers.

* :func:`parse_address` reads an ``"R,W"`` address.
* :class:`ReadSide` (no I/O) holds what was read from a pipe and hands it
  out as lines (through the one bounded :class:`~sipyco._framing.LineBuffer`)
  or as raw bytes, applying ``max_message_size``.
* :class:`AsyncReader` and :class:`AsyncWriter` drive a non-blocking pipe
  descriptor on an asyncio loop with ``add_reader``/``add_writer`` and
  ``os.read``/``os.write``: no StreamReader, so no 64 KiB line limit and no
  copy of asyncio's own.  :class:`BlockingPipes` is the blocking driver.

Each driver closes its descriptor as soon as the stream is over (end of
file, a broken pipe, the child's exit or ``close()``), so nothing leaks.
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import sys

from ._framing import LineBuffer, LineTooLong
from .errors import MessageTooLarge, PeerGone

__all__ = ["READ_CHUNK", "parse_address", "require_posix", "ReadSide",
           "AsyncReader", "AsyncWriter", "BlockingPipes"]

#: How much is asked of a pipe per read.
READ_CHUNK = 1 << 18
#: Reads an asyncio reader makes in a row, while data keeps coming, before
#: it lets the loop's other tasks run.
_READS_PER_TURN = 16

_ADDRESS = re.compile(r"([0-9]+),([0-9]+)", re.ASCII)


def require_posix(what: str) -> None:
    """NotImplementedError on Windows, where pipe_ipc would need named pipes."""
    if sys.platform == "win32":
        raise NotImplementedError(
            f"sipyco.pipe_ipc.{what}: Windows named pipes are not implemented; "
            "pipe_ipc works on POSIX systems only")


def parse_address(address: str) -> tuple[int, int]:
    """The (read, write) descriptor numbers of an ``"R,W"`` address.

    TypeError if ``address`` is not a str; ValueError, naming it, if it is
    not two different non-negative decimal numbers joined by a comma.
    """
    if not isinstance(address, str):
        raise TypeError(f"pipe_ipc address must be a str like '5,8', "
                        f"not {type(address).__name__}: {address!r}")
    match = _ADDRESS.fullmatch(address)
    if match is None:
        raise ValueError(f"malformed pipe_ipc address {address!r}: expected 'R,W', the "
                         "child's read and write file descriptor numbers (e.g. '5,8')")
    rfd, wfd = int(match[1]), int(match[2])
    if rfd == wfd:
        raise ValueError(f"malformed pipe_ipc address {address!r}: the read and write "
                         "file descriptors must differ")
    return rfd, wfd


def check_open(fd: int, address: str) -> None:
    """ValueError, naming the address, if ``fd`` is not an open descriptor."""
    try:
        os.fstat(fd)
    except OSError as exc:
        raise ValueError(f"pipe_ipc address {address!r}: file descriptor {fd} is not "
                         f"open in this process ({exc.strerror})") from None


# ------------------------------------------------------------- sans-IO ---

class ReadSide:
    """What was read from one pipe and not yet handed out (no I/O).

    Bytes go into the line buffer while the reader asks for lines, and into
    a plain buffer after it asks for raw bytes (``read(n)``); switching
    moves what is held from one to the other, so nothing is lost or
    reordered.  :meth:`line` and :meth:`take` return None when more bytes
    are needed; after :meth:`end` they never do.
    """

    __slots__ = ("_lines", "_raw", "_raw_mode", "limit", "peer", "eof")

    def __init__(self, limit: int, peer: str):
        self.limit = limit
        self.peer = peer          # who writes them, for errors: "the child process"
        self._lines = LineBuffer(limit)
        self._raw = bytearray()
        self._raw_mode = False
        self.eof = False

    def feed(self, data: bytes) -> None:
        if self._raw_mode:
            self._raw += data
        else:
            self._lines.feed(data)

    def end(self) -> None:
        """No more bytes will come."""
        self.eof = True

    def discard(self) -> None:
        """Forget everything held (the comm was closed)."""
        self._lines = LineBuffer(self.limit)
        self._raw = bytearray()
        self.eof = True

    def _to_lines(self) -> None:
        if self._raw_mode:
            self._raw_mode = False
            if self._raw:
                self._lines.feed(bytes(self._raw))
                self._raw = bytearray()

    def _to_raw(self) -> None:
        if not self._raw_mode:
            self._raw_mode = True
            # What the line buffer holds, complete lines and the start of an
            # unfinished one, in order (nothing when it is skipping an
            # over-long line whose start is already gone).
            held = self._lines.rest()
            self._lines = LineBuffer(self.limit)
            if held:
                self._raw[:0] = held

    def line(self) -> bytes | None:
        """The next line with its ``b"\\n"``; at the end, an unterminated last
        line and then ``b""``.  MessageTooLarge for a line over the limit:
        it was read and thrown away, and the next line follows."""
        self._to_lines()
        got = self._lines.next_line()
        if got is None:
            if not self.eof:
                return None
            overflow = self._lines.overflow
            rest = self._lines.rest()
            self._lines = LineBuffer(self.limit)
            if overflow:
                raise MessageTooLarge(f"unterminated last line from {self.peer}",
                                      overflow, self.limit)
            return rest
        if isinstance(got, LineTooLong):
            raise MessageTooLarge(f"line from {self.peer}", got.size, self.limit)
        return got + b"\n"

    def take(self, n: int) -> bytes | None:
        """Up to ``n`` bytes, as soon as there are any (``b""`` at the end);
        with ``n < 0``, everything up to the end (MessageTooLarge, keeping
        the bytes, once that passes the limit)."""
        self._to_raw()
        raw = self._raw
        if n < 0:
            if not self.eof:
                if len(raw) > self.limit:
                    raise MessageTooLarge(f"data read to the end from {self.peer}",
                                          len(raw), self.limit, at_least=True)
                return None
            self._raw = bytearray()
            return bytes(raw)
        if n == 0:
            return b""
        if raw:
            if len(raw) <= n:
                self._raw = bytearray()
                return bytes(raw)
            data = bytes(raw[:n])
            del raw[:n]
            return data
        return b"" if self.eof else None


# -------------------------------------------------------------- asyncio ---

def _wake(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)


class AsyncReader:
    """Reads one pipe descriptor on an asyncio loop into a :class:`ReadSide`.

    One read at a time (a second concurrent one is a RuntimeError, as for
    asyncio streams).  The descriptor is made non-blocking here and closed
    at end of file, by :meth:`finish` or by :meth:`close`.
    """

    def __init__(self, fd: int, side: ReadSide, loop: asyncio.AbstractEventLoop):
        os.set_blocking(fd, False)
        self.fd: int | None = fd
        self.side = side
        self._loop = loop
        self._waiter: asyncio.Future | None = None
        self._busy = False
        self._closed = False

    def _read_now(self) -> bool:
        """Read what is there without waiting; False if nothing was."""
        if self.fd is None:
            self.side.end()
            return True
        try:
            data = os.read(self.fd, READ_CHUNK)
        except BlockingIOError:
            return False
        except OSError:  # EIO and friends: the stream is over either way
            data = b""
        if data:
            self.side.feed(data)
        else:
            self._release()
        return True

    def _release(self) -> None:
        """End of the stream: close the descriptor, wake a waiting read."""
        self.side.end()
        fd, self.fd = self.fd, None
        if fd is not None:
            self._loop.remove_reader(fd)
            os.close(fd)
        if self._waiter is not None:
            _wake(self._waiter)

    def finish(self) -> None:
        """The writer is gone (the child exited): keep what the pipe still
        holds, then end the stream, even if another process (a grandchild)
        still holds the pipe's other end (then at most a bounded amount is
        kept, as such a writer could go on forever)."""
        for _ in range(64):
            if self.fd is None or not self._read_now():
                break
        self._release()

    def close(self) -> None:
        """Close now, dropping what is held; a pending read returns b""."""
        self._closed = True
        self.side.discard()
        self._release()

    async def _next(self, get):
        if self._busy:
            raise RuntimeError("another coroutine is already reading from this pipe_ipc comm")
        self._busy = True
        try:
            reads = 0
            while True:
                if self._closed:
                    return b""
                got = get()
                if got is not None:
                    return got
                if reads == _READS_PER_TURN:
                    # a long line keeps the pipe readable: let other tasks run
                    reads = 0
                    await asyncio.sleep(0)
                elif self._read_now():
                    reads += 1
                else:
                    waiter = self._waiter = self._loop.create_future()
                    self._loop.add_reader(self.fd, _wake, waiter)
                    try:
                        await waiter
                    finally:
                        self._waiter = None
                        if self.fd is not None:
                            self._loop.remove_reader(self.fd)
        finally:
            self._busy = False

    async def readline(self) -> bytes:
        return await self._next(self.side.line)

    async def read(self, n: int) -> bytes:
        return await self._next(lambda: self.side.take(n))


class AsyncWriter:
    """Writes to one pipe descriptor on an asyncio loop.

    :meth:`write` hands bytes to the pipe at once when it can and queues the
    rest (without copying ``bytes``); :meth:`drain` waits until the queue is
    empty.  Once the reader is gone (a broken pipe, the child's exit),
    ``write`` and ``drain`` raise PeerGone (a ConnectionClosed).
    """

    def __init__(self, fd: int, loop: asyncio.AbstractEventLoop, peer: str):
        os.set_blocking(fd, False)
        self.fd: int | None = fd
        self._loop = loop
        self._peer = peer   # "the child process" / "the parent process"
        self._queue: collections.deque[memoryview] = collections.deque()
        self.pending = 0    # bytes queued, not yet in the pipe
        self._gone: str | None = None   # why the pipe is no longer usable
        self._waiters: list[asyncio.Future] = []

    def _error(self) -> PeerGone:
        return PeerGone(f"pipe_ipc: cannot send: {self._gone}")

    def write(self, data: bytes) -> None:
        if self._gone is not None:
            raise self._error()
        if not isinstance(data, bytes):
            data = bytes(data)  # the caller may change a bytearray later
        if not data:
            return
        if self._queue:
            self._queue.append(memoryview(data))
            self.pending += len(data)
            return
        try:
            sent = os.write(self.fd, data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self.lost(f"{self._peer} closed its end of the pipe ({exc.strerror})")
            raise self._error() from None
        if sent < len(data):
            self._queue.append(memoryview(data)[sent:])
            self.pending += len(data) - sent
            self._loop.add_writer(self.fd, self._send_queued)

    def _send_queued(self) -> None:
        queue = self._queue
        while queue:
            chunk = queue[0]
            try:
                sent = os.write(self.fd, chunk)
            except BlockingIOError:
                return
            except OSError as exc:
                self.lost(f"{self._peer} closed its end of the pipe ({exc.strerror})")
                return
            self.pending -= sent
            if sent < len(chunk):
                queue[0] = chunk[sent:]
                return
            queue.popleft()
        self._loop.remove_writer(self.fd)
        self._wake_all()

    def _wake_all(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            _wake(waiter)

    def lost(self, why: str) -> None:
        """The pipe can no longer be written (the reader is gone, or the
        comm was closed): drop what is queued, close the descriptor, and
        make pending and later drains raise PeerGone."""
        if self._gone is None:
            self._gone = why
        self._queue.clear()
        fd, self.fd = self.fd, None
        if fd is not None:
            self._loop.remove_writer(fd)
            os.close(fd)
        self._wake_all()

    async def drain(self) -> None:
        while True:
            if self._gone is not None:
                raise self._error()
            if not self.pending:
                return
            waiter = self._loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)


# ------------------------------------------------------------- blocking ---

class BlockingPipes:
    """The blocking driver: reads one descriptor into a :class:`ReadSide`,
    writes another with ``os.write`` until every byte is in the pipe."""

    def __init__(self, rfd: int, wfd: int, side: ReadSide, peer: str):
        os.set_blocking(rfd, True)
        os.set_blocking(wfd, True)
        self.rfd: int | None = rfd
        self.wfd: int | None = wfd
        self.side = side
        self._peer = peer

    def _next(self, get):
        while True:
            got = get()
            if got is not None:
                return got
            try:
                data = os.read(self.rfd, READ_CHUNK)
            except OSError:
                data = b""
            if data:
                self.side.feed(data)
            else:
                self.side.end()
                self._close_read()

    def readline(self) -> bytes:
        return self._next(self.side.line)

    def read(self, n: int) -> bytes:
        return self._next(lambda: self.side.take(n))

    def write(self, data: bytes) -> None:
        if self.wfd is None:
            raise PeerGone(f"pipe_ipc: cannot send: {self._peer} closed its end "
                                   "of the pipe")
        with memoryview(data) as view, view.cast("B") as octets:
            done = 0
            while done < len(octets):
                try:
                    done += os.write(self.wfd, octets[done:])
                except OSError as exc:
                    self._close_write()
                    raise PeerGone(f"pipe_ipc: cannot send: {self._peer} closed "
                                           f"its end of the pipe ({exc.strerror})") from None

    def _close_read(self) -> None:
        fd, self.rfd = self.rfd, None
        if fd is not None:
            os.close(fd)

    def _close_write(self) -> None:
        fd, self.wfd = self.wfd, None
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        self.side.discard()
        self._close_read()
        self._close_write()
