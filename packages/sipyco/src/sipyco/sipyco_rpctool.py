"""``sipyco_rpctool``: list, inspect and call the methods of a pc_rpc server.

Usage::

    sipyco_rpctool SERVER PORT list-targets
    sipyco_rpctool SERVER PORT list-methods [-t TARGET]
    sipyco_rpctool SERVER PORT call [-t TARGET] METHOD [ARG ...] [KEY=ARG ...]
    sipyco_rpctool SERVER PORT [interactive [-t TARGET]]
    sipyco_rpctool --ssl CERT KEY PEER SERVER PORT ...   (mutual TLS)
    sipyco_rpctool ACTION -h                             (an action's help)

Options: ``--timeout SECONDS`` bounds each call (default: none);
``--handshake-timeout SECONDS`` bounds connecting and the server's answer to
the pc_rpc hello (default: ``--timeout`` if given, else 10 s); ``--history
FILE``; ``--ssl CERT KEY PEER``.  They go before or after the action (after
``call METHOD`` too, where ``--`` ends them).

``list-targets`` prints ``Target(s): a, b`` and, if the server has one,
``Description: ...`` (upstream's format).  Each ``ARG`` of ``call`` is a
Python expression (numpy is available as ``np``), ``KEY=ARG`` a keyword
argument (after the positional ones); a bare word is not a string: quote it,
``'"hello"'``.  A result other than None is pretty-printed.  ``interactive``
(the default) is a prompt where the target's methods are called as Python
functions, with line editing, history, Tab completion and ``help(method)`` /
``method?``; a call still waiting after a second says so on stderr.
Failures print one line starting ``sipyco_rpctool: error:`` on stderr and
exit with status 1 (2 for a bad command line); a peer that does not answer
as a pc_rpc server is named as such (silent, hung up, or sent something
else).

A server that cannot describe its methods (upstream 1.10 servers fail to
build the method list of a target with ``-> None`` or union annotations, and
answer ``get_rpc_method_list`` with an exception): ``list-methods`` fails
with one line, ``call`` works as ever, and interactive mode warns on stderr
and opens the prompt all the same, where the methods are called by name
without descriptions.

Also runs as ``python -m sipyco.sipyco_rpctool``.
"""

from __future__ import annotations

import argparse
import builtins
import keyword
import os
import pprint
import re
import sys
from typing import TYPE_CHECKING, Any

from sipyco.arguments import format_argspec_dict
from sipyco.errors import (
    ConnectionClosed,
    EncodeError,
    GenericRemoteException,
    HandshakeTimeout,
    MessageTooLarge,
    ProtocolViolation,
    RemoteError,
    RPCError,
    TLSError,
    TransportError,
)

if TYPE_CHECKING:
    from sipyco.pc_rpc import Client

# numpy, the RPC client and the interactive mode (sipyco._rpctool_repl) are
# imported when first needed, so that --help and command-line mistakes get
# their answer at once

__all__ = ["main"]

PROG = "sipyco_rpctool"
DEFAULT_HISTORY = "~/.sipyco_rpctool_history"
#: Seconds allowed for connecting and the handshake when neither
#: ``--handshake-timeout`` nor ``--timeout`` is given.
DEFAULT_HANDSHAKE_TIMEOUT = 10.0


def _new_client(host: str, port: int, timeout: float | None, ssl_config=None,
                handshake_timeout: float | None = None) -> Client:
    """A connected Client with no target selected yet.  A peer that does not
    answer the pc_rpc hello as a pc_rpc server does is a ToolError saying
    what it did instead (see :func:`not_pc_rpc`)."""
    from sipyco.pc_rpc import Client
    limit = handshake_limit(timeout, handshake_timeout)
    try:
        return Client(host, port, None, timeout=timeout, ssl_config=ssl_config,
                      handshake_timeout=limit)
    except (HandshakeTimeout, ConnectionClosed, ProtocolViolation) as exc:
        raise not_pc_rpc(exc, host, port, limit, tls=ssl_config is not None) from None


def handshake_limit(timeout: float | None, handshake_timeout: float | None) -> float:
    """Seconds allowed for connecting and the handshake: ``--handshake-timeout``
    if given, else ``--timeout`` if given, else DEFAULT_HANDSHAKE_TIMEOUT."""
    if handshake_timeout is not None:
        return handshake_timeout
    return DEFAULT_HANDSHAKE_TIMEOUT if timeout is None else timeout


