"""sync_struct (Publisher, Subscriber) and broadcast (Broadcaster, Receiver)
over mutual TLS, and each way of getting TLS wrong."""

from __future__ import annotations

import asyncio

import pytest
from support.net import eventually, within

from sipyco.broadcast import Broadcaster, Receiver
from sipyco.errors import ConnectionClosed, TLSError
from sipyco.sync_struct import Notifier, Publisher, Subscriber

#: What Subscriber.connect raises for each failure (class, message pattern).
SUBSCRIBER_SAYS = {
    "no certificate": (TLSError, "does not accept this side's certificate"),
    "untrusted certificate": (TLSError, "does not accept this side's certificate"),
    "plain TCP": (ConnectionClosed, "a server that requires TLS does this"),
    "server not trusted": (TLSError, "the server's certificate is not trusted"),
}


# ---- sync_struct -------------------------------------------------------------

@pytest.fixture
def publisher(background, certs):
    notifier = Notifier({"a": 1})
    publisher = background.serve(Publisher({"n": notifier}), certs.server)
    publisher.notifier = notifier
    return publisher


def subscribe(background, publisher, ssl_config, change=None):
    """Subscribe to ``n`` (ssl_config by position); with ``change``, make it
    on the publisher's loop and wait for the mod.  Returns the copy."""
    async def go():
        sub = Subscriber("n", lambda struct: struct)
        await within(sub.connect("127.0.0.1", publisher.port, None, ssl_config))
        try:
            if change is not None:
                key, value = change
                background.loop.call_soon_threadsafe(
                    publisher.notifier.__setitem__, key, value)
                await eventually(lambda: key in sub.target, what="the mod")
            return dict(sub.target)
        finally:
            await sub.close()
    return asyncio.run(go())


def test_subscriber_over_mutual_tls(background, publisher, certs, fds):
    baseline = fds.count()
    assert subscribe(background, publisher, certs.client, ("b", 2)) == {"a": 1, "b": 2}
    assert subscribe(background, publisher, certs.config("friend")) == {"a": 1, "b": 2}
    fds.back_to(baseline)


def test_each_subscriber_failure_is_refused_at_the_handshake(background, publisher, certs,
                                                             failure, log_lines, fds):
    baseline = fds.count()
    error, says = SUBSCRIBER_SAYS[failure.name]
    with pytest.raises(error, match=says):
        subscribe(background, publisher, failure.ssl_config)
    line = log_lines.one_server_line(failure.server_says)
    assert subscribe(background, publisher, certs.client) == {"a": 1}
    assert log_lines.server_lines() == [line]
    fds.back_to(baseline)


def test_a_tls_subscriber_against_a_plain_publisher(background, certs, log_lines, fds):
    baseline = fds.count()
    plain = background.serve(Publisher({"n": Notifier({"a": 1})}))
    with pytest.raises(TLSError, match="TLS handshake.*closed the connection during"):
        asyncio.run(Subscriber("n", lambda s: s, handshake_timeout=10).connect(
            "127.0.0.1", plain.port, None, certs.client))
    line = log_lines.tls_on_plain_line()
    assert subscribe(background, plain, None) == {"a": 1}
    assert log_lines.server_lines() == [line]
    # a plain publisher notices a subscriber's leaving when it next writes:
    # count once it has stopped
    background.run(plain.stop())
    fds.back_to(baseline)


# ---- broadcast ---------------------------------------------------------------

@pytest.fixture
def broadcaster(background, certs):
    return background.serve(Broadcaster(), certs.server)


def receive(background, broadcaster, ssl_config, **options):
    """Connect a Receiver to channel ``ch`` (ssl_config by position) and
    return the first value broadcast there, or, if the connection ends
    first, None (with its disconnect_cb called)."""
    async def go():
        got, ended = [], asyncio.Event()
        receiver = Receiver("ch", got.append, ended.set, **options)
        await within(receiver.connect("127.0.0.1", broadcaster.port, ssl_config))
        try:
            # broadcast until it arrives: the receiver is only listed once the
            # broadcaster has read its channel name
            while not got and not ended.is_set():
                background.loop.call_soon_threadsafe(broadcaster.broadcast, "ch", [1, "x"])
                await asyncio.sleep(0.01)
            return got[0] if got else None
        finally:
            await receiver.close()
    return asyncio.run(go())


def test_receiver_over_mutual_tls(background, broadcaster, certs, fds):
    baseline = fds.count()
    assert receive(background, broadcaster, certs.client) == [1, "x"]
    assert receive(background, broadcaster, certs.config("friend")) == [1, "x"]
    fds.back_to(baseline)


def test_each_receiver_failure_is_refused_at_the_handshake(background, broadcaster, certs,
                                                           failure, log_lines, fds):
    """A receiver reads nothing while connecting: with TLS 1.3 a broadcaster
    refusing its certificate is noticed when it closes the connection (an
    error saying so, and disconnect_cb); a broadcaster it does not trust
    fails connect."""
    baseline = fds.count()
    if failure.name == "server not trusted":
        with pytest.raises(TLSError, match="the server's certificate is not trusted"):
            receive(background, broadcaster, failure.ssl_config)
    else:
        assert receive(background, broadcaster, failure.ssl_config) is None  # disconnected
        if failure.ssl_config is not None:
            [said] = log_lines.client_lines()
            assert "does not accept this side's certificate" in said
    line = log_lines.one_server_line(failure.server_says)
    assert receive(background, broadcaster, certs.client) == [1, "x"]
    assert log_lines.server_lines() == [line]
    fds.back_to(baseline)


def test_a_tls_receiver_against_a_plain_broadcaster(background, certs, log_lines, fds):
    baseline = fds.count()
    plain = background.serve(Broadcaster())
    with pytest.raises(TLSError, match="TLS handshake.*closed the connection during"):
        receive(background, plain, certs.client, handshake_timeout=10)
    line = log_lines.tls_on_plain_line()
    assert receive(background, plain, None) == [1, "x"]
    assert log_lines.server_lines() == [line]
    background.run(plain.stop())  # (as for the publisher above)
    fds.back_to(baseline)
