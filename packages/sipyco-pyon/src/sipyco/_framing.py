"""One bounded line buffer under every SiPyCo protocol.

Every SiPyCo protocol sends one message per ``\\n``-terminated line.  A
:class:`LineBuffer` is fed the bytes as they arrive and hands back complete
lines, never holding more than ``limit`` bytes of a line that has not ended:
an over-long line is dropped as it arrives and reported, with its size, once
its end is seen, so the stream stays in step.  Each protocol decides in one
place what an over-long line means for it (answer with an error, skip it,
or hang up at once, which :attr:`LineBuffer.overflow` allows).

No I/O here: the asyncio and blocking-socket drivers feed it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LineBuffer", "LineTooLong"]


@dataclass(frozen=True)
class LineTooLong:
    """A line longer than the buffer's limit; its ``size`` bytes (newline
    excluded) were read and thrown away."""

    size: int


class LineBuffer:
    """Splits a byte stream into lines of at most ``limit`` bytes.

    Call :meth:`feed` with each chunk received, then :meth:`next_line` until
    it returns None ("need more").  It returns each line as ``bytes`` without
    its ``\\n``, or a :class:`LineTooLong` event in the line's place.
    """

    __slots__ = ("_buf", "_scan", "limit", "_dropped", "_dropping", "_ended_long")

    def __init__(self, limit: int):
        self._buf = bytearray()
        self._scan = 0           # bytes of _buf known to hold no newline
        #: The longest line accepted, in bytes, newline excluded (may be
        #: changed between lines, e.g. after a handshake).
        self.limit = limit
        self._dropped = 0        # bytes of the current over-long line dropped so far
        self._dropping = False   # inside an over-long line, waiting for its end
        self._ended_long: int | None = None  # size of an over-long line that has ended

    @property
    def overflow(self) -> int:
        """Bytes of an over-long, still unfinished line dropped so far (0 when
        the buffer is not inside such a line): a protocol that hangs up on
        over-long lines can do so without waiting for the line to end."""
        return self._dropped if self._dropping else 0

    @property
    def buffered(self) -> int:
        """Bytes held: the start of a line not yet complete, or lines not yet taken."""
        return len(self._buf)

    def peek(self, size: int) -> bytes:
        """The first ``size`` bytes held (fewer if fewer are), left in
        place: for handshakes that recognise a peer by its first bytes."""
        return b"" if self._dropping else bytes(self._buf[:size])

    def feed(self, data: bytes) -> None:
        """Add received bytes (take the lines out before feeding much more)."""
        if self._dropping:
            end = data.find(b"\n")
            if end < 0:
                self._dropped += len(data)
                return
            self._ended_long = self._dropped + end
            self._dropping = False
            self._dropped = 0
            data = memoryview(data)[end + 1:]
        self._buf += data

    def next_line(self) -> bytes | LineTooLong | None:
        """The next complete line, a LineTooLong event, or None if more bytes are needed."""
        if self._ended_long is not None:
            size, self._ended_long = self._ended_long, None
            return LineTooLong(size)
        buf = self._buf
        end = buf.find(b"\n", self._scan)
        if end < 0:
            self._keep_partial()
            return None
        self._scan = 0
        if end > self.limit:
            del buf[:end + 1]
            return LineTooLong(end)
        if end < 4096:
            line = bytes(buf[:end])
        else:  # one copy, not two, of a large message
            with memoryview(buf) as view:
                line = bytes(view[:end])
        del buf[:end + 1]
        return line

    def take_lines(self) -> list:
        """Every complete line now held, in order (each as :meth:`next_line`
        would give it, LineTooLong events included), split in one pass: for
        readers that get many small lines per chunk.  Empty: need more."""
        taken = []
        if self._ended_long is not None:
            taken.append(LineTooLong(self._ended_long))
            self._ended_long = None
        buf = self._buf
        end = buf.rfind(b"\n")
        if end < 0:
            line = self.next_line()  # the over-long bookkeeping of an unfinished line
            return taken if line is None else taken + [line]
        with memoryview(buf) as view:
            lines = bytes(view[:end]).split(b"\n")
        del buf[:end + 1]
        self._keep_partial()
        limit = self.limit
        if max(map(len, lines)) > limit:
            lines = [LineTooLong(len(line)) if len(line) > limit else line for line in lines]
        if not taken:
            return lines
        taken.extend(lines)
        return taken

    def _keep_partial(self) -> None:
        """Bookkeeping for the start of a line that has not ended: stop
        keeping it once it is longer than the limit."""
        buf = self._buf
        if len(buf) > self.limit:
            self._dropping = True
            self._dropped = len(buf)
            buf.clear()
            self._scan = 0
        else:
            self._scan = len(buf)

    def rest(self) -> bytes:
        """What is left of an unterminated last line (for use at end of stream)."""
        return b"" if self._dropping else bytes(self._buf)