def not_pc_rpc(exc: TransportError, host: str, port: int, limit: float, *,
               tls: bool) -> Exception:
    """The error to report when the handshake with ``host:port`` failed with
    ``exc``: what the peer did, and what kind of server that suggests.
    (pc_rpc servers answer the client's hello line at once; sync_struct
    publishers and log servers never write first, and hang up on a hello
    that is not theirs.)"""
    where = f"the server at {host}:{port}"
    if isinstance(exc, HandshakeTimeout):
        if str(exc).startswith("connecting"):
            return ToolError(f"connecting to {host}:{port} timed out after {limit:g} s "
                             f"(--handshake-timeout SECONDS changes the limit)")
        return ToolError(f"{where} did not answer its handshake within {limit:g} s "
                         "(a pc_rpc server answers at once: is it another kind of server, "
                         "or hung?); --handshake-timeout SECONDS changes the limit")
    if isinstance(exc, TLSError) or (tls and isinstance(exc, ConnectionClosed)):
        return exc  # the TLS layer's own explanation is the better one
    if isinstance(exc, ConnectionClosed):
        return ToolError(f"{where} closed the connection without answering as a pc_rpc "
                         "server: is it a sync_struct publisher or a log server (they hang "
                         "up on a pc_rpc client), or a server that requires TLS "
                         "(--ssl CERT KEY PEER)?")
    return ToolError(f"{where} did not answer as a pc_rpc server ({one_line(str(exc))})")


def _ssl_config(args: argparse.Namespace):
    """The SimpleSSLConfig ``--ssl CERT KEY PEER`` asks for, or None."""
    paths = getattr(args, "ssl", None)
    if paths is None:
        return None
    from sipyco.asyncio_tools import SimpleSSLConfig
    return SimpleSSLConfig(*paths)


def _numpy():
    import numpy
    return numpy


class ToolError(Exception):
    """A failure reported as one ``sipyco_rpctool: error:`` line."""


class MethodListUnavailable(ToolError):
    """The server answered ``get_rpc_method_list`` with an exception, or with
    something that is not a method list; ``reason`` says which."""

    def __init__(self, reason: str):
        super().__init__(f"the server could not describe its methods ({reason})")
        self.reason = reason


# ------------------------------------------------------------ command line ---

def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"port {port} is not between 1 and 65535")
    return port


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError("the timeout must be a positive number of seconds")
    return value


#: The options that may come before or after the action:
#: (flags, number of values).
GLOBAL_OPTIONS = {("--timeout",): 1, ("--handshake-timeout",): 1, ("--history",): 1,
                  ("--ssl",): 3}


