"""Errors that name the user's own things: the notifier's value that cannot
be published, and the kind of server a subscriber was pointed at."""

from __future__ import annotations

import logging

import pytest
from support.net import eventually, within

from sipyco.errors import ConnectionClosed, EncodeError
from sipyco.pc_rpc import Server
from sipyco.sync_struct import Notifier, Subscriber


class Waveform:
    """An application class nobody registered with sipyco.pyon."""


HINT = ("(a value of class Waveform: to send it, register it on both ends with "
        "sipyco.pyon.register, see the pyon README)")
WAVEFORM = f"{Waveform.__module__}.Waveform"


def identity(struct):
    return struct


@pytest.mark.asyncio
async def test_an_unencodable_value_is_named_by_the_notifier_and_its_keys(publish, pyon_version):
    n = Notifier({"a": {}, "l": []})
    await publish({"status": n}, pyon_version=pyon_version)
    with pytest.raises(EncodeError) as info:
        n["bad"] = Waveform()
    assert isinstance(info.value, TypeError)
    assert str(info.value) == f'status["bad"]: cannot encode a value of type {WAVEFORM} {HINT}'
    assert info.value.subject == 'status["bad"]'
    with pytest.raises(EncodeError) as info:
        n["a"][3] = [1, Waveform()]
    assert str(info.value) == (f'status["a"][3][1]: cannot encode a value of type '
                               f'{WAVEFORM} {HINT}')
    with pytest.raises(EncodeError) as info:
        n["l"].append({"q": object()})
    assert str(info.value) == ('element ["q"] of the value appended to status["l"]: '
                               'cannot encode a value of type object')
    assert n.raw_view == {"a": {}, "l": []}  # nothing was changed


@pytest.mark.asyncio
async def test_an_unencodable_structure_is_named_when_a_subscriber_asks(publish, caplog):
    n = Notifier({"zz": {"deep": Waveform()}})
    publisher = await publish({"status": n})
    caplog.set_level(logging.ERROR, logger="sipyco.sync_struct")
    with pytest.raises(ConnectionClosed):
        await within(Subscriber("status", identity).connect("127.0.0.1", publisher.port))
    await eventually(lambda: any(r.name == "sipyco.sync_struct" for r in caplog.records))
    messages = [r.getMessage() for r in caplog.records if r.name == "sipyco.sync_struct"]
    assert len(messages) == 1
    assert messages[0].startswith("cannot send notifier 'status' to 127.0.0.1:")
    assert messages[0].endswith(f': status["zz"]["deep"]: cannot encode a value of type '
                                f'{WAVEFORM} {HINT}')


@pytest.mark.asyncio
async def test_a_subscriber_pointed_at_a_pc_rpc_server_says_so():
    server = Server({"instrument": object()})
    await server.start("127.0.0.1", 0)
    port = server.port
    try:
        subscriber = Subscriber("status", identity)
        with pytest.raises(ConnectionClosed) as info:
            await within(subscriber.connect("127.0.0.1", port))
    finally:
        await server.stop()
    assert str(info.value) == (f"the server at 127.0.0.1:{port} is a pc_rpc server, "
                               "not a sync_struct publisher")


@pytest.mark.asyncio
async def test_a_publisher_without_the_notifier_is_not_taken_for_a_pc_rpc_server(publish):
    publisher = await publish({"other": Notifier({})})
    with pytest.raises(ConnectionClosed) as info:
        await within(Subscriber("status", identity).connect("127.0.0.1", publisher.port))
    assert "pc_rpc" not in str(info.value)
    assert str(info.value).startswith(f"the publisher at 127.0.0.1:{publisher.port} closed "
                                      "the connection instead of sending notifier 'status'")
