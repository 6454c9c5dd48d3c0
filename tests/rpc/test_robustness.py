"""Hostile and broken clients: the server answers or hangs up cleanly and
keeps serving everybody else."""

from __future__ import annotations

import json
import socket
import time

import pytest
from support.rpc_targets import Echo

from sipyco import pyon
from sipyco.errors import MessageTooLarge


def _session(port, v2=False):
    s = socket.create_connection(("127.0.0.1", port), 10)
    f = s.makefile("rb")
    s.sendall(b"ARTIQ pc_rpc\n")
    f.readline()
    s.sendall(b"echo pyon_v2\n" if v2 else b"echo\n")
    f.readline()
    return s, f


MALFORMED = [
    b"this is not pyon\n",
    b"[1, 2, 3]\n",
    b'{"action": "dance"}\n',
    b'{"action": "call", "name": 5, "args": (), "kwargs": {}}\n',
    b'{"action": "call", "name": "echo", "args": 7, "kwargs": {}}\n',
    b'{"action": "call", "name": "echo", "args": (), "kwargs": {1: 2}}\n',
    b'__import__("os").system("touch /tmp/sipyco-pwned")\n',
    b'{"action": "call", "name": "echo", "args": (().__class__, ), "kwargs": {}}\n',
    b"\xff\xfe\x00garbage\n",
    b"\n",
]


@pytest.mark.parametrize("line", MALFORMED)
def test_malformed_request_gets_failed_reply_and_connection_survives(serve, line):
    port = serve({"echo": Echo()}).port
    s, f = _session(port)
    with s, f:
        s.sendall(line)
        reply = pyon.decode(f.readline().decode())
        assert reply["status"] == "failed"
        assert reply["exception"]["class"] in ("ValueError", "AttributeError")
        s.sendall(b'{"action": "call", "name": "echo", "args": (1, ), "kwargs": {}}\n')
        assert pyon.decode(f.readline().decode()) == {"status": "ok", "ret": 1}


@pytest.mark.parametrize("name", ["_private", "__class__", "__init__", "__reduce__",
                                  "_Echo__x", "__getattribute__"])
@pytest.mark.parametrize("v2", [False, True])
def test_underscore_names_are_never_callable(serve, name, v2):
    port = serve({"echo": Echo()}).port
    s, f = _session(port, v2)
    with s, f:
        enc = pyon.encode_v2 if v2 else pyon.encode
        s.sendall(enc({"action": "call", "name": name, "args": (), "kwargs": {}}).encode()
                  + b"\n")
        reply = pyon.decode(f.readline().decode())
        assert reply["status"] == "failed"
        assert reply["exception"]["class"] == "AttributeError"


def test_garbage_and_idle_clients_do_not_disturb_others(serve, connect):
    port = serve({"echo": Echo()}, handshake_timeout=60).port
    junk = []
    try:
        for payload in (b"\x00" * 1000, b"ARTIQ pc_rpc\n", b"ARTIQ pc_rpc\necho\n{\"act",
                        b"x" * 200_000):
            s = socket.create_connection(("127.0.0.1", port), 10)
            s.sendall(payload)
            junk.append(s)
        idle = socket.create_connection(("127.0.0.1", port), 10)  # never says anything
        junk.append(idle)
        c = connect(port)
        for i in range(20):
            assert c.echo(i) == i
        junk[2].close()  # vanishes mid-line
        assert c.echo("after") == "after"
    finally:
        for s in junk:
            s.close()


def test_handshake_deadline_drops_silent_clients(serve):
    port = serve({"echo": Echo()}, handshake_timeout=0.2).port
    with socket.create_connection(("127.0.0.1", port), 10) as s:
        s.settimeout(10)
        assert s.recv(100) == b""  # the server hung up on us


def test_oversized_handshake_line_is_refused(serve):
    port = serve({"echo": Echo()}).port
    with socket.create_connection(("127.0.0.1", port), 10) as s:
        s.settimeout(10)
        try:
            s.sendall(b"A" * (1 << 20))
        except OSError:
            pass
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
        assert data == b""


# ------------------------------------------------------------ message size ---

def test_no_4mib_wall(connect, serve, pyon_version):
    port = serve({"echo": Echo()}, advertise_v2=(pyon_version == "v2")).port
    c = connect(port)
    blob = bytes(range(256)) * (24 * 1024)  # 6 MiB
    assert c.echo(blob) == blob
    assert len(c.blob(9 << 20)) == 9 << 20


def test_request_over_client_limit_raises_locally(connect, serve, pyon_version):
    port = serve({"echo": Echo()}, advertise_v2=(pyon_version == "v2")).port
    c = connect(port, max_message_size=100_000)
    with pytest.raises(MessageTooLarge, match="max_message_size=100000") as info:
        c.echo(b"x" * 200_000)
    assert info.value.limit == 100_000 and isinstance(info.value, ValueError)
    assert c.echo("fine") == "fine"


def test_request_over_server_limit_is_answered(connect, serve, pyon_version):
    port = serve({"echo": Echo()}, max_message_size=50_000,
                 advertise_v2=(pyon_version == "v2")).port
    c = connect(port)
    with pytest.raises(ValueError, match="max_message_size=50000"):
        c.echo(b"x" * 300_000)
    assert c.echo("fine") == "fine"


def test_reply_over_client_limit_is_skipped(connect, serve, pyon_version):
    port = serve({"echo": Echo()}, advertise_v2=(pyon_version == "v2")).port
    c = connect(port, max_message_size=100_000)
    with pytest.raises(MessageTooLarge, match="max_message_size=100000"):
        c.blob(500_000)
    assert c.echo("in step") == "in step"


def test_reply_over_server_limit_becomes_error(connect, serve, pyon_version):
    port = serve({"echo": Echo()}, max_message_size=50_000,
                 advertise_v2=(pyon_version == "v2")).port
    c = connect(port)
    with pytest.raises(ValueError, match="max_message_size=50000"):
        c.blob(100_000)
    assert c.echo("ok") == "ok"


def test_identification_fields(serve):
    port = serve({"echo": Echo()}, advertise_v2=False).port
    with socket.create_connection(("127.0.0.1", port), 10) as s:
        f = s.makefile("rb")
        s.sendall(b"ARTIQ pc_rpc\n")
        ident = json.loads(f.readline())
    assert ident == {"targets": ["echo"], "description": None}


def test_many_clients_at_once(serve, connect):
    port = serve({"echo": Echo()}).port
    clients = [connect(port) for _ in range(20)]
    start = time.monotonic()
    for i, c in enumerate(clients):
        assert c.echo(i) == i
    assert time.monotonic() >= start  # sanity only; no timing assertion
