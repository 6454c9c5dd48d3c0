"""``ssl_config`` where upstream 1.10 puts it, at every connection point, so
1.10 code that passes it by position runs; a non-None value is refused
clearly until mutual TLS is wired in."""

from __future__ import annotations

import argparse
import asyncio
import inspect

import pytest

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
]


@pytest.mark.parametrize("function, names", POSITIONS, ids=lambda x: getattr(x, "__qualname__", ""))
def test_positional_parameters_are_upstreams(function, names):
    params = [p for p in inspect.signature(function).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert [p.name for p in params] == names
    assert params[-1].default is None


SSL = object()  # stands for a SimpleSSLConfig


def test_a_non_none_ssl_config_is_refused_by_name():
    with pytest.raises(NotImplementedError, match="ssl_config"):
        Client("127.0.0.1", 1, None, None, SSL)
    with pytest.raises(NotImplementedError, match="ssl_config"):
        BestEffortClient("127.0.0.1", 1, "t", 1.0, 5.0, SSL)
    with pytest.raises(NotImplementedError, match="ssl_config"):
        LogForwarder("127.0.0.1", 1, 5.0, 1000, SSL)
    with pytest.raises(NotImplementedError, match="ssl_config"):
        simple_server_loop({"t": object()}, "127.0.0.1", 0, None, False, SSL)
    with pytest.raises(NotImplementedError, match="ssl_config"):
        asyncio.run(AsyncioClient().connect_rpc("127.0.0.1", 1, None, SSL))
    with pytest.raises(NotImplementedError, match="ssl_config"):
        asyncio.run(Subscriber("s", lambda s: s).connect("127.0.0.1", 1, None, SSL))


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
