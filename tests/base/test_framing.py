"""The bounded line buffer under every protocol (sipyco._framing), fed by
hand, and its asyncio driver (sipyco._streams) over a StreamReader fed with
feed_data / feed_eof: no sockets."""

from __future__ import annotations

import asyncio

import pytest

from sipyco._framing import LineBuffer, LineTooLong
from sipyco._streams import StreamLines


def drain(buf: LineBuffer) -> list:
    """Every line (or LineTooLong) the buffer can give now."""
    out = []
    while (line := buf.next_line()) is not None:
        out.append(line)
    return out


def feed_all(buf: LineBuffer, chunks) -> list:
    """Feed ``chunks`` one by one, taking the lines out after each."""
    out = []
    for chunk in chunks:
        buf.feed(chunk)
        out += drain(buf)
    return out


def one_byte_at_a_time(data: bytes) -> list[bytes]:
    return [data[i:i + 1] for i in range(len(data))]


# ------------------------------------------------------------- basic lines ---

def test_one_line_per_feed():
    buf = LineBuffer(100)
    buf.feed(b"hello\n")
    assert buf.next_line() == b"hello"
    assert buf.next_line() is None
    assert buf.buffered == 0


def test_many_lines_in_one_feed_come_out_in_order():
    buf = LineBuffer(100)
    buf.feed(b"one\ntwo\nthree\n")
    assert drain(buf) == [b"one", b"two", b"three"]


def test_unterminated_line_needs_more():
    buf = LineBuffer(100)
    buf.feed(b"abc")
    assert buf.next_line() is None
    assert buf.buffered == 3
    buf.feed(b"def\n")
    assert buf.next_line() == b"abcdef"


def test_empty_lines_are_lines_not_need_more():
    buf = LineBuffer(100)
    buf.feed(b"\n\nx\n\n")
    assert drain(buf) == [b"", b"", b"x", b""]
    assert buf.next_line() is None


def test_line_returned_as_bytes():
    buf = LineBuffer(100)
    buf.feed(b"abc\n")
    assert type(buf.next_line()) is bytes


STREAM = b"ab\n\ncde\nf\n\ngh"  # ends with an unterminated "gh"
STREAM_LINES = [b"ab", b"", b"cde", b"f", b""]


@pytest.mark.parametrize("cut", range(len(STREAM) + 1))
def test_every_single_split_point(cut):
    buf = LineBuffer(100)
    assert feed_all(buf, [STREAM[:cut], STREAM[cut:]]) == STREAM_LINES
    assert buf.rest() == b"gh"


@pytest.mark.parametrize("first", range(len(STREAM) + 1))
def test_every_pair_of_split_points(first):
    for second in range(first, len(STREAM) + 1):
        buf = LineBuffer(100)
        chunks = [STREAM[:first], STREAM[first:second], STREAM[second:]]
        assert feed_all(buf, chunks) == STREAM_LINES, (first, second)
        assert buf.rest() == b"gh"


def test_one_byte_at_a_time():
    buf = LineBuffer(100)
    assert feed_all(buf, one_byte_at_a_time(STREAM)) == STREAM_LINES
    assert buf.rest() == b"gh"


def test_feeding_several_chunks_before_taking_lines():
    buf = LineBuffer(100)
    for chunk in (b"a", b"b\nc", b"d\n", b"e"):
        buf.feed(chunk)
    assert drain(buf) == [b"ab", b"cd"]
    assert buf.rest() == b"e"


# ------------------------------------------------------------------ limits ---

def test_line_of_exactly_limit_bytes_is_accepted():
    buf = LineBuffer(10)
    buf.feed(b"x" * 10 + b"\n")
    assert buf.next_line() == b"x" * 10


def test_line_of_limit_plus_one_in_one_feed_is_too_long_with_its_size():
    buf = LineBuffer(10)
    buf.feed(b"x" * 11 + b"\n")
    assert buf.next_line() == LineTooLong(11)
    assert buf.next_line() is None
    assert buf.buffered == 0


