"""``ssl_config`` where upstream 1.10 puts it, at every connection point, so
1.10 code that passes it by position runs, and what is passed there is taken
as the TLS configuration (tests/tls checks that TLS then works)."""

from __future__ import annotations

import argparse
import asyncio
import inspect

import pytest

from sipyco.asyncio_tools import AsyncioServer, SimpleSSLConfig
from sipyco.broadcast import Receiver
from sipyco.common_args import simple_network_args
from sipyco.logging_tools import LogForwarder
from sipyco.pc_rpc import AsyncioClient, BestEffortClient, Client, simple_server_loop
from sipyco.remote_exec import simple_rexec_server_loop
from sipyco.sync_struct import Subscriber

POSITIONS = [
    (Client, ["host", "port", "target_name", "timeout", "ssl_config"]),
    (BestEffortClient, ["host", "port", "target_name", "firstcon_timeout", "retry",
                        "ssl_config"]),
    (AsyncioClient.connect_rpc, ["self", "host", "port", "target_name", "ssl_config"]),
    (simple_server_loop, ["targets", "host", "port", "description", "allow_parallel",
                          "ssl_config"]),
    (Subscriber.connect, ["self", "host", "port", "before_receive_cb", "ssl_config"]),
    (LogForwarder, ["host", "port", "reconnect_timer", "queue_size", "ssl_config"]),
    (simple_rexec_server_loop, ["target_name", "target", "host", "port", "description",
                                "ssl_config"]),
    (Receiver.connect, ["self", "host", "port", "ssl_config"]),
    (AsyncioServer.start, ["self", "host", "port", "ssl_config"]),
]


@pytest.mark.parametrize("function, names", POSITIONS, ids=lambda x: getattr(x, "__qualname__", ""))
def test_positional_parameters_are_upstreams(function, names):
    params = [p for p in inspect.signature(function).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert [p.name for p in params] == names
    assert params[-1].default is None


NOT_A_CONFIG = object()  # at the ssl_config position: refused by that name


def test_the_value_at_the_ssl_config_position_is_the_tls_configuration():
    """Whatever sits at the position is read as ``ssl_config`` (before any
    connection is attempted: port 1 is never reached)."""
    bad = NOT_A_CONFIG
    with pytest.raises(TypeError, match="ssl_config"):
        Client("127.0.0.1", 1, None, None, bad)
    with pytest.raises(TypeError, match="ssl_config"):
        BestEffortClient("127.0.0.1", 1, "t", 1.0, 5.0, bad)
    with pytest.raises(TypeError, match="ssl_config"):
        LogForwarder("127.0.0.1", 1, 5.0, 1000, bad)
    with pytest.raises(TypeError, match="ssl_config"):
        simple_server_loop({"t": object()}, "127.0.0.1", 0, None, False, bad)
    with pytest.raises(TypeError, match="ssl_config"):
        simple_rexec_server_loop("t", object(), "127.0.0.1", 0, None, bad)
    with pytest.raises(TypeError, match="ssl_config"):
        asyncio.run(AsyncioClient().connect_rpc("127.0.0.1", 1, None, bad))
    with pytest.raises(TypeError, match="ssl_config"):
        asyncio.run(Subscriber("s", lambda s: s).connect("127.0.0.1", 1, None, bad))
    with pytest.raises(TypeError, match="ssl_config"):
        asyncio.run(Receiver("ch", print).connect("127.0.0.1", 1, bad))
    with pytest.raises(TypeError, match="ssl_config"):
        asyncio.run(AsyncioServer().start("127.0.0.1", 0, bad))


def test_a_missing_certificate_file_is_the_callers_mistake_raised_at_once(tmp_path):
    """Unreadable files raise OSError locally, before connecting or listening
    (not ServerUnreachable: nobody was asked)."""
    missing = SimpleSSLConfig(str(tmp_path / "c.pem"), str(tmp_path / "k.pem"),
                              str(tmp_path / "p.pem"))
    for attempt in (lambda: Client("127.0.0.1", 1, None, None, missing),
                    lambda: BestEffortClient("127.0.0.1", 1, "t", 1.0, 5.0, missing),
                    lambda: LogForwarder("127.0.0.1", 1, 5.0, 1000, missing),
                    lambda: asyncio.run(AsyncioClient().connect_rpc("127.0.0.1", 1, None,
                                                                    missing)),
                    lambda: asyncio.run(Subscriber("s", lambda s: s).connect(
                        "127.0.0.1", 1, None, missing))):
        with pytest.raises(FileNotFoundError) as caught:
            attempt()
        assert not isinstance(caught.value, ConnectionError)


def test_simple_network_args_adds_ssl_when_asked():
    parser = argparse.ArgumentParser()
    simple_network_args(parser, 3250, ssl=True)
    assert parser.parse_args([]).ssl is None
    args = parser.parse_args(["--ssl", "c.pem", "k.pem", "p.pem"])
    assert args.ssl == ["c.pem", "k.pem", "p.pem"]
    plain = argparse.ArgumentParser()
    simple_network_args(plain, 3250)
    with pytest.raises(SystemExit):
        plain.parse_args(["--ssl", "c", "k", "p"])
