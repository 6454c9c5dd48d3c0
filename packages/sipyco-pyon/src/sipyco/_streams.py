"""Reading bounded lines from asyncio streams (shared by the SiPyCo protocols)."""

from __future__ import annotations

import asyncio

__all__ = ["LineTooLong", "read_line", "set_buffer_limit"]


class LineTooLong(Exception):
    """Internal: a line longer than allowed was read and thrown away."""

    def __init__(self, size: int):
        super().__init__(size)
        self.size = size


async def read_line(reader: asyncio.StreamReader, limit: int, *, resync: bool = True) -> bytes:
    """The next line, ``\\n`` included; ``b""`` at a clean end of stream.

    A line longer than ``limit`` (or than the reader's own buffer limit) is
    consumed up to its end and reported as LineTooLong, so the stream stays
    in step; with ``resync=False`` LineTooLong is raised at once instead
    (for peers that will be disconnected anyway).  A stream that ends in the
    middle of a line raises ``asyncio.IncompleteReadError``.
    """
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError as exc:
        if not resync:
            raise LineTooLong(exc.consumed) from None
        size = 0
        skip = exc.consumed
        while True:
            await reader.readexactly(skip)
            size += skip
            try:
                size += len(await reader.readuntil(b"\n"))
                raise LineTooLong(size) from None
            except asyncio.LimitOverrunError as again:
                skip = again.consumed
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return b""
        raise
    if len(line) > limit:
        raise LineTooLong(len(line))
    return line


def set_buffer_limit(reader: asyncio.StreamReader, limit: int) -> None:
    """Change how much a StreamReader buffers while looking for a line end.

    asyncio only takes the limit at construction; the protocol needs a small
    one during the handshake and a large one afterwards.  The attribute has
    kept its name and meaning in every CPython release since 3.4.
    """
    if not hasattr(reader, "_limit"):  # pragma: no cover - other implementations
        return
    reader._limit = limit
