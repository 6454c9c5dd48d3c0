"""remote_exec over mutual TLS: simple_rexec_server_loop in a subprocess with
an ssl_config, a client with the right certificates, and clients getting it
wrong, each refused with one line on the server's stderr."""

from __future__ import annotations

import pathlib
import re

import pytest
from support.controllers import ControllerProcess
from support.net import free_port, wait_until

from sipyco.errors import ConnectionClosed, ServerUnreachable, TLSError
from sipyco.pc_rpc import Client

SCRIPT = pathlib.Path(__file__).resolve().parent / "rexec_tls_controller.py"


@pytest.fixture
def controller(certs):
    """rexec_tls_controller.py serving with the server's identity."""
    port = free_port()
    ids = certs.ids["server"]
    process = ControllerProcess(SCRIPT, [port, ids.cert, ids.key, certs.clients], port=port)
    first = None

    def listening() -> bool:
        nonlocal first
        if process.proc.poll() is not None:
            return True
        try:
            first = Client("127.0.0.1", port, "dev", 30, certs.client)
        except ServerUnreachable:
            return False
        return True

    try:
        wait_until(listening, limit=60, what="the controller accepting TLS clients")
    except AssertionError:
        pass
    if first is None:
        process.proc.kill()
        pytest.fail(f"the controller did not start: {process.proc.communicate()[1]}")
    first.close_rpc()
    yield process
    process.stop()


def test_remote_execution_over_mutual_tls(controller, certs, fds):
    baseline = fds.count()
    with Client("127.0.0.1", controller.port, "dev", 30, certs.client) as dev, \
            Client("127.0.0.1", controller.port, "dev_rexec", 30, certs.config("friend")) as rx:
        assert dev.get_rpc_id() == (["dev", "dev_rexec"],
                                    "driver with remote execution over TLS")
        dev.set_setting(5)
        rx.add_code("def scaled(x):\n    return controller_driver.get_setting() * x\n")
        assert rx.call("scaled", 3) == 15
    fds.back_to(baseline)


def test_wrong_clients_are_refused_and_the_controller_goes_on(controller, certs, fds):
    baseline = fds.count()
    attempts = [
        (None, ConnectionClosed, "requires TLS"),
        (certs.without_certificate(), TLSError, "does not accept this side's certificate"),
        (certs.config("stranger"), TLSError, "does not accept this side's certificate"),
        (certs.config("client", "stranger"), TLSError, "server's certificate is not trusted"),
    ]
    for ssl_config, error, says in attempts:
        with pytest.raises(error, match=says):
            Client("127.0.0.1", controller.port, "dev_rexec", 30, ssl_config)
        with Client("127.0.0.1", controller.port, "dev_rexec", 30, certs.client) as rx:
            rx.add_code("def two():\n    return 2\n")
            assert rx.call("two") == 2
    fds.back_to(baseline)
    controller.stop()
    code, out, err = controller.finish()
    assert code == 0, err
    assert "rexec controller stopped" in out
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == len(attempts), err  # one line for each refused client
    reasons = ["does not speak TLS", "sent no certificate", "certificate is not trusted",
               "the client"]
    for line, reason in zip(lines, reasons, strict=True):
        assert re.match(rf"Server on port {controller.port}: TLS handshake with "
                        r"127\.0\.0\.1:\d+ failed: ", line), line
        assert reason in line, line