def test_line_of_exactly_limit_bytes_fed_one_byte_at_a_time():
    buf = LineBuffer(10)
    assert feed_all(buf, one_byte_at_a_time(b"x" * 10 + b"\n")) == [b"x" * 10]


def test_line_of_limit_plus_one_fed_one_byte_at_a_time():
    buf = LineBuffer(10)
    assert feed_all(buf, one_byte_at_a_time(b"x" * 11 + b"\n")) == [LineTooLong(11)]


@pytest.mark.parametrize("size", [11, 12, 25, 1000])
@pytest.mark.parametrize("chunk", [1, 3, 10, 11, 64])
def test_over_long_line_size_is_exact_whatever_the_feeds(size, chunk):
    data = b"y" * size + b"\n"
    buf = LineBuffer(10)
    events = feed_all(buf, [data[i:i + chunk] for i in range(0, len(data), chunk)])
    assert events == [LineTooLong(size)]


def test_overflow_counts_dropped_bytes_while_inside_an_over_long_line():
    buf = LineBuffer(10)
    assert buf.overflow == 0
    buf.feed(b"z" * 10)
    assert buf.next_line() is None
    assert buf.overflow == 0  # exactly the limit: still kept
    buf.feed(b"z")
    assert buf.next_line() is None
    assert buf.overflow == 11
    assert buf.buffered == 0
    buf.feed(b"z" * 5)
    assert buf.next_line() is None
    assert buf.overflow == 16
    buf.feed(b"zz\nok\n")
    assert buf.overflow == 0
    assert drain(buf) == [LineTooLong(18), b"ok"]


def test_buffered_never_exceeds_limit_plus_one_feed():
    limit, chunk = 50, 7
    data = (b"a" * 30 + b"\n" + b"b" * 500 + b"\n" + b"c" * 50 + b"\n") * 3
    buf = LineBuffer(limit)
    seen = []
    for i in range(0, len(data), chunk):
        buf.feed(data[i:i + chunk])
        assert buf.buffered <= limit + chunk
        seen += drain(buf)
        assert buf.buffered <= limit
    assert seen == [b"a" * 30, LineTooLong(500), b"c" * 50] * 3


def test_buffer_holds_nothing_while_dropping_a_huge_line():
    buf = LineBuffer(100)
    for _ in range(100):
        buf.feed(b"q" * 1000)
        assert buf.next_line() is None
        assert buf.buffered == 0
    assert buf.overflow == 100_000
    assert buf.buffered == 0


def test_lines_after_an_over_long_line_come_out_intact_and_in_order():
    buf = LineBuffer(6)
    buf.feed(b"first\n" + b"L" * 40 + b"\nsec")
    buf.feed(b"ond\nthird\n")
    assert drain(buf) == [b"first", LineTooLong(40), b"second", b"third"]


def test_too_long_comes_out_in_its_place_one_byte_at_a_time():
    data = b"a\n" + b"B" * 20 + b"\nc\n" + b"D" * 9 + b"\n\n"
    buf = LineBuffer(8)
    assert feed_all(buf, one_byte_at_a_time(data)) == [
        b"a", LineTooLong(20), b"c", LineTooLong(9), b""]


@pytest.mark.parametrize("cut", range(1, 40))
def test_too_long_in_its_place_at_every_split_point(cut):
    data = b"a\n" + b"B" * 20 + b"\nc\n" + b"D" * 9 + b"\n\n"
    buf = LineBuffer(8)
    assert feed_all(buf, [data[:cut], data[cut:]]) == [
        b"a", LineTooLong(20), b"c", LineTooLong(9), b""]


def test_two_over_long_lines_in_a_row():
    buf = LineBuffer(3)
    data = b"xxxx\nyyyyy\nok\n"
    assert feed_all(buf, one_byte_at_a_time(data)) == [LineTooLong(4), LineTooLong(5), b"ok"]


