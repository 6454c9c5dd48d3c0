"""Hardening item 5: a remote-execution server about to listen beyond this
machine without TLS logs one prominent warning that it runs arbitrary code
and how to add TLS; on localhost only, or with ssl_config, it says nothing.
(It is not refused: labs run such servers behind their own network
controls.)"""

from __future__ import annotations

import logging

import pytest

from sipyco import remote_exec

LOGGER = "sipyco.remote_exec"


def warnings_of(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]


@pytest.fixture
def started(monkeypatch):
    """simple_rexec_server_loop with the serving itself replaced: records
    what it would have served, binds nothing."""
    calls = []

    def fake_loop(targets, host, port, description=None, **kwargs):
        calls.append((sorted(targets), host, port, kwargs.get("ssl_config")))

    monkeypatch.setattr(remote_exec, "simple_server_loop", fake_loop)
    return calls


@pytest.mark.parametrize("host", [None, "0.0.0.0", "::", "192.0.2.7",
                                  ["127.0.0.1", "192.0.2.7"], ["::1", "2001:db8::1"]])
def test_beyond_localhost_without_tls_warns_once(host, started, caplog):
    caplog.set_level(logging.INFO, LOGGER)
    remote_exec.simple_rexec_server_loop("dev", object(), host, 3249)
    assert started == [(["dev", "dev_rexec"], host, 3249, None)]  # served all the same
    records = warnings_of(caplog)
    assert len(records) == 1
    text = records[0].getMessage()
    assert records[0].levelno == logging.WARNING
    assert "SECURITY WARNING" in text
    assert "arbitrary code" in text
    assert "dev_rexec" in text
    assert "ssl_config" in text and "--ssl" in text  # how to add TLS
    if host is None:
        assert "every interface" in text
    else:
        assert "192.0.2.7" in text or "0.0.0.0" in text or "::" in text


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2",
                                  ["127.0.0.1", "::1"]])
def test_localhost_only_says_nothing(host, started, caplog):
    caplog.set_level(logging.DEBUG, LOGGER)
    remote_exec.simple_rexec_server_loop("dev", object(), host, 3249)
    assert len(started) == 1
    assert warnings_of(caplog) == []


@pytest.mark.parametrize("host", [None, "0.0.0.0", "192.0.2.7"])
def test_with_tls_says_nothing(host, caplog):
    caplog.set_level(logging.DEBUG, LOGGER)
    assert remote_exec._warn_if_exposed("dev", host, ssl_config=object()) is False
    assert warnings_of(caplog) == []


def test_an_unresolvable_name_counts_as_exposed(caplog):
    caplog.set_level(logging.DEBUG, LOGGER)
    assert remote_exec._warn_if_exposed("dev", "no-such-host.invalid", None) is True
    assert len(warnings_of(caplog)) == 1
