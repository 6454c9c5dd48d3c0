"""Two-way byte streams between a parent and a child process it starts.

The child inherits two pipes, one each way, and is told their descriptor
numbers by an *address* string ``"R,W"`` (its read and write descriptor).
ARTIQ's master and its worker processes talk this way, one PYON value per
line::

    # parent
    comm = AsyncioParentComm()
    await comm.create_subprocess(sys.executable, "worker.py", comm.get_address())
    comm.write(pyon.encode(request).encode() + b"\\n")
    await comm.drain()
    reply = pyon.decode((await comm.readline()).decode())

    # child (blocking; AsyncioChildComm is the asyncio twin)
    comm = ChildComm(sys.argv[1])
    request = pyon.decode(comm.readline().decode())
    comm.write(pyon.encode(reply).encode() + b"\\n")

**Lines.** ``readline()`` returns a line with its ``b"\\n"``; at the end of
the stream an unterminated last line, if any, and then ``b""``.  A line may
be up to ``max_message_size`` bytes long (newline excluded; default 1 GiB,
a constructor option): it is never read with asyncio's ``StreamReader``, so
its 64 KiB line limit plays no part.  A longer line raises
:class:`~sipyco.errors.MessageTooLarge`; it was read and thrown away as it
arrived (memory stays bounded) and the next ``readline()`` returns the line
after it.  ``read(n)`` returns up to ``n`` bytes as soon as there are any
(``b""`` at the end), ``read()`` everything up to the end (at most
``max_message_size`` bytes); lines and bytes may be mixed.

**The end.** When the child exits, the parent closes both of its pipes:
pending and later reads return what the child had written and then
``b""`` (even if a grandchild inherited the pipes and keeps them open), and
``write()``/``drain()`` raise :class:`~sipyco.errors.PeerGone` (a
ConnectionClosed and an ``EOFError``, and also the ``BrokenPipeError`` and
``ConnectionResetError`` upstream raised), as they do on either side once
the peer has closed its end.
No descriptor stays open.

**Errors.** A malformed address is a ValueError naming it (TypeError if it
is not a str), as is an address naming a descriptor that is not open.  Using
a comm before ``create_subprocess()``/``connect()`` or after ``close()`` is
the caller's mistake: RuntimeError.  ``close()`` may be called any number of
times; a read it interrupts returns ``b""`` and a ``drain()`` it interrupts
raises ConnectionClosed (the unsent bytes were dropped: drain before closing).

POSIX only: on Windows, where this would need named pipes, every
constructor raises NotImplementedError.
"""

from __future__ import annotations

import asyncio
import os

from . import _bounds
from ._pipes import (
    AsyncReader,
    AsyncWriter,
    BlockingPipes,
    ReadSide,
    check_open,
    parse_address,
    require_posix,
)

__all__ = ["AsyncioParentComm", "AsyncioChildComm", "ChildComm"]

_CHILD = "the child process"
_PARENT = "the parent process"


def _check_data(data: bytes) -> None:
    if isinstance(data, str):
        raise TypeError("pipe_ipc sends bytes, not str: encode the text first")


