"""Remote logging over mutual TLS: a LogForwarder delivers to a log Server;
each way of getting TLS wrong is refused at the handshake (the forwarder,
which never raises, says why in one warning and retries)."""

from __future__ import annotations

import itertools
import logging

import pytest
from support.logging_records import SourcedRecords, not_yet_sourced
from support.net import wait_until

from sipyco.logging_tools import LogForwarder, Server

_names = itertools.count()


class Forwarding:
    """A non-propagating logger with a LogForwarder (on the background loop)
    and a collector of what the Server re-emits under its name."""

    def __init__(self, background, port, ssl_config):
        self.background = background
        self.logger = logging.getLogger(f"tlstest{next(_names)}")
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False
        self.received = SourcedRecords()
        self.logger.addHandler(self.received)
        # ssl_config by position, as 1.10 code may pass it; one attempt only
        self.forwarder = LogForwarder("127.0.0.1", port, 600.0, 1000, ssl_config,
                                      source="tls-test")
        self.forwarder.addFilter(not_yet_sourced)  # not what the Server re-emits
        self.logger.addHandler(self.forwarder)

        async def start():
            self.forwarder.start()
        background.run(start())

    def delivered(self) -> list[str]:
        return [r.getMessage() for r in self.received.records if r.source == "tls-test"]

    def close(self) -> None:
        self.background.run(self.forwarder.stop())
        self.logger.removeHandler(self.forwarder)
        self.logger.removeHandler(self.received)
        self.forwarder.close()


@pytest.fixture
def forwarding(background):
    made = []

    def make(port, ssl_config):
        f = Forwarding(background, port, ssl_config)
        made.append(f)
        return f

    yield make
    for f in made:
        f.close()


@pytest.fixture
def log_server(background, certs):
    return background.serve(Server(), certs.server)


def test_forwarding_over_mutual_tls(log_server, forwarding, certs, fds):
    baseline = fds.count()
    for who in ("client", "friend"):
        f = forwarding(log_server.port, certs.config(who))
        f.logger.info("over TLS from %s", who)
        wait_until(lambda f=f: f.delivered(), what="the record")
        assert f.delivered() == [f"over TLS from {who}"]
        f.close()
    fds.back_to(baseline)


def test_each_forwarder_failure_is_refused_at_the_handshake(log_server, forwarding, certs,
                                                            failure, log_lines, fds):
    baseline = fds.count()
    bad = forwarding(log_server.port, failure.ssl_config)
    bad.logger.info("never delivered")
    line = log_lines.one_server_line(failure.server_says)
    if failure.ssl_config is not None:
        # the forwarder never raises: it says why, once
        wait_until(log_lines.client_lines, what="the forwarder's warning")
        [said] = log_lines.client_lines()
        expected = ("the server's certificate is not trusted"
                    if failure.name == "server not trusted"
                    else "does not accept this side's certificate")
        assert said.startswith("cannot forward log records: ") and expected in said, said
    good = forwarding(log_server.port, certs.client)
    good.logger.info("delivered")
    wait_until(good.delivered, what="the good forwarder's record")
    assert bad.delivered() == []
    assert log_lines.server_lines() == [line]
    bad.close()
    good.close()
    fds.back_to(baseline)


def test_a_tls_forwarder_against_a_plain_server(background, forwarding, certs, log_lines, fds):
    baseline = fds.count()
    plain = background.serve(Server())
    bad = forwarding(plain.port, certs.client)
    bad.logger.info("never delivered")
    wait_until(log_lines.client_lines, what="the forwarder's warning")
    [said] = log_lines.client_lines()
    assert said.startswith("cannot forward log records: TLS handshake with 127.0.0.1:"), said
    assert "closed the connection during the handshake" in said, said
    line = log_lines.tls_on_plain_line()
    good = forwarding(plain.port, None)
    good.logger.info("delivered")
    wait_until(good.delivered, what="the plain forwarder's record")
    # still one line for the one attempt (the plain forwarder's record is
    # logged on this side as well, hence the filter)
    assert [s for s in log_lines.server_lines() if "TLS" in s] == [line]
    bad.close()
    good.close()
    background.run(plain.stop())
    fds.back_to(baseline)
