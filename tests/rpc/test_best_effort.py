"""BestEffortClient: network trouble gives None, never an exception."""

from __future__ import annotations

import threading

import pytest
from support.net import free_port, wait_until
from support.rpc_targets import Echo

from sipyco.pc_rpc import BestEffortClient


def test_calls_return_none_until_the_server_appears(serve):
    port = free_port()
    c = BestEffortClient("127.0.0.1", port, "echo", firstcon_timeout=0.5, retry=0.05)
    try:
        assert c.echo(1) is None
        assert c.get_rpc_method_list() is None
        serve({"echo": Echo()}, port=port)  # a server on that very port
        try:
            wait_until(lambda: c.echo("back") == "back", what="the call to go through")
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
        wait_until(lambda: c.echo(3) == 3, what="the client to reconnect")
    finally:
        c.close_rpc()


def test_close_rpc_stops_retrying_promptly():
    c = BestEffortClient("127.0.0.1", free_port(), "echo", firstcon_timeout=0.2, retry=3600)
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


@pytest.mark.parametrize("name", ["two words", "", 3])
def test_a_malformed_target_name_is_refused_before_any_connection(name):
    """Even with no server there (the retries, in a thread, would otherwise
    be the first to meet it, and stop)."""
    with pytest.raises(ValueError, match="target names are non-empty strings"):
        BestEffortClient("127.0.0.1", free_port(), name, firstcon_timeout=0.2)