def test_raising_the_limit_between_lines():
    buf = LineBuffer(4)
    buf.feed(b"hi\n" + b"a-longer-line\n")
    assert buf.next_line() == b"hi"
    buf.limit = 100
    assert buf.next_line() == b"a-longer-line"


def test_lowering_the_limit_between_lines():
    buf = LineBuffer(100)
    buf.feed(b"hello\nworld!\n")
    assert buf.next_line() == b"hello"
    buf.limit = 3
    assert buf.next_line() == LineTooLong(6)
    assert buf.next_line() is None


def test_raised_limit_applies_to_a_partial_line_already_buffered():
    buf = LineBuffer(4)
    buf.feed(b"ok\nabc")
    assert drain(buf) == [b"ok"]
    buf.limit = 10
    buf.feed(b"defgh\n")
    assert buf.next_line() == b"abcdefgh"


# -------------------------------------------------------------------- rest ---

def test_rest_returns_the_unterminated_tail():
    buf = LineBuffer(100)
    buf.feed(b"line\ntail")
    assert buf.next_line() == b"line"
    assert buf.next_line() is None
    assert buf.rest() == b"tail"


def test_rest_is_empty_with_nothing_pending():
    buf = LineBuffer(100)
    buf.feed(b"line\n")
    assert drain(buf) == [b"line"]
    assert buf.rest() == b""


def test_rest_is_empty_while_dropping_an_over_long_line():
    buf = LineBuffer(4)
    buf.feed(b"abcdefgh")
    assert buf.next_line() is None
    assert buf.overflow == 8
    assert buf.rest() == b""


# ------------------------------------------------------------- large lines ---

