"""A pc_rpc client that pipelines requests and never reads the replies: the
server stops reading its requests while the unsent replies pass a
per-connection high-water mark, so the client holds a bounded part of the
server's memory however many requests it sent; other clients are served all
along, and every descriptor is released once it closes.

The server runs in a subprocess (what matters is that process's memory),
measured from /proc.  Scaled to the issue's figures: 2,000 calls of a
method returning 100 kB, all sent at once (many small requests in one
chunk, each making a large reply)."""

from __future__ import annotations

import array
import fcntl
import os
import socket
import sys
import termios
import time

import pytest
from support.controllers import ControllerProcess
from support.net import free_port, wait_until

from sipyco._rpc import protocol as p

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads the server's memory from /proc")

CALLS = 2000
REPLY = 100_000
#: What the unread replies would cost the server if it went on reading.
UNBOUNDED = CALLS * REPLY

SERVER = '''\
import sys

from sipyco.pc_rpc import simple_server_loop


class Big:
    def blob(self, nbytes):
        return "x" * nbytes

    def echo(self, value):
        return value


simple_server_loop({"big": Big()}, "127.0.0.1", int(sys.argv[1]))
'''


def rss(pid: int) -> int:
    """The resident memory of process ``pid``, in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def waiting_to_be_read(sock: socket.socket) -> int:
    """Bytes in ``sock``'s receive queue."""
    count = array.array("i", [0])
    fcntl.ioctl(sock.fileno(), termios.FIONREAD, count)
    return count[0]


def settled(sample, rounds: int = 10, pause: float = 0.05):
    """Wait until ``sample()`` gives the same value ``rounds`` times in a
    row, ``pause`` seconds apart (the server has done what it will do);
    returns that value."""
    seen = [sample()]

    def steady() -> bool:
        time.sleep(pause)
        seen.append(sample())
        return len(seen) > rounds and len(set(seen[-rounds:])) == 1

    wait_until(steady, what="the server settled")
    return seen[-1]


def read_line(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        assert chunk, "the server closed the connection during the handshake"
        data += chunk
    return data


@pytest.fixture
def server(tmp_path):
    script = tmp_path / "big_server.py"
    script.write_text(SERVER)
    port = free_port()
    ctl = ControllerProcess(script, [port], port=port)
    client = ctl.wait_listening("big", timeout=30)
    yield ctl, client
    client.close_rpc()
    ctl.stop()


def test_a_client_that_never_reads_holds_a_bounded_part_of_the_server(server):
    ctl, client = server
    pid = ctl.proc.pid
    for _ in range(20):  # the server's own working set, before the test
        assert len(client.blob(REPLY)) == REPLY
    base_fds = descriptors(pid)
    base_rss = settled(lambda: rss(pid))

    hostile = socket.create_connection(("127.0.0.1", ctl.port), timeout=20)
    try:
        hostile.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        hostile.sendall(p.HELLO)
        read_line(hostile)  # the identification
        hostile.sendall(p.selection_line("big"))
        read_line(hostile)  # the method list
        hostile.sendall(p.V1.encode_call("blob", (REPLY,), {}) * CALLS)

        # the server writes replies until the connection's high-water mark,
        # then waits; meanwhile another client is served
        settled(lambda: (waiting_to_be_read(hostile), rss(pid)))
        assert client.echo([1, "two"]) == [1, "two"]
        assert len(client.blob(REPLY)) == REPLY
        grown = settled(lambda: rss(pid)) - base_rss
        assert grown < UNBOUNDED // 10, f"the server grew by {grown} bytes"
        assert descriptors(pid) == base_fds + 1
    finally:
        hostile.close()  # unread replies: a reset

    wait_until(lambda: descriptors(pid) == base_fds, what="the hostile descriptor released")
    assert client.echo("still served") == "still served"
