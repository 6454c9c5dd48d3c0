"""Byte-level checks of the pc_rpc protocol against the facts of WIRE.md,
playing the part of sipyco 1.8 and 1.10 peers by hand in both directions."""

from __future__ import annotations

import asyncio
import json
import socket
import threading

import pytest
from targets import Echo

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
        assert reply["exception"]["message"] == "targets.CustomError: custom trouble"


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


class ScriptedServer:
    """A hand-written peer behaving like an upstream server: 1.8 (no
    features) or 1.10 (offers pyon_v2).  It records what the client sent."""

    def __init__(self, features):
        self.features = features
        self.received = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        conn, _ = self.sock.accept()
        with conn, conn.makefile("rwb", buffering=0) as f:
            self.received.append(f.readline())
            ident = {"targets": ["dev"], "description": "scripted"}
            if self.features:
                ident["features"] = self.features
            f.write(pyon.encode(ident).encode() + b"\n")
            selection = f.readline()
            self.received.append(selection)
            v2 = selection.split()[1:] == [b"pyon_v2"]
            enc = pyon.encode_v2 if v2 else pyon.encode
            f.write(enc({"ping"}).encode() + b"\n")
            request = f.readline()
            self.received.append(request)
            obj = pyon.decode(request.decode())
            f.write(enc({"status": "ok", "ret": ("pong", obj["args"])}).encode() + b"\n")
            f.readline()  # wait for the client to hang up

    def close(self):
        self.sock.close()
        self.thread.join(10)


@pytest.mark.parametrize("features,expect_v2", [(None, False), (["pyon_v2"], True),
                                                (["pyon_v2", "later_thing"], True)])
@pytest.mark.parametrize("kind", ["sync", "asyncio"])
def test_client_against_scripted_upstream_server(features, expect_v2, kind):
    srv = ScriptedServer(features)
    try:
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
    finally:
        srv.close()
    assert srv.received[0] == b"ARTIQ pc_rpc\n"
    assert srv.received[1] == (b"dev pyon_v2\n" if expect_v2 else b"dev\n")
    request = srv.received[2].decode()
    if expect_v2:
        assert json.loads(request)["action"] == "call"
    else:
        assert request == '{"action": "call", "name": "ping", "args": (1, (2, )), "kwargs": {}}\n'