class _AsyncioComm:
    """What both asyncio comms share, once their pipes are set up."""

    _peer = _CHILD
    _not_started = "call create_subprocess() first"

    def __init__(self, max_message_size: int):
        #: The longest line accepted, in bytes, newline excluded.
        self.max_message_size = _bounds.check_message_size(max_message_size)
        self._reader: AsyncReader | None = None
        self._writer: AsyncWriter | None = None
        self._closed = False

    def _start(self, loop: asyncio.AbstractEventLoop, rfd: int, wfd: int) -> None:
        self._reader = AsyncReader(rfd, ReadSide(self.max_message_size, self._peer), loop)
        self._writer = AsyncWriter(wfd, loop, self._peer)

    def _usable(self) -> tuple[AsyncReader, AsyncWriter]:
        if self._closed:
            raise RuntimeError(f"this {type(self).__name__} is closed")
        if self._reader is None or self._writer is None:
            raise RuntimeError(f"this {type(self).__name__} is not connected yet: "
                               f"{self._not_started}")
        return self._reader, self._writer

    def write(self, data: bytes) -> None:
        """Queue ``data`` for the peer (what the pipe takes at once is sent
        at once); :meth:`drain` waits until all of it is in the pipe.
        ConnectionClosed if the peer is gone, RuntimeError before the comm
        is connected or after close()."""
        _check_data(data)
        self._usable()[1].write(data)

    async def drain(self) -> None:
        """Wait until every byte written so far has gone into the pipe.
        ConnectionClosed if the peer went away (or close() was called)
        before that."""
        await self._usable()[1].drain()

    async def readline(self) -> bytes:
        """The next line, ``b"\\n"`` included; ``b""`` at the end of the
        stream.  MessageTooLarge for a line over ``max_message_size`` (the
        line is skipped); RuntimeError if another read is pending."""
        return await self._usable()[0].readline()

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes, as soon as any are there; ``b""`` at the end.
        With ``n < 0``, everything up to the end of the stream
        (MessageTooLarge past ``max_message_size``)."""
        return await self._usable()[0].read(n)

    def close(self) -> None:
        """Close this side's pipes now, dropping unsent and unread bytes.
        Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._reader is not None:
            self._reader.close()
        if self._writer is not None:
            self._writer.lost("this comm was closed")


class AsyncioParentComm(_AsyncioComm):
    """The parent's end: makes the pipes, starts the child, talks with it.

    ``get_address()`` is the string to hand to the child (on its command
    line, typically); ``await create_subprocess(...)`` starts it.  The
    pipes are made here, so the address is known before the child starts.
    After ``create_subprocess()``, :attr:`process` is the child's
    ``asyncio.subprocess.Process``.

    ``max_message_size`` (keyword-only, default 1 GiB) is the longest line
    ``readline()`` accepts, in bytes, newline excluded; anything but an
    int of at least 1 raises ``ValueError``.
    """

    def __init__(self, *, max_message_size: int = _bounds.DEFAULT_MAX_MESSAGE_SIZE):
        require_posix("AsyncioParentComm")
        super().__init__(max_message_size)
        #: The child, once started (an ``asyncio.subprocess.Process``).
        self.process: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task | None = None
        self._child_rfd, self._parent_wfd = os.pipe()
        self._parent_rfd, self._child_wfd = os.pipe()
        self._address = f"{self._child_rfd},{self._child_wfd}"

    def get_address(self) -> str:
        """``"R,W"``: the descriptor numbers the child reads from and writes
        to (the child inherits them under the same numbers)."""
        return self._address

    async def create_subprocess(self, *args, **kwargs) -> asyncio.subprocess.Process:
        """Start the child as ``asyncio.create_subprocess_exec(*args,
        **kwargs)`` does, letting it inherit the two descriptors of
        :meth:`get_address` (added to any ``pass_fds`` given), and return it.

        RuntimeError if a child was already started or the comm is closed;
        whatever ``create_subprocess_exec`` raises if the child cannot be
        started (the comm is then unchanged: retry, or close() it).
        """
        if self._closed:
            raise RuntimeError("this AsyncioParentComm is closed")
        if self.process is not None:
            raise RuntimeError("this AsyncioParentComm has already started its child")
        loop = asyncio.get_running_loop()
        child_fds = (self._child_rfd, self._child_wfd)
        pass_fds = (*kwargs.pop("pass_fds", ()), *child_fds)
        process = await asyncio.create_subprocess_exec(*args, pass_fds=pass_fds, **kwargs)
        self.process = process
        self._close_child_ends()
        if self._closed:   # close() was called while the child was starting
            return process
        self._start(loop, self._parent_rfd, self._parent_wfd)
        self._watcher = loop.create_task(self._watch(process))
        return process

    def _close_child_ends(self) -> None:
        for fd in (self._child_rfd, self._child_wfd):
            if fd is not None:
                os.close(fd)
        self._child_rfd = self._child_wfd = None

    async def _watch(self, process: asyncio.subprocess.Process) -> None:
        await process.wait()
        if not self._closed:
            self._reader.finish()
            self._writer.lost(f"{_CHILD} has exited")

    def close(self) -> None:
        """Close the parent's pipes (the child then sees the end of its
        input); the child itself is not stopped.  Idempotent."""
        if self._closed:
            return
        started = self._reader is not None
        super().close()
        self._close_child_ends()
        if not started:
            os.close(self._parent_rfd)
            os.close(self._parent_wfd)
        if self._watcher is not None:
            self._watcher.cancel()