def test_five_megabyte_line_is_byte_identical():
    big = bytes(range(256)).replace(b"\n", b"") * (5 * 1024 * 1024 // 255 + 1)
    big = big[:5 * 1024 * 1024]
    data = b"before\n" + big + b"\nafter\n"
    buf = LineBuffer(8 * 1024 * 1024)
    chunk = 65536
    lines = feed_all(buf, [data[i:i + chunk] for i in range(0, len(data), chunk)])
    assert len(lines) == 3
    assert lines[0] == b"before" and lines[2] == b"after"
    assert len(lines[1]) == len(big) and lines[1] == big


def test_five_megabyte_line_in_one_feed():
    big = b"\x00\xff" * (5 * 512 * 1024)
    buf = LineBuffer(len(big))
    buf.feed(big + b"\n")
    assert buf.next_line() == big
    assert buf.buffered == 0


def test_five_megabyte_line_one_byte_over_the_limit():
    big = b"m" * (5 * 1024 * 1024)
    buf = LineBuffer(len(big) - 1)
    chunk = 1 << 16
    events = feed_all(buf, [big[i:i + chunk] for i in range(0, len(big), chunk)] + [b"\nz\n"])
    assert events == [LineTooLong(len(big)), b"z"]


# ------------------------------------------------------------- StreamLines ---

def reader_with(*chunks: bytes, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    for chunk in chunks:
        reader.feed_data(chunk)
    if eof:
        reader.feed_eof()
    return reader


@pytest.mark.asyncio
async def test_stream_lines_gives_lines_then_none_with_the_rest():
    lines = StreamLines(reader_with(b"one\ntw", b"o\n\nthree"), 100)
    assert await lines.next() == b"one"
    assert await lines.next() == b"two"
    assert await lines.next() == b""
    assert await lines.next() is None
    assert lines.rest == b"three"


@pytest.mark.asyncio
async def test_stream_lines_end_of_stream_with_nothing_pending():
    lines = StreamLines(reader_with(b"only\n"), 100)
    assert await lines.next() == b"only"
    assert await lines.next() is None
    assert lines.rest == b""


@pytest.mark.asyncio
async def test_stream_lines_over_long_line_keeps_the_stream_in_step():
    reader = reader_with(b"ok\n" + b"x" * 25 + b"\nafter\n")
    lines = StreamLines(reader, 10, hang_up_on_overflow=False)
    assert await lines.next() == b"ok"
    assert await lines.next() == LineTooLong(25)
    assert await lines.next() == b"after"
    assert await lines.next() is None


@pytest.mark.asyncio
async def test_stream_lines_over_long_line_arriving_in_pieces():
    reader = asyncio.StreamReader()
    lines = StreamLines(reader, 10)
    pending = asyncio.ensure_future(lines.next())
    for _ in range(4):
        reader.feed_data(b"x" * 8)
        for _ in range(3):
            await asyncio.sleep(0)
        assert not pending.done()  # no hang-up: it waits for the line's end
    reader.feed_data(b"x\nnext\n")
    assert await asyncio.wait_for(pending, 5) == LineTooLong(33)
    assert await asyncio.wait_for(lines.next(), 5) == b"next"


@pytest.mark.asyncio
async def test_stream_lines_hang_up_reports_as_soon_as_the_limit_passes():
    reader = asyncio.StreamReader()
    lines = StreamLines(reader, 10, hang_up_on_overflow=True)
    reader.feed_data(b"ok\n" + b"x" * 10)  # exactly the limit, no newline yet
    assert await asyncio.wait_for(lines.next(), 5) == b"ok"
    pending = asyncio.ensure_future(lines.next())
    for _ in range(3):
        await asyncio.sleep(0)
    assert not pending.done()
    reader.feed_data(b"xx")  # never ends, never hits EOF
    assert await asyncio.wait_for(pending, 5) == LineTooLong(12)


@pytest.mark.asyncio
async def test_stream_lines_hang_up_option_still_accepts_lines_at_the_limit():
    lines = StreamLines(reader_with(b"x" * 10 + b"\n"), 10, hang_up_on_overflow=True)
    assert await lines.next() == b"x" * 10
    assert await lines.next() is None


@pytest.mark.asyncio
async def test_stream_lines_limit_is_the_buffer_limit():
    lines = StreamLines(reader_with(b"abcdef\nabcdef\n"), 3)
    assert await lines.next() == LineTooLong(6)
    lines.limit = 6
    assert lines.limit == 6 and lines.buffer.limit == 6
    assert await lines.next() == b"abcdef"


def _drain_one_by_one(buffer):
    out = []
    while (line := buffer.next_line()) is not None:
        out.append(line)
    return out


@pytest.mark.parametrize("seed", range(40))
def test_take_lines_gives_what_next_line_gives(seed):
    """The batch reader and the line-by-line reader agree on every stream,
    however it is cut: lines, over-long lines (ended in the same chunk or
    later) and their order."""
    import random
    rng = random.Random(seed)
    limit = 20
    stream = b"".join(b"x" * rng.choice([0, 1, 5, 19, 20, 21, 35, 80]) + b"\n"
                      for _ in range(rng.randint(1, 30)))
    stream += b"tail" * rng.randint(0, 8)  # an unfinished last line, maybe over-long
    cuts = sorted(rng.sample(range(1, len(stream)), min(len(stream) - 1, rng.randint(0, 12))))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    one, batch = LineBuffer(limit), LineBuffer(limit)
    got_one, got_batch = [], []
    for piece in pieces:
        one.feed(piece)
        got_one += _drain_one_by_one(one)
        batch.feed(piece)
        got_batch += batch.take_lines()
        assert batch.overflow == one.overflow
        assert batch.buffered <= limit + len(piece)
    assert got_batch == got_one
    assert batch.rest() == one.rest()


def test_take_lines_is_empty_when_no_line_is_complete():
    buffer = LineBuffer(10)
    buffer.feed(b"abc")
    assert buffer.take_lines() == []
    buffer.feed(b"def\nx")
    assert buffer.take_lines() == [b"abcdef"]
    assert buffer.rest() == b"x"
