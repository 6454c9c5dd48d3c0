"""Lines from asyncio streams, through the one bounded line buffer.

The asyncio driver of :mod:`sipyco._framing`: it reads whatever the stream
has (never with ``readline``, so asyncio's own buffer limit plays no part)
and feeds a :class:`~sipyco._framing.LineBuffer`.
"""

from __future__ import annotations

import asyncio

from ._framing import LineBuffer, LineTooLong

__all__ = ["LineTooLong", "StreamLines", "READ_CHUNK", "discard_until_closed"]

#: How much is asked of a stream at a time.
READ_CHUNK = 1 << 18


class StreamLines:
    """Reads lines of at most ``limit`` bytes from an asyncio StreamReader.

    :meth:`next` returns the next line (bytes, without ``\\n``), a
    :class:`LineTooLong` event in place of an over-long line, or None at the
    end of the stream; :attr:`rest` then holds an unterminated last line.
    With ``hang_up_on_overflow``, a line passing the limit is reported
    (``LineTooLong`` with the bytes seen so far) as soon as it does, for
    protocols that disconnect such a peer rather than read on.
    """

    __slots__ = ("reader", "buffer", "hang_up_on_overflow", "rest")

    def __init__(self, reader: asyncio.StreamReader, limit: int, *,
                 hang_up_on_overflow: bool = False):
        self.reader = reader
        self.buffer = LineBuffer(limit)
        self.hang_up_on_overflow = hang_up_on_overflow
        self.rest = b""

    @property
    def limit(self) -> int:
        return self.buffer.limit

    @limit.setter
    def limit(self, value: int) -> None:
        self.buffer.limit = value

    async def opening(self, size: int) -> bytes:
        """The first ``size`` bytes of the stream (fewer if it ends sooner),
        left in place for :meth:`next`: call it before reading any line."""
        buffer = self.buffer
        while buffer.buffered < size:
            data = await self.reader.read(READ_CHUNK)
            if not data:
                break
            buffer.feed(data)
        return buffer.peek(size)

    async def next(self) -> bytes | LineTooLong | None:
        buffer = self.buffer
        while True:
            line = buffer.next_line()
            if line is not None:
                return line
            if self.hang_up_on_overflow and buffer.overflow:
                return LineTooLong(buffer.overflow)
            data = await self.reader.read(READ_CHUNK)
            if not data:
                self.rest = buffer.rest()
                return None
            buffer.feed(data)


async def discard_until_closed(reader: asyncio.StreamReader) -> None:
    """Read and drop whatever a peer that should send nothing sends, until
    it closes its side: its bytes can never pile up."""
    while await reader.read(READ_CHUNK):
        pass