class AsyncioChildComm(_AsyncioComm):
    """The child's end, for an asyncio child: ``address`` is the string the
    parent's ``get_address()`` gave; ``await connect()`` before use.

    ValueError (or TypeError) at once for a malformed address.
    ``max_message_size`` (keyword-only, default 1 GiB) is the longest line
    ``readline()`` accepts, in bytes, newline excluded; anything but an
    int of at least 1 raises ``ValueError``.
    """

    _peer = _PARENT
    _not_started = "call connect() first"

    def __init__(self, address: str, *,
                 max_message_size: int = _bounds.DEFAULT_MAX_MESSAGE_SIZE):
        require_posix("AsyncioChildComm")
        self._rfd, self._wfd = parse_address(address)
        super().__init__(max_message_size)
        #: The address this comm was made for.
        self.address = address

    async def connect(self) -> None:
        """Take over the two descriptors on the running loop.  ValueError if
        one is not open; RuntimeError if already connected or closed."""
        if self._closed:
            raise RuntimeError("this AsyncioChildComm is closed")
        if self._reader is not None:
            raise RuntimeError("this AsyncioChildComm is already connected")
        check_open(self._rfd, self.address)
        check_open(self._wfd, self.address)
        self._start(asyncio.get_running_loop(), self._rfd, self._wfd)

    def close(self) -> None:
        """Close both descriptors (the parent then sees the end of the
        stream).  Before connect() nothing is closed.  Idempotent."""
        super().close()


class ChildComm:
    """The child's end, blocking: ``address`` is the string the parent's
    ``get_address()`` gave.  Ready to use at once.

    ValueError (or TypeError) for a malformed address or one naming a
    descriptor that is not open.  ``max_message_size`` (keyword-only,
    default 1 GiB) is the longest line ``readline()`` accepts, in bytes,
    newline excluded; anything but an int of at least 1 raises
    ``ValueError``.
    """

    def __init__(self, address: str, *,
                 max_message_size: int = _bounds.DEFAULT_MAX_MESSAGE_SIZE):
        require_posix("ChildComm")
        rfd, wfd = parse_address(address)
        #: The longest line accepted, in bytes, newline excluded.
        self.max_message_size = _bounds.check_message_size(max_message_size)
        check_open(rfd, address)
        check_open(wfd, address)
        #: The address this comm was made for.
        self.address = address
        self._pipes = BlockingPipes(rfd, wfd, ReadSide(self.max_message_size, _PARENT),
                                    _PARENT)
        self._closed = False

    def _usable(self) -> BlockingPipes:
        if self._closed:
            raise RuntimeError("this ChildComm is closed")
        return self._pipes

    def readline(self) -> bytes:
        """The next line, ``b"\\n"`` included; ``b""`` at the end of the
        stream (the parent closed its end or exited).  MessageTooLarge for a
        line over ``max_message_size`` (the line is skipped)."""
        return self._usable().readline()

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes, as soon as any are there; ``b""`` at the end.
        With ``n < 0``, everything up to the end of the stream
        (MessageTooLarge past ``max_message_size``)."""
        return self._usable().read(n)

    def write(self, data: bytes) -> None:
        """Send all of ``data``, waiting until the pipe has taken every
        byte (nothing is held back: no flush needed).  ConnectionClosed if
        the parent is gone."""
        _check_data(data)
        self._usable().write(data)

    def close(self) -> None:
        """Close both descriptors; the parent sees the end of the stream.
        Idempotent."""
        if not self._closed:
            self._closed = True
            self._pipes.close()
