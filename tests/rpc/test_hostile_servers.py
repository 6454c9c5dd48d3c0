"""The same fault of a server gives the same exception class and message
from every client kind (scripted servers, real sockets)."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from support.peers import ScriptedServer

from sipyco.errors import ConnectionClosed, HandshakeTimeout, ProtocolViolation
from sipyco.pc_rpc import AsyncioClient, BestEffortClient, Client

IDENT = json.dumps({"targets": ["t"], "description": None}).encode() + b"\n"


def identify(peer, ident=IDENT):
    assert peer.line() == b"ARTIQ pc_rpc\n"
    peer.send(ident)


def select(peer):
    identify(peer)
    assert peer.line() == b"t\n"


def ready(peer):
    select(peer)
    peer.send(b'{"echo"}\n')


def oversized_identification(peer):
    identify(peer, b"x" * 100_000 + b"\n")
    peer.until_closed()


def json_free_identification(peer):
    identify(peer, b"hello there\n")
    peer.until_closed()


def close_before_identifying(peer):
    assert peer.line() == b"ARTIQ pc_rpc\n"


def bad_method_list(peer):
    select(peer)
    peer.send(b"5\n")
    peer.until_closed()


def close_after_selection(peer):
    select(peer)


def non_pyon_reply(peer):
    ready(peer)
    peer.line()
    peer.send(b"this is not PYON\n")
    peer.until_closed()


def close_mid_call(peer):
    ready(peer)
    peer.line()


SCRIPTS = {
    "oversized identification": (oversized_identification, ProtocolViolation,
                                  "identification is longer than 65536 bytes"),
    "non-JSON identification": (json_free_identification, ProtocolViolation,
                                "identification is not JSON"),
    "close before identifying": (close_before_identifying, ConnectionClosed,
                                 "before identifying itself"),
    "bad method list": (bad_method_list, ProtocolViolation, "malformed method list"),
    "close after selection": (close_after_selection, ConnectionClosed,
                              "after target 't' was selected"),
    "non-PYON reply": (non_pyon_reply, ProtocolViolation, "malformed reply"),
    "close mid-call": (close_mid_call, ConnectionClosed, "before the reply arrived"),
}


def outcome_sync(port):
    try:
        with Client("127.0.0.1", port, "t", timeout=20) as c:
            c.echo(1)
    except Exception as exc:
        return exc
    raise AssertionError("no exception")


def outcome_asyncio(port):
    async def run():
        c = AsyncioClient(timeout=20)
        try:
            await c.connect_rpc("127.0.0.1", port, "t")
            await c.echo(1)
        except Exception as exc:
            return exc
        finally:
            c.close_rpc()
        raise AssertionError("no exception")
    return asyncio.run(run())


@pytest.mark.parametrize("fault", SCRIPTS)
def test_same_fault_same_error_from_every_client_kind(fault, caplog):
    script, cls, fragment = SCRIPTS[fault]
    with ScriptedServer(script) as server:
        sync_exc = outcome_sync(server.port)
        async_exc = outcome_asyncio(server.port)
        with caplog.at_level(logging.WARNING, logger="sipyco.pc_rpc"):
            best = BestEffortClient("127.0.0.1", server.port, "t", firstcon_timeout=20,
                                    retry=3600)
            try:
                assert best.echo(1) is None  # network trouble never raises here
            finally:
                best.close_rpc()
    assert type(sync_exc) is cls, sync_exc
    assert type(async_exc) is cls, async_exc
    assert fragment in str(sync_exc)
    assert str(async_exc) == str(sync_exc)
    warnings = [r.getMessage() for r in caplog.records if r.name == "sipyco.pc_rpc"]
    assert any(str(sync_exc) in w for w in warnings), warnings


def test_server_gone_mid_call_is_eof_error_as_in_110():
    with ScriptedServer(close_mid_call) as server:
        with pytest.raises(EOFError):
            with Client("127.0.0.1", server.port, "t", timeout=20) as c:
                c.echo(1)


def silent(peer):
    peer.until_closed()


def test_a_silent_server_fails_every_client_kind_within_handshake_timeout(caplog):
    with ScriptedServer(silent) as server:
        with pytest.raises(HandshakeTimeout, match=r"handshake_timeout=0\.3 s"):
            Client("127.0.0.1", server.port, "t", handshake_timeout=0.3)

        async def run():
            c = AsyncioClient(handshake_timeout=0.3)
            with pytest.raises(HandshakeTimeout, match=r"handshake_timeout=0\.3 s"):
                await c.connect_rpc("127.0.0.1", server.port, "t")
        asyncio.run(run())

        with caplog.at_level(logging.WARNING, logger="sipyco.pc_rpc"):
            best = BestEffortClient("127.0.0.1", server.port, "t", firstcon_timeout=0.3,
                                    retry=3600)
            best.close_rpc()
        assert any("handshake_timeout=0.3 s" in r.getMessage() for r in caplog.records)


def test_timeout_alone_also_bounds_the_handshake():
    with ScriptedServer(silent) as server:
        with pytest.raises(HandshakeTimeout, match=r"handshake_timeout=0\.3 s"):
            Client("127.0.0.1", server.port, "t", timeout=0.3)
