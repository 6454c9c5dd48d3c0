"""sipyco.common_args: the options every controller shares."""

from __future__ import annotations

import argparse
import logging

import pytest

from sipyco.common_args import (
    bind_address_from_args,
    init_logger_from_args,
    simple_network_args,
    verbosity_args,
)


def _parse(argv, default_port=3249):
    parser = argparse.ArgumentParser()
    simple_network_args(parser, default_port)
    verbosity_args(parser)
    return parser.parse_args(argv)


def test_localhost_only_by_default():
    args = _parse([])
    assert args.port == 3249
    hosts = bind_address_from_args(args)
    assert hosts[0] == "127.0.0.1"
    assert set(hosts) <= {"127.0.0.1", "::1"}


def test_extra_bind_addresses_and_star():
    args = _parse(["--bind", "10.0.0.5", "--bind", "10.0.0.6", "-p", "4000"])
    assert args.port == 4000
    assert bind_address_from_args(args)[-2:] == ["10.0.0.5", "10.0.0.6"]
    assert "127.0.0.1" in bind_address_from_args(args)
    assert bind_address_from_args(_parse(["--bind", "*"])) is None


def test_no_localhost_bind():
    args = _parse(["--no-localhost-bind", "--bind", "10.0.0.5"])
    assert bind_address_from_args(args) == ["10.0.0.5"]
    # on the command line, a usage error (see tests/newcomer); a namespace
    # made otherwise still gets a ValueError
    with pytest.raises(SystemExit) as usage_error:
        _parse(["--no-localhost-bind"])
    assert usage_error.value.code == 2
    with pytest.raises(ValueError, match="needs at least one --bind"):
        bind_address_from_args(argparse.Namespace(bind=[], no_localhost_bind=True))


def test_several_ports():
    parser = argparse.ArgumentParser()
    simple_network_args(parser, [("notify", "notifications", 3250), ("control", "control", 3251)])
    args = parser.parse_args(["--port-control", "5000"])
    assert (args.port_notify, args.port_control) == (3250, 5000)


@pytest.mark.parametrize("argv,level", [([], logging.WARNING), (["-v"], logging.INFO),
                                        (["-vv"], logging.DEBUG), (["-q"], logging.ERROR)])
def test_verbosity_sets_level_and_multiline_format(argv, level, capsys):
    root = logging.getLogger()
    old_level, old_handlers = root.level, list(root.handlers)
    try:
        handler = init_logger_from_args(_parse(argv))
        assert root.level == level
        logging.getLogger("dev").log(level, "one\ntwo")
        err = capsys.readouterr().err
        assert f"{logging.getLevelName(level)}<2>:dev:one\ntwo" in err
        logging.getLogger("dev").log(level, "single")
        assert f"{logging.getLevelName(level)}:dev:single" in capsys.readouterr().err
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        assert root.handlers == old_handlers
