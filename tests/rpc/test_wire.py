"""Byte-level checks of the pc_rpc protocol against the facts of WIRE.md,
playing the part of sipyco 1.8 and 1.10 peers by hand in both directions."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from support.peers import ScriptedServer
from support.rpc_targets import Echo

from sipyco import pyon
from sipyco.pc_rpc import AsyncioClient, Client


def _lines(port):
    s = socket.create_connection(("127.0.0.1", port), 10)
    return s, s.makefile("rb")


def test_v1_session_as_sipyco_18_client_sees_it(serve):
    port = serve({"echo": Echo()}, builtin_terminate=True).port
    s, f = _lines(port)
    with s, f:
        s.sendall(b"ARTIQ pc_rpc\n")
        ident = json.loads(f.readline())
        assert ident["targets"] == ["echo"] and "pyon_v2" in ident["features"]
        s.sendall(b"echo\n")  # a 1.8 client ignores features and sends the bare name
        names = pyon.decode_v1(f.readline().decode())
        assert isinstance(names, set) and {"echo", "terminate"} <= names
        assert not any(n.startswith("_") for n in names)
        s.sendall(b'{"action": "call", "name": "echo", "args": ((1, 2), ), "kwargs": {}}\n')
        assert f.readline() == b'{"status": "ok", "ret": (1, 2)}\n'
        s.sendall(b'{"action": "call", "name": "echo", "args": (nparray((2, ), "<i8", '
                  b'b"AQAAAAAAAAACAAAAAAAAAA=="), ), "kwargs": {}}\n')
        assert f.readline() == (b'{"status": "ok", "ret": nparray((2, ), "<i8", '
                                b'b"AQAAAAAAAAACAAAAAAAAAA==")}\n')
        s.sendall(b'{"action": "call", "name": "fail_value", "args": ("x", ), "kwargs": {}}\n')
        reply = pyon.decode_v1(f.readline().decode())
        assert reply["status"] == "failed"
        exc = reply["exception"]
        assert exc["class"] == "ValueError" and exc["message"] == "x"
        assert isinstance(exc["traceback"], list) and exc["traceback"]


def test_v2_session_as_sipyco_110_client_sees_it(serve):
    port = serve({"echo": Echo()}).port
    s, f = _lines(port)
    with s, f:
        s.sendall(b"ARTIQ pc_rpc\n")
        f.readline()
        s.sendall(b"echo pyon_v2\n")
        names = pyon.decode_v2(f.readline().decode())
        assert "echo" in names
        s.sendall(b'{"action":"call","name":"echo","args":{"__jsonclass__":["tuple",'
                  b'[[{"__jsonclass__":["tuple",[[1,2]]]}]]]},"kwargs":{}}\n')
        assert f.readline() == b'{"status":"ok","ret":{"__jsonclass__":["tuple",[[1,2]]]}}\n'
        s.sendall(b'{"action":"call","name":"fail_custom","args":{"__jsonclass__":["tuple",'
                  b'[[]]]},"kwargs":{}}\n')
        reply = json.loads(f.readline())
        assert reply["status"] == "failed"
        assert reply["exception"]["class"] == "GenericRemoteException"
        assert reply["exception"]["message"] == "support.rpc_targets.CustomError: custom trouble"


@pytest.mark.parametrize("selection", [b"nosuch\n", b"echo pyon_v9\n", b"\n"])
def test_bad_selection_closes_connection(serve, selection):
    port = serve({"echo": Echo()}).port
    s, f = _lines(port)
    with s, f:
        s.sendall(b"ARTIQ pc_rpc\n")
        f.readline()
        s.sendall(selection)
        assert f.readline() == b""


def test_bad_hello_closes_connection(serve):
    port = serve({"echo": Echo()}).port
    s, f = _lines(port)
    with s, f:
        s.sendall(b"GET / HTTP/1.0\n")
        assert f.readline() == b""


def upstream_server(features):
    """A script for a ScriptedServer behaving like an upstream server: 1.8
    (no features) or 1.10 (offers pyon_v2); the peer records what the
    client sent."""
    def script(peer):
        peer.line()
        ident = {"targets": ["dev"], "description": "scripted"}
        if features:
            ident["features"] = features
        peer.send(pyon.encode(ident).encode() + b"\n")
        selection = peer.line()
        v2 = selection.split()[1:] == [b"pyon_v2"]
        enc = pyon.encode_v2 if v2 else pyon.encode
        peer.send(enc({"ping"}).encode() + b"\n")
        obj = pyon.decode(peer.line().decode())
        peer.send(enc({"status": "ok", "ret": ("pong", obj["args"])}).encode() + b"\n")
        peer.until_closed()
    return script


@pytest.mark.parametrize("features,expect_v2", [(None, False), (["pyon_v2"], True),
                                                (["pyon_v2", "later_thing"], True)])
@pytest.mark.parametrize("kind", ["sync", "asyncio"])
def test_client_against_scripted_upstream_server(features, expect_v2, kind):
    with ScriptedServer(upstream_server(features)) as srv:
        if kind == "sync":
            with Client("127.0.0.1", srv.port, timeout=10) as c:
                assert c.ping(1, (2,)) == ("pong", (1, (2,)))
        else:
            async def go():
                c = AsyncioClient(timeout=10)
                await c.connect_rpc("127.0.0.1", srv.port)
                try:
                    return await c.ping(1, (2,))
                finally:
                    await c.close_rpc()
            assert asyncio.run(go()) == ("pong", (1, (2,)))
    (peer,) = srv.peers
    assert peer.received[0] == b"ARTIQ pc_rpc\n"
    assert peer.received[1] == (b"dev pyon_v2\n" if expect_v2 else b"dev\n")
    request = peer.received[2].decode()
    if expect_v2:
        assert json.loads(request)["action"] == "call"
    else:
        assert request == '{"action": "call", "name": "ping", "args": (1, (2, )), "kwargs": {}}\n'