def _add_global_options(parser: argparse.ArgumentParser, after_action: bool) -> None:
    """--timeout, --handshake-timeout, --history and --ssl.  After the action
    they are accepted but not shown, and set nothing unless given (so that
    they never undo the same option given before the action)."""
    def option(*flags: str, **kwargs: Any) -> None:
        if after_action:
            kwargs.update(default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        parser.add_argument(*flags, **kwargs)

    option("--timeout", type=_seconds, default=None, metavar="SECONDS",
           help="give up on each call after this many seconds (default: wait as long "
                "as it takes); also bounds connecting unless --handshake-timeout is given")
    option("--handshake-timeout", type=_seconds, default=None, metavar="SECONDS",
           help="give up connecting and on the server's answer to the pc_rpc handshake "
                "after this many seconds (default: --timeout if given, else "
                f"{DEFAULT_HANDSHAKE_TIMEOUT:g})")
    option("--history", default=DEFAULT_HISTORY, metavar="FILE",
           help="interactive mode's command history, read at start and "
                "written on exit (default: %(default)s)")
    option("--ssl", nargs=3, metavar=("CERT", "KEY", "PEER"), default=None,
           help="connect with mutual TLS: this side's certificate and key "
                "(PEM) and the certificate(s) of the servers it trusts")


_AFTER_ACTION = ("The options --timeout, --handshake-timeout, --history and --ssl "
                 "may also follow the action.")


def get_argparser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="SiPyCo RPC tool: list the targets and methods of a pc_rpc "
                    "server, call a method, or call them from an interactive prompt",
        epilog="Options --timeout, --handshake-timeout, --history and --ssl go before "
               "or after the action. 'sipyco_rpctool ACTION -h' describes an action. "
               "Exit status: 0 on success, 1 on a failure (one line on stderr), "
               "2 for a bad command line.")
    _add_global_options(parser, after_action=False)
    parser.add_argument("server", metavar="SERVER",
                        help="hostname or IP of the controller to connect to")
    parser.add_argument("port", metavar="PORT", type=_port,
                        help="TCP port to use to connect to the controller")

    actions = parser.add_subparsers(dest="action", metavar="{list-targets,list-methods,"
                                                           "call,interactive}",
                                    prog=f"{PROG} SERVER PORT")
    p = actions.add_parser("list-targets", help="list existing targets",
                           epilog=_AFTER_ACTION)
    _add_global_options(p, after_action=True)

    p = actions.add_parser("list-methods", help="list target's methods", epilog=_AFTER_ACTION)
    p.add_argument("-t", "--target", help="target name")
    _add_global_options(p, after_action=True)

    p = actions.add_parser("call", help="call a target's method",
                           epilog="Each ARG is a Python expression (numpy is 'np'), or "
                                  "KEY=EXPRESSION for a keyword argument (after the "
                                  "positional ones); quote strings: '\"text\"'. "
                                  + _AFTER_ACTION + " After METHOD, '--' ends the options.")
    p.add_argument("-t", "--target", help="target name")
    _add_global_options(p, after_action=True)
    p.add_argument("method", metavar="METHOD", help="method name")
    p.add_argument("args", metavar="ARGS", nargs=argparse.REMAINDER,
                   help="arguments: each one a Python expression (numpy is 'np'), "
                        "or KEY=EXPRESSION")

    p = actions.add_parser("interactive", help="enter interactive mode (default)",
                           epilog=_AFTER_ACTION)
    p.add_argument("-t", "--target", help="target name")
    _add_global_options(p, after_action=True)
    parser.subcommands = actions.choices  # for help that needs no SERVER PORT
    return parser


# ------------------------------------------------------------- connecting ---

def connect(host: str, port: int, target: str | None, timeout: float | None,
            ssl_config=None, handshake_timeout: float | None = None) -> tuple[Client, str]:
    """A Client with ``target`` (or the server's only target) selected."""
    client = _new_client(host, port, timeout, ssl_config, handshake_timeout)
    try:
        targets, _ = client.get_rpc_id()
        listed = ", ".join(targets) if targets else "none"
        if target is None:
            if len(targets) != 1:
                raise ToolError(f"the server has {len(targets)} targets ({listed}); "
                                "choose one with -t TARGET")
            target = targets[0]
        elif target not in targets:
            raise ToolError(f"the server has no target {target!r} (its targets: {listed})")
        client.select_rpc_target(target)
    except BaseException:
        client.close_rpc()
        raise
    return client, target


# ------------------------------------------------------- describing methods ---

#: ``name(a: int, b=2, *rest, key: float = 1.0, **extra) -> float`` from the
#: argspec dict of a method list (the tool's earlier name for it).
format_signature = format_argspec_dict


def _indented(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line if line.strip() else "" for line in text.splitlines())


def describe_method(name: str, entry: Any) -> str:
    """The signature line, then the docstring indented by 4 spaces."""
    try:
        argspec, doc = entry
    except (TypeError, ValueError):
        argspec, doc = None, None
    text = format_argspec_dict(name, argspec)
    if doc:
        text += "\n" + _indented(str(doc))
    return text


def methods_of(method_list: Any) -> dict:
    """The ``methods`` dict of a method list (``{}`` if it has none);
    MethodListUnavailable if ``method_list`` is not shaped like one."""
    if isinstance(method_list, dict):
        methods = method_list.get("methods")
        if methods is None:
            return {}
        if isinstance(methods, dict) and all(isinstance(name, str) for name in methods):
            return methods
    raise MethodListUnavailable("it sent a malformed method list")


def fetch_method_list(client: Client) -> dict:
    """The selected target's method list.  MethodListUnavailable (a
    ToolError) if the server answered the request with an exception (the
    connection is still good then) or sent something malformed; connection
    failures are raised as they are."""
    try:
        method_list = client.get_rpc_method_list()
    except RemoteError as exc:
        raise MethodListUnavailable(remote_error_text(exc)) from None
    methods_of(method_list)
    return method_list


