"""Things going wrong: callbacks that raise, disconnections, unknown names,
nobody listening, a stalled subscriber, hostile publishers and clients."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from support.net import eventually, free_port, within
from support.peers import ScriptedServer
from support.sync import HELLO, Counter, Recorder, done, settle

from sipyco.errors import ConnectionClosed, HandshakeTimeout, ServerUnreachable
from sipyco.sync_struct import Notifier, Subscriber

LOGGER = "sipyco.sync_struct"


# --- notify_cb that raises -----------------------------------------------------------

@pytest.mark.asyncio
async def test_a_raising_notify_cb_is_logged_and_the_mirror_stays_in_sync(
        publish, subscribe, caplog):
    n = Notifier({"l": [], "x": 0})
    publisher = await publish({"s": n})
    after = Recorder()
    disconnected = Counter()
    failures = []

    def bad(mod):
        failures.append(mod["action"])
        raise RuntimeError(f"callback failure on {mod['action']}")

    with caplog.at_level(logging.ERROR, logger=LOGGER):
        sub = await subscribe(publisher.port, "s", notify_cb=[bad, after],
                              disconnect_cb=disconnected)
        for i in range(20):
            n["l"].append(i)
            n["x"] = i
        n["sentinel"] = "done"
        await eventually(done(sub))
    assert sub.target == n.raw_view
    assert failures == ["init"] + ["append", "setitem"] * 20 + ["setitem"]
    # the callback after the failing one was called every time
    assert [m["action"] for m in after.mods] == failures
    assert disconnected.calls == 0
    logged = [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.ERROR]
    assert len(logged) == len(failures)
    assert all(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in logged)


# --- disconnect_cb ----------------------------------------------------------------------

@pytest.mark.asyncio
async def test_disconnect_cb_once_when_the_publisher_stops(publish, subscribe):
    n = Notifier({"x": 0})
    publisher = await publish({"s": n})
    counters = [Counter() for _ in range(3)]
    subs = [await subscribe(publisher.port, "s", disconnect_cb=c) for c in counters]
    await publisher.stop()
    for c in counters:
        await eventually(lambda c=c: c.calls >= 1)
    await settle()
    for sub in subs:
        await sub.close()
    await settle()
    assert [c.calls for c in counters] == [1, 1, 1]


@pytest.mark.asyncio
async def test_disconnect_cb_not_called_by_close(publish, subscribe):
    n = Notifier({"x": 0})
    publisher = await publish({"s": n})
    closed = Counter()
    other = Counter()
    sub = await subscribe(publisher.port, "s", disconnect_cb=closed)
    witness = await subscribe(publisher.port, "s", disconnect_cb=other)
    await sub.close()
    # forgotten once a write to it fails (its end of stream alone could be a half-close)
    changes = iter(range(10**6))
    await eventually(lambda: n.__setitem__("x", next(changes)) or
                     len(publisher._subscriptions["s"]) == 1)
    n["sentinel"] = "done"
    await eventually(done(witness))
    await publisher.stop()
    await eventually(lambda: other.calls == 1)
    await settle()
    assert closed.calls == 0
    # the closed subscriber's copy stopped following
    assert "sentinel" not in sub.target


@pytest.mark.asyncio
async def test_disconnect_cb_once_when_the_connection_is_reset(raw_publisher, subscribe):
    raw = await raw_publisher([b'{"action": "init", "struct": {"x": 0}}\n',
                               b'{"action": "setitem", "path": [], "key": "x", "value": 1}\n'],
                              then="abort")
    counter = Counter()
    sub = await subscribe(raw.port, "s", disconnect_cb=counter)
    await eventually(lambda: counter.calls == 1)
    await settle()
    await sub.close()
    assert counter.calls == 1


@pytest.mark.asyncio
async def test_disconnect_cb_once_when_the_publisher_hangs_up(raw_publisher, subscribe):
    raw = await raw_publisher([b'{"action": "init", "struct": {"x": 0}}\n',
                               b'{"action": "setitem", "path": [], "key": "x", "value": 1}\n'],
                              then="close")
    counter = Counter()
    sub = await subscribe(raw.port, "s", disconnect_cb=counter)
    await eventually(lambda: counter.calls == 1)
    assert sub.target == {"x": 1}
    await sub.close()
    await settle()
    assert counter.calls == 1


@pytest.mark.asyncio
async def test_a_raising_disconnect_cb_is_logged(raw_publisher, subscribe, caplog):
    raw = await raw_publisher([b'{"action": "init", "struct": {}}\n'], then="close")
    calls = []

    def bad():
        calls.append(1)
        raise RuntimeError("disconnect callback failure")

    with caplog.at_level(logging.ERROR, logger=LOGGER):
        await subscribe(raw.port, "s", disconnect_cb=bad)
        await eventually(lambda: calls == [1])
        await eventually(lambda: any(r.exc_info and "disconnect callback failure" in
                                     str(r.exc_info[1]) for r in caplog.records))


# --- connecting -------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_unknown_notifier_name_raises_connection_closed(publish):
    publisher = await publish({"known": Notifier({})})
    sub = Subscriber("no-such-notifier", lambda s: s)
    with pytest.raises(ConnectionClosed) as info:
        await within(sub.connect("127.0.0.1", publisher.port))
    assert "no-such-notifier" in str(info.value)
    assert isinstance(info.value, EOFError)
    await sub.close()


@pytest.mark.asyncio
async def test_nobody_listening_raises_server_unreachable():
    sub = Subscriber("s", lambda s: s)
    with pytest.raises(ServerUnreachable) as info:
        await within(sub.connect("127.0.0.1", free_port()))
    assert isinstance(info.value, ConnectionRefusedError)
    await sub.close()


@pytest.mark.parametrize("name", ["", "two\nlines", "cr\r"])
def test_subscriber_refuses_names_that_break_the_handshake(name):
    with pytest.raises(ValueError):
        Subscriber(name, lambda s: s)


# --- bounded memory --------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_a_stalled_subscriber_is_dropped_and_memory_stays_bounded(
        publish, subscribe, caplog):
    limit = 256 * 1024
    payload = "x" * (64 * 1024)
    n = Notifier({"blob": "", "seq": 0})
    publisher = await publish({"big": n}, max_backlog_bytes=limit)
    good_gone = Counter()
    good = await subscribe(publisher.port, "big", disconnect_cb=good_gone)

    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.setblocking(False)
    loop = asyncio.get_running_loop()
    try:
        await within(loop.sock_connect(stalled, ("127.0.0.1", publisher.port)))
        await within(loop.sock_sendall(stalled, HELLO + b"big\n"))
        subs = publisher._subscriptions["big"]
        await eventually(lambda: len(subs) == 2)
        stalled_name = "{}:{}".format(*stalled.getsockname()[:2])
        (stalled_sub,) = [s for s in subs
                          if s.writer.get_extra_info("peername")[1] == stalled.getsockname()[1]]
        (good_sub,) = [s for s in subs if s is not stalled_sub]

        message = len(f'{{"action": "setitem", "path": [], "key": "blob", '
                      f'"value": "{payload}9999"}}\n')
        largest = 0
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            for i in range(1000):  # at most 64 MB before the test gives up
                n["blob"] = payload + str(i)
                largest = max([largest, *(s.transport.get_write_buffer_size() for s in subs)])
                n["seq"] = i
                largest = max([largest, *(s.transport.get_write_buffer_size() for s in subs)])
                if stalled_sub not in subs:
                    break
                # let the good subscriber keep up (it is on this same loop)
                await eventually(lambda: good_sub.transport.get_write_buffer_size() == 0)
            else:
                pytest.fail("the stalled subscriber was never dropped")
        assert largest <= limit + message
        warnings = [r for r in caplog.records
                    if r.name == LOGGER and r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert stalled_name in warnings[0].getMessage()
        assert "big" in warnings[0].getMessage()
        # its buffer is gone, the good subscriber is still served
        assert subs == {good_sub}
        assert stalled_sub.transport.get_write_buffer_size() == 0
        assert stalled_sub.transport.is_closing()

        # the stalled socket, read at last, ends (EOF or reset) after what the
        # kernel had already accepted
        async def drain_to_end():
            while True:
                try:
                    if not await loop.sock_recv(stalled, 1 << 20):
                        return
                except ConnectionResetError:
                    return
        await within(drain_to_end())
    finally:
        stalled.close()

    n["sentinel"] = "done"
    await eventually(done(good))
    assert good.target == n.raw_view
    assert good_gone.calls == 0


@pytest.mark.asyncio
async def test_a_subscriber_that_keeps_up_is_never_dropped(publish, subscribe, caplog):
    limit = 64 * 1024
    n = Notifier({"blob": ""})
    publisher = await publish({"s": n}, max_backlog_bytes=limit)
    gone = Counter()
    sub = await subscribe(publisher.port, "s", disconnect_cb=gone)
    (sub_state,) = publisher._subscriptions["s"]
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for i in range(200):
            n["blob"] = "y" * 30000 + str(i)
            await eventually(lambda: sub_state.transport.get_write_buffer_size() == 0)
        n["sentinel"] = "done"
        await eventually(done(sub))
    assert gone.calls == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# --- hostile publishers --------------------------------------------------------------------

BAD_FIRST_LINES = {
    "garbage": b"\x00\xff\xfe garbage\n",
    "not-pyon": b"this is not pyon at all\n",
    "not-init": b'{"action": "setitem", "path": [], "key": "a", "value": 1}\n',
    "list": b"[1, 2, 3]\n",
    "no-action": b'{"struct": {}}\n',
    "code-v1": b'__import__("os").system("touch MARKER")\n',
    "code-in-struct": b'{"action": "init", "struct": __import__("os").system("touch MARKER")}\n',
    "lambda": b'(lambda: __import__("os").system("touch MARKER"))()\n',
    "empty-line": b"\n",
}


@pytest.mark.parametrize("first", list(BAD_FIRST_LINES.values()), ids=list(BAD_FIRST_LINES))
@pytest.mark.asyncio
async def test_a_bad_first_line_makes_connect_raise(raw_publisher, tmp_path, monkeypatch,
                                                    first):
    monkeypatch.chdir(tmp_path)
    raw = await raw_publisher([first, b'{"action": "init", "struct": {}}\n'])
    counter = Counter()
    sub = Subscriber("s", lambda s: s, disconnect_cb=counter)
    with pytest.raises((ValueError, EOFError)):
        await within(sub.connect("127.0.0.1", raw.port))
    assert not (tmp_path / "MARKER").exists()
    # the subscriber hung up
    await within(raw.peer_eof.wait())
    await sub.close()
    assert counter.calls == 0


@pytest.mark.asyncio
async def test_an_init_without_struct_makes_connect_raise(raw_publisher):
    raw = await raw_publisher([b'{"action": "init"}\n'])
    sub = Subscriber("s", lambda s: s)
    # currently a bare KeyError('struct'); any refusal that closes is accepted
    with pytest.raises((ValueError, EOFError, LookupError)):
        await within(sub.connect("127.0.0.1", raw.port))
    await within(raw.peer_eof.wait())


@pytest.mark.asyncio
async def test_a_raising_target_builder_makes_connect_raise(raw_publisher):
    raw = await raw_publisher([b'{"action": "init", "struct": {}}\n'])

    def builder(struct):
        raise RuntimeError("builder refuses")

    sub = Subscriber("s", builder)
    with pytest.raises(RuntimeError, match="builder refuses"):
        await within(sub.connect("127.0.0.1", raw.port))
    await within(raw.peer_eof.wait())


@pytest.mark.asyncio
async def test_a_publisher_that_hangs_up_before_the_init(raw_publisher):
    raw = await raw_publisher([b'{"action": "init", "str'], then="close")
    sub = Subscriber("s", lambda s: s)
    with pytest.raises(ConnectionClosed):
        await within(sub.connect("127.0.0.1", raw.port))


BAD_MODS = {
    "garbage": b"\x00\xff garbage\n",
    "code-v1": b'__import__("os").system("touch MARKER")\n',
    "code-in-value": b'{"action": "append", "path": ["l"], '
                     b'"x": __import__("os").system("touch MARKER")}\n',
    "bad-path": b'{"action": "append", "path": ["nope", 3], "x": 1}\n',
    "path-not-a-list": b'{"action": "append", "path": 5, "x": 1}\n',
    "no-path": b'{"action": "append", "x": 1}\n',
    "bad-index": b'{"action": "pop", "path": ["l"], "i": 99}\n',
    "missing-key": b'{"action": "delitem", "path": [], "key": "nope"}\n',
    "append-to-dict": b'{"action": "append", "path": [], "x": 1}\n',
    "unhashable-key": b'{"action": "setitem", "path": [], "key": [1], "value": 1}\n',
    "unknown-action": b'{"action": "explode", "path": [], "key": "l"}\n',
    "init-again": b'{"action": "init", "struct": {"l": ["replaced"]}}\n',
    "not-a-dict": b'[1, 2]\n',
    "no-action": b'{"path": [], "key": "l", "value": 1}\n',
    "empty-line": b"\n",
}


@pytest.mark.parametrize("bad", list(BAD_MODS.values()), ids=list(BAD_MODS))
@pytest.mark.asyncio
async def test_a_bad_mod_disconnects_once(raw_publisher, subscribe, tmp_path, monkeypatch,
                                          caplog, bad):
    monkeypatch.chdir(tmp_path)
    raw = await raw_publisher([
        b'{"action": "init", "struct": {"l": [0]}}\n',
        b'{"action": "append", "path": ["l"], "x": 1}\n',
        bad,
        b'{"action": "append", "path": ["l"], "x": 2}\n',
        b'{"action": "setitem", "path": [], "key": "sentinel", "value": "done"}\n',
    ])
    counter = Counter()
    rec = Recorder()
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        sub = await subscribe(raw.port, "s", notify_cb=rec, disconnect_cb=counter)
        await eventually(lambda: counter.calls == 1)
        await within(raw.peer_eof.wait())
    await settle()
    assert counter.calls == 1
    assert not (tmp_path / "MARKER").exists()
    # nothing after the bad mod was applied
    assert sub.target == {"l": [0, 1]}
    assert [m["action"] for m in rec.mods] == ["init", "append"]
    assert any(r.name == LOGGER and r.levelno >= logging.ERROR for r in caplog.records)


@pytest.mark.asyncio
async def test_a_mod_over_max_message_size_disconnects(raw_publisher, subscribe):
    raw = await raw_publisher([
        b'{"action": "init", "struct": {"l": []}}\n',
        b'{"action": "append", "path": ["l"], "x": "' + b"z" * 5000 + b'"}\n',
        b'{"action": "append", "path": ["l"], "x": 2}\n',
    ])
    counter = Counter()
    sub = await subscribe(raw.port, "s", disconnect_cb=counter, max_message_size=1000)
    await eventually(lambda: counter.calls == 1)
    assert sub.target == {"l": []}


@pytest.mark.asyncio
async def test_an_endless_mod_disconnects_once_over_max_message_size(raw_publisher, subscribe):
    raw = await raw_publisher([
        b'{"action": "init", "struct": {"l": []}}\n',
        b'{"action": "append", "path": ["l"], "x": "' + b"z" * 5000,  # no end, held open
    ])
    counter = Counter()
    sub = await subscribe(raw.port, "s", disconnect_cb=counter, max_message_size=1000)
    await eventually(lambda: counter.calls == 1)
    assert sub.target == {"l": []}


@pytest.mark.asyncio
async def test_an_endless_init_over_max_message_size_makes_connect_raise(raw_publisher):
    """A publisher that sends more than max_message_size bytes of a first
    line and never ends it: connect must give up (as the mod reader does)
    rather than keep reading while the publisher holds the line open."""
    raw = await raw_publisher([b'{"action": "init", "struct": "' + b"z" * 5000])
    sub = Subscriber("s", lambda s: s, max_message_size=1000)
    try:
        # 5 s: the 5000 bytes arrive in well under a millisecond
        with pytest.raises((ValueError, EOFError)):
            await within(sub.connect("127.0.0.1", raw.port), 5)
    finally:
        await sub.close()


@pytest.mark.asyncio
async def test_a_stream_ending_inside_a_mod_disconnects(raw_publisher, subscribe):
    raw = await raw_publisher([
        b'{"action": "init", "struct": {"l": []}}\n',
        b'{"action": "append", "path": ["l"], "x": 1}\n',
        b'{"action": "append", "path": ["l"], "x": 2',
    ], then="close")
    counter = Counter()
    sub = await subscribe(raw.port, "s", disconnect_cb=counter)
    await eventually(lambda: counter.calls == 1)
    assert sub.target == {"l": [1]}


# --- hostile clients of our Publisher ------------------------------------------------------

async def assert_hung_up(reader):
    """The peer closes the connection (EOF or reset) without sending anything."""
    try:
        data = await within(reader.read(1 << 16))
    except ConnectionResetError:
        return
    assert data == b""


HOSTILE_HANDSHAKES = {
    "garbage-hello": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "hello-with-crlf": b"ARTIQ sync_struct\r\ns\n",
    "other-protocol": b"ARTIQ pc_rpc\ns\n",
    "unknown-name": HELLO + b"unknown\n",
    "name-with-suffix": HELLO + b"s2\n",
    "huge-hello": b"A" * 300_000,
    "huge-name": HELLO + b"s" * 300_000 + b"\n",
    "binary": bytes(range(256)) * 4 + b"\n",
}


@pytest.mark.parametrize("hostile", list(HOSTILE_HANDSHAKES.values()),
                         ids=list(HOSTILE_HANDSHAKES))
@pytest.mark.asyncio
async def test_a_hostile_client_is_disconnected_and_others_unaffected(
        publish, subscribe, raw_subscriber, hostile):
    n = Notifier({"x": 0})
    publisher = await publish({"s": n})
    good = await subscribe(publisher.port, "s")
    reader, writer = await raw_subscriber(publisher.port)
    writer.write(hostile)
    try:
        await within(writer.drain())
    except ConnectionResetError:
        pass
    await assert_hung_up(reader)
    assert len(publisher._subscriptions["s"]) == 1
    n["x"] = 1
    n["sentinel"] = "done"
    await eventually(done(good))
    assert good.target == {"x": 1, "sentinel": "done"}
    # and a newcomer is still welcome
    late = await subscribe(publisher.port, "s")
    assert late.target == n.raw_view


@pytest.mark.asyncio
async def test_a_half_closed_subscriber_keeps_receiving(publish, raw_subscriber):
    """A subscriber sends nothing after the handshake, so one that shuts down
    its sending side (``shutdown(SHUT_WR)``, as ``nc -N`` does at the end of
    its input) is still a reader: upstream publishers keep writing to it."""
    n = Notifier({"x": 0})
    publisher = await publish({"s": n})
    reader, writer = await raw_subscriber(publisher.port, "s")
    writer.write_eof()
    assert await within(reader.readline()) == b'{"action": "init", "struct": {"x": 0}}\n'
    await settle()
    n["x"] = 1
    assert await within(reader.readline()) == \
        b'{"action": "setitem", "path": [], "key": "x", "value": 1}\n'


@pytest.mark.asyncio
async def test_a_silent_client_is_dropped_after_the_handshake_timeout(
        publish, subscribe, raw_subscriber):
    n = Notifier({"x": 0})
    publisher = await publish({"s": n}, handshake_timeout=0.2)
    reader, writer = await raw_subscriber(publisher.port)
    writer.write(b"ARTIQ sync")  # and then nothing
    await assert_hung_up(reader)
    good = await subscribe(publisher.port, "s")
    assert good.target == {"x": 0}


@pytest.mark.asyncio
async def test_a_subscriber_that_vanishes_is_forgotten(publish, subscribe, raw_subscriber):
    n = Notifier({"x": 0})
    publisher = await publish({"s": n})
    good = await subscribe(publisher.port, "s")
    reader, writer = await raw_subscriber(publisher.port, "s")
    await within(reader.readline())
    subs = publisher._subscriptions["s"]
    assert len(subs) == 2
    writer.transport.abort()  # gone without a word
    # forgotten once a write to it fails (its end of stream alone could be a half-close)
    changes = iter(range(10**6))
    await eventually(lambda: n.__setitem__("x", next(changes)) or len(subs) == 1)
    for i in range(10):
        n["x"] = i
    n["sentinel"] = "done"
    await eventually(done(good))


@pytest.mark.asyncio
async def test_a_silent_publisher_makes_connect_fail_within_handshake_timeout():
    """A publisher that accepts and never sends the initial structure: connect
    gives up after handshake_timeout with an error naming it."""

    def silent(peer):
        assert peer.line() == HELLO
        assert peer.line() == b"s\n"
        peer.until_closed()

    with ScriptedServer(silent) as server:
        sub = Subscriber("s", lambda s: s, handshake_timeout=0.3)
        try:
            with pytest.raises(HandshakeTimeout, match=r"handshake_timeout=0\.3 s"):
                await within(sub.connect("127.0.0.1", server.port))
        finally:
            await sub.close()


def test_subscriber_handshake_timeout_has_a_finite_default():
    assert 0 < Subscriber("s", lambda s: s).handshake_timeout < float("inf")
