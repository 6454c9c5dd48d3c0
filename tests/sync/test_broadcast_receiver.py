"""The broadcast Receiver against scripted broadcasters: how a connection
ends (disconnect_cb exactly once, never for close()), bad lines, callbacks
that raise, and what connect() refuses."""

from __future__ import annotations

import logging
import socket
import struct

import pytest
import pytest_asyncio
from support.broadcast import BroadcastPeers, Values
from support.net import eventually, free_port, within
from support.peers import ScriptedServer
from support.sync import Counter

from sipyco.broadcast import Receiver
from sipyco.errors import ServerUnreachable


@pytest_asyncio.fixture
async def peers():
    started = BroadcastPeers()
    yield started
    await started.aclose()


def broadcaster_script(lines: bytes, then: str = "close"):
    """A scripted broadcaster that reads the handshake, sends ``lines`` and
    then closes ("close"), resets ("reset") or holds the connection until
    the receiver closes it ("hold")."""
    def script(peer):
        peer.line()
        peer.line()
        peer.send(lines)
        if then == "hold":
            peer.until_closed()
        elif then == "reset":
            peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    return ScriptedServer(script)


@pytest.mark.parametrize("then", ["close", "reset"])
@pytest.mark.asyncio
async def test_disconnect_cb_is_called_once_when_the_broadcaster_goes(peers, then):
    with broadcaster_script(b"1\n2\n", then) as server:
        got = Values()
        counter = Counter()
        receiver = await peers.receiver(server.port, "ch", got, counter)
        await eventually(lambda: counter.calls == 1)
        if then == "close":
            assert got.values == [1, 2]
        await receiver.close()
        await receiver.close()
        assert counter.calls == 1


@pytest.mark.asyncio
async def test_close_does_not_call_disconnect_cb(peers):
    broadcaster = await peers.broadcaster()
    counter = Counter()
    witness = Counter()
    receiver = await peers.receiver(broadcaster, "ch", disconnect_cb=counter)
    await peers.receiver(broadcaster, "ch", disconnect_cb=witness)
    await receiver.close()
    await broadcaster.stop()
    await eventually(lambda: witness.calls == 1)
    assert counter.calls == 0


@pytest.mark.asyncio
async def test_a_receiver_can_connect_again_after_close(peers):
    broadcaster = await peers.broadcaster()
    got = Values()
    receiver = await peers.receiver(broadcaster, "ch", got)
    with pytest.raises(RuntimeError):
        await receiver.connect("127.0.0.1", broadcaster.port)
    await receiver.close()
    await peers.connect(receiver, broadcaster)
    broadcaster.broadcast("ch", "again")
    await eventually(lambda: got.values == ["again"])


@pytest.mark.parametrize("bad_line", [
    b"not pyon(\n", b'{"a": }\n', b"__import__('os')\n", b"\xff\xfe\n",
    b'{"__jsonclass__":["nosuchclass",[]]}\n',
], ids=["syntax", "missing-value", "code", "not-utf8", "unknown-class"])
@pytest.mark.asyncio
async def test_an_undecodable_line_ends_the_receiver(peers, caplog, bad_line):
    with broadcaster_script(b"1\n" + bad_line + b"2\n", "hold") as server:
        got = Values()
        counter = Counter()
        with caplog.at_level(logging.ERROR, logger="sipyco.broadcast"):
            receiver = await peers.receiver(server.port, "ch", got, counter)
            await eventually(lambda: counter.calls == 1)
        await receiver.close()
    assert got.values == [1]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "not PYON" in errors[0].getMessage()


@pytest.mark.asyncio
async def test_a_line_over_max_message_size_ends_the_receiver(peers, caplog):
    with broadcaster_script(b"1\n" + b'"' + b"a" * 200 + b'"\n2\n', "hold") as server:
        got = Values()
        counter = Counter()
        with caplog.at_level(logging.ERROR, logger="sipyco.broadcast"):
            receiver = await peers.receiver(server.port, "ch", got, counter,
                                            max_message_size=100)
            await eventually(lambda: counter.calls == 1)
        await receiver.close()
    assert got.values == [1]
    assert any("max_message_size=100" in r.getMessage() for r in caplog.records)


@pytest.mark.asyncio
async def test_an_unfinished_last_line_ends_the_receiver_with_an_error(peers, caplog):
    with broadcaster_script(b"1\n[2, 3", "close") as server:
        got = Values()
        counter = Counter()
        with caplog.at_level(logging.ERROR, logger="sipyco.broadcast"):
            await peers.receiver(server.port, "ch", got, counter)
            await eventually(lambda: counter.calls == 1)
    assert got.values == [1]
    assert any("middle of a value" in r.getMessage() for r in caplog.records)


@pytest.mark.asyncio
async def test_a_raising_notify_cb_is_logged_and_receiving_goes_on(peers, caplog):
    broadcaster = await peers.broadcaster()
    seen = []

    def failing(value):
        seen.append(value)
        raise RuntimeError("callback bug")

    got = Values()
    counter = Counter()
    with caplog.at_level(logging.ERROR, logger="sipyco.broadcast"):
        await peers.receiver(broadcaster, "ch", [failing, got], counter)
        for i in range(5):
            broadcaster.broadcast("ch", i)
        await eventually(lambda: len(got) == 5)
    assert seen == got.values == [0, 1, 2, 3, 4]
    failures = [r for r in caplog.records if "callback bug" in str(r.exc_info)]
    assert len(failures) == 5
    assert counter.calls == 0


@pytest.mark.asyncio
async def test_a_single_notify_cb_and_a_list_are_both_accepted(peers):
    broadcaster = await peers.broadcaster()
    one, two, three = Values(), Values(), Values()
    await peers.receiver(broadcaster, "ch", one)
    await peers.receiver(broadcaster, "ch", [two, three])
    broadcaster.broadcast("ch", "v")
    for got in (one, two, three):
        await eventually(lambda got=got: got.values == ["v"])


@pytest.mark.asyncio
async def test_connect_refuses_a_bad_ssl_config_and_reports_nobody_listening():
    receiver = Receiver("ch", print)
    with pytest.raises(TypeError, match="ssl_config"):
        await receiver.connect("127.0.0.1", free_port(), ssl_config=object())
    with pytest.raises(ServerUnreachable):
        await within(receiver.connect("127.0.0.1", free_port()))
    with pytest.raises(ConnectionRefusedError):  # what upstream's receiver raises
        await within(receiver.connect("127.0.0.1", free_port()))
    await receiver.close()
