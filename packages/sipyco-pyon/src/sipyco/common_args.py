"""Command-line options every SiPyCo program shares: verbosity and where a
server listens.  Servers listen on localhost only unless told otherwise."""

from __future__ import annotations

import argparse
import logging
import socket
from collections.abc import Iterable

from ._logfmt import MultilineFormatter

__all__ = ["verbosity_args", "init_logger_from_args", "simple_network_args",
           "bind_address_from_args"]


def verbosity_args(parser: argparse.ArgumentParser) -> None:
    """Add ``-v``/``-q``; each repetition moves the level one step (10).

    ``parser`` is the ``argparse.ArgumentParser`` to add them to, in a
    group named ``verbosity``; both count from 0."""
    group = parser.add_argument_group("verbosity")
    group.add_argument("-v", "--verbose", default=0, action="count",
                       help="show more log messages (repeat for more)")
    group.add_argument("-q", "--quiet", default=0, action="count",
                       help="show fewer log messages (repeat for fewer)")


def log_level_from_args(args: argparse.Namespace) -> int:
    """WARNING, one level lower per ``-v`` and higher per ``-q``."""
    return logging.WARNING + 10 * (args.quiet - args.verbose)


def init_logger_from_args(args: argparse.Namespace) -> logging.Handler:
    """Send log records to stderr, formatted ``LEVEL:name:message`` (with
    ``LEVEL<N>`` for N-line records), at the level ``-v``/``-q`` chose.
    Returns the handler it installed on the root logger.  ``args`` is the
    parsed namespace of a parser given to :func:`verbosity_args` (it needs
    its ``verbose`` and ``quiet`` counts)."""
    root = logging.getLogger()
    level = log_level_from_args(args)
    root.setLevel(level)
    handler = logging.StreamHandler()
    handler.setFormatter(MultilineFormatter())
    root.addHandler(handler)
    return handler


def simple_network_args(parser: argparse.ArgumentParser,
                        default_port: int | Iterable[tuple[str, str, int]],
                        ssl: bool = False) -> None:
    """Add ``--bind`` (repeatable; ``*`` for every interface),
    ``--no-localhost-bind`` and the port option(s).

    ``parser`` is the ``argparse.ArgumentParser`` to add them to (in a group
    named ``network server``); its parsing is made to reject
    ``--no-localhost-bind`` without ``--bind`` as a usage error.
    ``default_port`` is an int for a single ``-p/--port``, or a list of
    ``(name, purpose, default)`` giving one ``--port-NAME`` per entry.
    With ``ssl``, also ``--ssl CERT KEY PEER`` (as upstream 1.10): this
    side's certificate and key and the certificate(s) it trusts, stored as
    ``args.ssl`` (None when not given).
    """
    group = parser.add_argument_group("network server")
    group.add_argument("--bind", default=[], action="append", metavar="ADDRESS",
                       help="also listen on this hostname or IP address "
                            "(repeatable; '*' listens on every interface)")
    group.add_argument("--no-localhost-bind", default=False, action="store_true",
                       help="do not listen on the localhost addresses as well "
                            "(needs --bind)")
    _check_after_parsing(parser)
    if ssl:
        group.add_argument("--ssl", nargs=3, metavar=("CERT", "KEY", "PEER"), default=None,
                           help="mutual TLS: this side's certificate and key (PEM) and "
                                "the certificate(s) it trusts")
    if isinstance(default_port, int):
        group.add_argument("-p", "--port", default=default_port, type=int,
                           help="TCP port to listen on (default: %(default)d)")
    else:
        for name, purpose, default in default_port:
            group.add_argument(f"--port-{name}", default=default, type=int,
                               help=f"TCP port for {purpose} (default: %(default)d)")


def _check_after_parsing(parser: argparse.ArgumentParser) -> None:
    """Make ``--no-localhost-bind`` without ``--bind`` a command-line error
    (usage and one line, exit status 2), found when the arguments are
    parsed: argparse checks options one by one, and this is a pair.  The
    parser's ``parse_known_args`` (which ``parse_args`` calls) is wrapped
    for this parser only."""
    parse = parser.parse_known_args

    def parse_and_check(args=None, namespace=None):
        parsed, rest = parse(args, namespace)
        if getattr(parsed, "no_localhost_bind", False) and not getattr(parsed, "bind", True):
            parser.error("--no-localhost-bind needs at least one --bind ADDRESS "
                         "(else the server would listen nowhere)")
        return parsed, rest

    parser.parse_known_args = parse_and_check


def _ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def bind_address_from_args(args: argparse.Namespace) -> list[str] | None:
    """Addresses for ``AsyncioServer.start``: ``None`` (every interface) when
    ``--bind '*'`` was given, else the ``--bind`` addresses plus, unless
    ``--no-localhost-bind``, the loopback addresses this host has.

    ``args`` is the parsed namespace of a parser given to
    :func:`simple_network_args`.  ``ValueError`` if ``--no-localhost-bind``
    was given without any ``--bind`` address (the parser itself already
    rejects that)."""
    if "*" in args.bind:
        return None
    if args.no_localhost_bind:
        if not args.bind:
            raise ValueError("--no-localhost-bind needs at least one --bind address")
        return list(args.bind)
    local = ["127.0.0.1"] + (["::1"] if _ipv6_loopback_available() else [])
    return local + [a for a in args.bind if a not in local]
