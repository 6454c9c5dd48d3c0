"""BestEffortClient: network trouble gives None, never an exception."""

from __future__ import annotations

import socket
import threading
import time

from targets import Echo

from sipyco.pc_rpc import BestEffortClient


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _eventually(fn, limit=20.0):
    """Poll ``fn`` until it returns something truthy (a bounded wait, not a
    timing assertion)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        value = fn()
        if value:
            return value
        time.sleep(0.02)
    return fn()


def test_calls_return_none_until_the_server_appears(serve):
    port = _free_port()
    c = BestEffortClient("127.0.0.1", port, "echo", firstcon_timeout=0.5, retry=0.05)
    try:
        assert c.echo(1) is None
        assert c.get_rpc_method_list() is None
        serve({"echo": Echo()}, port=port)  # a server on that very port
        try:
            assert _eventually(lambda: c.echo("back") == "back")
            assert "echo" in c.get_rpc_method_list()["methods"]
        finally:
            c.close_rpc()
    finally:
        c.close_rpc()


def test_remote_exceptions_still_raise(serve):
    port = serve({"echo": Echo()}).port
    c = BestEffortClient("127.0.0.1", port, "echo")
    try:
        try:
            c.fail_value("boom")
        except ValueError as exc:
            assert str(exc) == "boom"
        else:
            raise AssertionError("remote ValueError was swallowed")
    finally:
        c.close_rpc()


def test_lost_server_gives_none_then_reconnects(serve):
    st = serve({"echo": Echo()})
    c = BestEffortClient("127.0.0.1", st.port, "echo", retry=0.05)
    try:
        assert c.echo(1) == 1
        port = st.port
        st.run(st.server.stop())
        assert c.echo(2) is None
        serve({"echo": Echo()}, port=port)
        assert _eventually(lambda: c.echo(3) == 3)
    finally:
        c.close_rpc()


def test_close_rpc_stops_retrying_promptly():
    c = BestEffortClient("127.0.0.1", _free_port(), "echo", firstcon_timeout=0.2, retry=3600)
    done = threading.Event()

    def close():
        c.close_rpc()
        done.set()
    t = threading.Thread(target=close, daemon=True)
    t.start()
    # a retry period of an hour must not keep close_rpc() waiting
    assert done.wait(30)
    assert not any(th.name.startswith("BestEffortClient") and th.is_alive()
                   for th in threading.enumerate())