def announced_method_names(client: Client) -> frozenset[str] | None:
    """The method names the server announced when the target was selected
    (sent apart from the method list, so usually still known when the list
    is not), or None if it sent none: the names a pc_rpc Client lets through
    as attributes.  A client without ``get_rpc_method_names`` gives None
    (interactive mode then resolves names through the client as they are
    used)."""
    getter = getattr(client, "get_rpc_method_names", None)
    names = getter() if callable(getter) else None
    if isinstance(names, (set, frozenset)) and all(isinstance(n, str) for n in names):
        return frozenset(names)
    return None


def describe_target(method_list: Any) -> str:
    """What ``list-methods`` prints: the target's docstring and a blank line
    (if it has one), then every method and a blank line, sorted by name."""
    methods = methods_of(method_list)  # a ToolError if malformed
    out = []
    doc = method_list.get("docstring")
    if doc:
        out.append(f"{doc}\n\n")
    for name in sorted(methods):
        out.append(describe_method(name, methods[name]) + "\n\n")
    return "".join(out)


# ------------------------------------------------------------------- errors ---

def one_line(text: str) -> str:
    """``text`` with its lines joined by single spaces."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def remote_error_text(exc: RemoteError) -> str:
    """``remote ValueError: bad input`` for an exception a remote method raised."""
    message = one_line(str(exc))
    if isinstance(exc, GenericRemoteException):
        # the message already reads "module.Class: text"
        return f"remote {message}" if message else "remote exception"
    name = exc.remote_class
    return f"remote {name}: {message}" if message else f"remote {name}"


# ------------------------------------------------------------- sub-commands ---

def list_targets(args: argparse.Namespace) -> None:
    """Upstream's format, which lab scripts parse: ``Target(s): a, b``, then
    ``Description: ...`` if the server has a description."""
    client = _new_client(args.server, args.port, args.timeout, _ssl_config(args),
                         args.handshake_timeout)
    with client:
        targets, description = client.get_rpc_id()
    print("Target(s): " + ", ".join(targets))
    if description:
        print(f"Description: {description}")


def list_methods(args: argparse.Namespace) -> None:
    client, _ = connect(args.server, args.port, args.target, args.timeout, _ssl_config(args),
                        args.handshake_timeout)
    with client:
        try:
            method_list = fetch_method_list(client)
        except MethodListUnavailable as exc:
            raise ToolError(f"{exc}; its methods can still be called, with 'call' or "
                            "at the interactive prompt") from None
    sys.stdout.write(describe_target(method_list))


#: ``KEY=EXPRESSION``: a word (no spaces, brackets, quotes, dots or
#: operators before the ``=``), then ``=`` not followed by another.
_KEYWORD = re.compile(r"\s*([^\s=()\[\]{}'\"<>!,.+*/%&|^~@:-]+)\s*=(?!=)(.*)", re.DOTALL)


def split_arguments(texts: list[str]) -> tuple[list[tuple[int, str]],
                                                 list[tuple[int, str, str]]]:
    """``call``'s argument texts as (number, EXPRESSION) for the positional
    ones and (number, KEY, EXPRESSION) for the ``KEY=EXPRESSION`` ones;
    ToolError for a bad key, a key given twice, or a positional argument
    after a keyword one."""
    positional: list[tuple[int, str]] = []
    keywords: list[tuple[int, str, str]] = []
    for i, text in enumerate(texts, 1):
        match = _KEYWORD.fullmatch(text)
        if match is None:
            if keywords:
                raise ToolError(f"argument {i} ({text!r}) is positional but follows the "
                                f"keyword argument {keywords[-1][1]}=: put positional "
                                "arguments first")
            positional.append((i, text))
            continue
        key, expression = match.group(1), match.group(2)
        if not key.isidentifier() or keyword.iskeyword(key):
            raise ToolError(f"argument {i} ({text!r}): {key!r} is not a valid keyword "
                            "argument name (it must be a Python identifier)")
        if any(key == k for _, k, _ in keywords):
            raise ToolError(f"argument {i} ({text!r}): keyword argument {key!r} is "
                            "given twice")
        keywords.append((i, key, expression))
    return positional, keywords


#: Text that reads as words (a name, a file name...), not as an expression.
_WORDS = re.compile(r"[\w\s.,:/@-]*[^\W\d_][\w\s.,:/@-]*")


def _quoting_hint(text: str, key: str | None) -> str:
    """``; to pass a string, quote it: '"hello"'`` for a text that reads as
    bare words, or '' if quoting would not obviously help."""
    if not _WORDS.fullmatch(text.strip()):
        return ""
    prefix = f"{key}=" if key is not None else ""
    return f"; to pass a string, quote it: '{prefix}\"{text}\"'"


def _evaluate(i: int, text: str, namespace: dict, key: str | None = None) -> Any:
    # eval: these are the local user's own expressions, as documented
    label = f"argument {i}" + (f" ({key}=)" if key is not None else "")
    try:
        return eval(text, namespace)
    except SyntaxError as exc:
        raise ToolError(f"{label} ({text!r}) is not a valid Python expression: "
                        f"{exc.msg}{_quoting_hint(text, key)}") from None
    except NameError as exc:
        if text.strip().isidentifier():
            raise ToolError(f"{label}: {text.strip()!r} is not a Python expression"
                            f"{_quoting_hint(text.strip(), key)}") from None
        raise ToolError(f"{label} ({text!r}) cannot be evaluated: NameError: "
                        f"{one_line(str(exc))}{_quoting_hint(text, key)}") from None
    except Exception as exc:  # noqa: BLE001 - whatever the user's expression raised
        raise ToolError(f"{label} ({text!r}) cannot be evaluated: "
                        f"{type(exc).__name__}: {one_line(str(exc))}") from None


def evaluate_arguments(texts: list[str]) -> tuple[list[Any], dict[str, Any]]:
    """The positional and keyword argument values of ``call``'s argument
    texts (see :func:`split_arguments`); ToolError naming the argument if
    one cannot be evaluated."""
    positional, keywords = split_arguments(texts)
    namespace = {"np": _numpy(), "__builtins__": builtins}
    values = [_evaluate(i, text, namespace) for i, text in positional]
    kwargs = {key: _evaluate(i, text, namespace, key) for i, key, text in keywords}
    return values, kwargs


def call_method(args: argparse.Namespace) -> None:
    if args.method.startswith("_"):
        raise ToolError(f"cannot call {args.method!r}: names starting with '_' are "
                        "private and never callable remotely")
    values, kwargs = evaluate_arguments(args.args)
    client, target = connect(args.server, args.port, args.target, args.timeout,
                             _ssl_config(args), args.handshake_timeout)
    with client:
        try:
            method = getattr(client, args.method)  # the method list says if it exists
        except AttributeError as exc:
            raise ToolError(str(exc)) from None
        try:
            result = method(*values, **kwargs)
        except AttributeError as exc:
            # a server that sent no method list: ask it what it has
            if isinstance(exc, RemoteError) and _has_method(client, args.method) is False:
                raise ToolError(f"target {target!r} has no method {args.method!r}") from None
            raise
        except (EncodeError, MessageTooLarge) as exc:
            # not a MessageTooLarge for the reply: that is no fault of the arguments
            if isinstance(exc, MessageTooLarge) and exc.what != "request":
                raise
            raise ToolError(f"cannot send the arguments: {one_line(str(exc))}") from None
    if result is not None:
        pprint.pprint(result)


def _has_method(client: Client, name: str) -> bool | None:
    """Whether the method list names ``name``; None if there is no list."""
    try:
        return name in methods_of(fetch_method_list(client))
    except Exception:  # noqa: BLE001 - we cannot tell: the remote error stands
        return None


# -------------------------------------------------------- interactive mode ---

def interactive(args: argparse.Namespace) -> int:
    ssl_config = _ssl_config(args)
    client, target = connect(args.server, args.port, getattr(args, "target", None),
                             args.timeout, ssl_config, args.handshake_timeout)
    unavailable: MethodListUnavailable | None = None
    names: frozenset[str] | None = None
    try:
        try:
            method_list: dict | None = fetch_method_list(client)
        except MethodListUnavailable as exc:
            # as upstream's prompt does: open it all the same, without help
            method_list, unavailable = None, exc
            names = announced_method_names(client)
        from sipyco._rpctool_repl import RemoteConsole, Session
    except BaseException:
        client.close_rpc()
        raise
    if unavailable is not None:
        lacking = ("help is unavailable (Tab completes the method names)" if names
                   else "help and completion are unavailable")
        print(f"{PROG}: warning: {unavailable}: {lacking}", file=sys.stderr)
    session = Session(args.server, args.port, target, args.timeout, client,
                      handshake_timeout=args.handshake_timeout)
    if ssl_config is not None:
        _reconnect_with_tls(session, ssl_config)
    history = os.path.expanduser(args.history)
    return RemoteConsole(session, method_list, history, unavailable=unavailable,
                         names=names).run()


def _reconnect_with_tls(session, ssl_config) -> None:
    """Make ``session`` (which reconnects after a failure) reconnect with
    ``ssl_config`` too."""
    call = session.call

    def call_with_tls(name: str, args: tuple, kwargs: dict) -> Any:
        if session.client is None:
            session.client, _ = connect(session.host, session.port, session.target,
                                        session.timeout, ssl_config,
                                        session.handshake_timeout)
        return call(name, args, kwargs)

    session.call = call_with_tls


# --------------------------------------------------------------------- main ---

def _error(message: str) -> None:
    print(f"{PROG}: error: {one_line(message)}", file=sys.stderr)


def _help_request(parser: argparse.ArgumentParser, argv: list[str]
                  ) -> argparse.ArgumentParser | None:
    """The sub-command parser whose help ``argv`` asks for (``-h`` or
    ``--help`` after an action name, before any ``--``), or None: that help
    needs no SERVER and PORT, valid or not."""
    words = argv[:argv.index("--")] if "--" in argv else argv
    for i, word in enumerate(words):
        if word in parser.subcommands:
            if any(w in ("-h", "--help") for w in words[i + 1:]):
                return parser.subcommands[word]
            return None
    return None


def _options_after_call_method(args: argparse.Namespace, literal: int) -> None:
    """Take the options given after ``call METHOD`` (which argparse leaves in
    the arguments) out of ``args.args`` and apply them; ``--`` ends them (the
    last ``literal`` words followed a ``--`` that argparse may have dropped)."""
    flags = {"-t": 1, "--target": 1}
    flags.update({flag: n for names, n in GLOBAL_OPTIONS.items() for flag in names})
    options: list[str] = []
    kept: list[str] = []
    words = list(args.args)
    literal = min(literal, len(words))
    rest = words[len(words) - literal:]
    words = words[:len(words) - literal]
    if words and words[-1] == "--" and literal:
        words.pop()
    while words:
        word = words.pop(0)
        name = word.split("=", 1)[0] if word.startswith("--") else word
        if word == "--":
            words, rest = [], words + rest
            break
        if name not in flags:
            kept.append(word)
            continue
        count = 0 if "=" in word else flags[name]
        options.append(word)
        options.extend(words[:count])
        del words[:count]
    rest = kept + rest
    if options:
        trailing = argparse.ArgumentParser(prog=f"{PROG} SERVER PORT call", add_help=False)
        trailing.add_argument("-t", "--target", default=argparse.SUPPRESS)
        _add_global_options(trailing, after_action=True)
        trailing.parse_args(options, namespace=args)  # exits 2 on a bad value
    args.args = rest


def main(argv: list[str] | None = None) -> int:
    """Run the tool; returns the exit status.

    ``argv`` is the command line without the program name (default None:
    ``sys.argv[1:]``).  A command line that does not parse makes argparse
    print the usage and raise ``SystemExit`` with status 2; any failure after
    that is printed as one error line and returned as status 1 (130 when
    interrupted), not raised."""
    parser = get_argparser()
    argv = sys.argv[1:] if argv is None else list(argv)
    sub = _help_request(parser, argv)
    if sub is not None:
        sub.print_help()
        return 0
    args = parser.parse_args(argv)
    action = args.action or "interactive"
    if action == "call":
        _options_after_call_method(args, len(argv) - argv.index("--") - 1
                                   if "--" in argv else 0)
    try:
        if action == "list-targets":
            list_targets(args)
        elif action == "list-methods":
            list_methods(args)
        elif action == "call":
            call_method(args)
        else:
            return interactive(args)
        sys.stdout.flush()
        return 0
    except ToolError as exc:
        _error(str(exc))
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:
        # the reader went away (e.g. "| head"): say nothing more on stdout
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        if isinstance(exc, RemoteError):
            _error(remote_error_text(exc))
        elif isinstance(exc, (TransportError, RPCError)):
            _error(str(exc))
        else:
            _error(f"{type(exc).__name__}: {exc}")
    return 1


if __name__ == "__main__":
    # "python -m sipyco.sipyco_rpctool" runs this file as __main__: run the
    # module imported under its own name instead, the one sipyco._rpctool_repl
    # imports, so that there is only one ToolError class
    from sipyco.sipyco_rpctool import main as _main
    sys.exit(_main())
