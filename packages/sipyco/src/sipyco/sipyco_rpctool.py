"""``sipyco_rpctool``: list, inspect and call the methods of a pc_rpc server.

Usage::

    sipyco_rpctool SERVER PORT list-targets
    sipyco_rpctool SERVER PORT list-methods [-t TARGET]
    sipyco_rpctool SERVER PORT call [-t TARGET] METHOD [ARG ...]
    sipyco_rpctool SERVER PORT [interactive [-t TARGET]]

Each ``ARG`` of ``call`` is a Python expression (numpy is available as
``np``); a result other than None is pretty-printed.  ``interactive`` (the
default) is a prompt where the target's methods are called as Python
functions, with line editing, history, Tab completion and ``help(method)`` /
``method?``.  Failures print one line starting ``sipyco_rpctool: error:`` on
stderr and exit with status 1 (2 for a bad command line).

Also runs as ``python -m sipyco.sipyco_rpctool``.
"""

from __future__ import annotations

import argparse
import builtins
import codeop
import os
import pprint
import sys
import traceback
from typing import TYPE_CHECKING, Any

from sipyco.errors import EncodeError, MessageTooLarge, RPCError, TransportError

if TYPE_CHECKING:
    from sipyco.pc_rpc import Client

# numpy and the RPC client are imported when first needed, so that --help and
# command-line mistakes get their answer at once

__all__ = ["main"]

PROG = "sipyco_rpctool"
DEFAULT_HISTORY = "~/.sipyco_rpctool_history"
HISTORY_LENGTH = 1000


def _rpc_package_dir() -> str:
    from sipyco._rpc import sync_client
    return os.path.dirname(os.path.abspath(sync_client.__file__))


def _new_client(host: str, port: int, timeout: float | None) -> Client:
    """A connected Client with no target selected yet."""
    from sipyco.pc_rpc import Client
    return Client(host, port, None, timeout=timeout)


def _numpy():
    import numpy
    return numpy


class ToolError(Exception):
    """A failure reported as one ``sipyco_rpctool: error:`` line."""


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


def get_argparser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="SiPyCo RPC tool: list the targets and methods of a pc_rpc "
                    "server, call a method, or call them from an interactive prompt",
        epilog="Options --timeout and --history go before the action. "
               "Exit status: 0 on success, 1 on a failure (one line on stderr), "
               "2 for a bad command line.")
    parser.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS",
                        help="give up connecting, and give up on each call, after this "
                             "many seconds (default: wait as long as it takes)")
    parser.add_argument("--history", default=DEFAULT_HISTORY, metavar="FILE",
                        help="interactive mode's command history, read at start and "
                             "written on exit (default: %(default)s)")
    parser.add_argument("server", metavar="SERVER",
                        help="hostname or IP of the controller to connect to")
    parser.add_argument("port", metavar="PORT", type=_port,
                        help="TCP port to use to connect to the controller")

    actions = parser.add_subparsers(dest="action", metavar="{list-targets,list-methods,"
                                                           "call,interactive}",
                                    prog=f"{PROG} SERVER PORT")
    actions.add_parser("list-targets", help="list existing targets")

    p = actions.add_parser("list-methods", help="list target's methods")
    p.add_argument("-t", "--target", help="target name")

    p = actions.add_parser("call", help="call a target's method")
    p.add_argument("-t", "--target", help="target name")
    p.add_argument("method", metavar="METHOD", help="method name")
    p.add_argument("args", metavar="ARGS", nargs=argparse.REMAINDER,
                   help="arguments: each one a Python expression (numpy is 'np')")

    p = actions.add_parser("interactive", help="enter interactive mode (default)")
    p.add_argument("-t", "--target", help="target name")
    return parser


# ------------------------------------------------------------- connecting ---

def connect(host: str, port: int, target: str | None, timeout: float | None
            ) -> tuple[Client, str]:
    """A Client with ``target`` (or the server's only target) selected."""
    client = _new_client(host, port, timeout)
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

def format_signature(name: str, argspec: Any) -> str:
    """``name(a: int, b=2, *rest, key: float = 1.0, **extra) -> float`` from the
    argspec dict of a method list (the fields of ``inspect.getfullargspec``)."""
    if not isinstance(argspec, dict):
        return f"{name}(...)"
    annotations = argspec.get("annotations") or {}

    def param(arg: str, has_default: bool = False, default: Any = None) -> str:
        text = arg
        annotation = annotations.get(arg)
        if annotation is not None:
            text += f": {annotation}"
        if has_default:
            text += (" = " if annotation is not None else "=") + repr(default)
        return text

    parts = []
    args = list(argspec.get("args") or [])
    defaults = list(argspec.get("defaults") or [])
    first_default = len(args) - len(defaults)
    for i, arg in enumerate(args):
        if i >= first_default:
            parts.append(param(arg, True, defaults[i - first_default]))
        else:
            parts.append(param(arg))
    kwonlyargs = list(argspec.get("kwonlyargs") or [])
    varargs = argspec.get("varargs")
    if varargs:
        parts.append("*" + param(varargs))
    elif kwonlyargs:
        parts.append("*")
    kwonlydefaults = argspec.get("kwonlydefaults") or {}
    for arg in kwonlyargs:
        parts.append(param(arg, arg in kwonlydefaults, kwonlydefaults.get(arg)))
    varkw = argspec.get("varkw")
    if varkw:
        parts.append("**" + param(varkw))
    text = f"{name}({', '.join(parts)})"
    if annotations.get("return") is not None:
        text += f" -> {annotations['return']}"
    return text


def _indented(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line if line.strip() else "" for line in text.splitlines())


def describe_method(name: str, entry: Any) -> str:
    """The signature line, then the docstring indented by 4 spaces."""
    try:
        argspec, doc = entry
    except (TypeError, ValueError):
        argspec, doc = None, None
    text = format_signature(name, argspec)
    if doc:
        text += "\n" + _indented(str(doc))
    return text


def describe_target(method_list: Any) -> str:
    """What ``list-methods`` prints: the target's docstring and a blank line
    (if it has one), then every method and a blank line, sorted by name."""
    if not isinstance(method_list, dict):
        raise ToolError("the server sent a malformed method list")
    out = []
    doc = method_list.get("docstring")
    if doc:
        out.append(f"{doc}\n\n")
    methods = method_list.get("methods") or {}
    for name in sorted(methods):
        out.append(describe_method(name, methods[name]) + "\n\n")
    return "".join(out)


# ------------------------------------------------------------------- errors ---

def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def remote_error_text(exc: BaseException) -> str:
    """``remote ValueError: bad input`` for an exception a remote method raised."""
    message = _one_line(str(exc))
    if type(exc).__name__ == "GenericRemoteException":
        # the message already reads "Class: text"
        return f"remote {message}" if message else "remote exception"
    name = type(exc).__name__
    return f"remote {name}: {message}" if message else f"remote {name}"


def _is_remote(exc: BaseException) -> bool:
    return hasattr(exc, "parent_traceback")


# ------------------------------------------------------------- sub-commands ---

def list_targets(args: argparse.Namespace) -> None:
    client = _new_client(args.server, args.port, args.timeout)
    with client:
        targets, description = client.get_rpc_id()
    for target in targets:
        print(target)
    if description:
        print(f"Description: {description}")


def list_methods(args: argparse.Namespace) -> None:
    client, _ = connect(args.server, args.port, args.target, args.timeout)
    with client:
        method_list = client.get_rpc_method_list()
    sys.stdout.write(describe_target(method_list))


def _evaluate_arguments(texts: list[str]) -> list[Any]:
    # eval: these are the local user's own expressions, as documented
    values = []
    numpy = _numpy()
    for i, text in enumerate(texts, 1):
        try:
            values.append(eval(text, {"np": numpy, "__builtins__": builtins}))
        except SyntaxError as exc:
            raise ToolError(f"argument {i} ({text!r}) is not a valid Python expression: "
                            f"{exc.msg}") from None
        except Exception as exc:  # noqa: BLE001 - whatever the user's expression raised
            raise ToolError(f"argument {i} ({text!r}) cannot be evaluated: "
                            f"{type(exc).__name__}: {_one_line(str(exc))}") from None
    return values


def call_method(args: argparse.Namespace) -> None:
    if args.method.startswith("_"):
        raise ToolError(f"cannot call {args.method!r}: names starting with '_' are "
                        "private and never callable remotely")
    values = _evaluate_arguments(args.args)
    client, target = connect(args.server, args.port, args.target, args.timeout)
    with client:
        try:
            result = getattr(client, args.method)(*values)
        except AttributeError as exc:
            if _is_remote(exc) and not _has_method(client, args.method):
                raise ToolError(f"target {target!r} has no method {args.method!r}") from None
            raise
        except (EncodeError, MessageTooLarge) as exc:
            if _is_remote(exc):
                raise
            raise ToolError(f"cannot send the arguments: {_one_line(str(exc))}") from None
    if result is not None:
        pprint.pprint(result)


def _has_method(client: Client, name: str) -> bool:
    try:
        return name in (client.get_rpc_method_list().get("methods") or {})
    except Exception:  # noqa: BLE001 - if we cannot tell, say it is missing
        return False


# -------------------------------------------------------- interactive mode ---

class Session:
    """The interactive mode's connection: dropped after a transport failure or
    an interrupted call, and made again by the next call."""

    def __init__(self, host: str, port: int, target: str, timeout: float | None,
                 client: Client):
        self.host = host
        self.port = port
        self.target = target
        self.timeout = timeout
        self.client: Client | None = client

    def call(self, name: str, args: tuple, kwargs: dict) -> Any:
        if self.client is None:
            self.client, _ = connect(self.host, self.port, self.target, self.timeout)
        client = self.client
        try:
            return getattr(client, name)(*args, **kwargs)
        except TransportError:
            self.drop()
            raise
        except KeyboardInterrupt:
            # the reply may still come: never let a later call read it
            self.drop()
            raise

    def drop(self) -> None:
        if self.client is not None:
            self.client.close_rpc()
            self.client = None


class RemoteMethod:
    """A remote method in the interactive namespace."""

    def __init__(self, session: Session, name: str, entry: Any):
        self._session = session
        self.__name__ = name
        self.description = describe_method(name, entry)
        try:
            self.__doc__ = entry[1]
        except (TypeError, IndexError):
            self.__doc__ = None

    def __call__(self, *args, **kwargs):
        return self._session.call(self.__name__, args, kwargs)

    def __repr__(self) -> str:
        return f"<remote method {self.description.splitlines()[0]}>"


class Interactive:
    def __init__(self, session: Session, method_list: dict, history: str):
        self.session = session
        self.method_list = method_list
        self.history = history
        self.methods = {name: RemoteMethod(session, name, entry)
                        for name, entry in (method_list.get("methods") or {}).items()}
        self.namespace: dict[str, Any] = {"__name__": "__rpctool__", "__builtins__": builtins}
        self.namespace.update(self.methods)
        self.namespace["np"] = _numpy()
        self.namespace["help"] = self.help
        self._matches: list[str] = []
        self.readline = None
        self._rlcompleter = None

    # ---- help
    def help(self, *objects: Any) -> None:
        """help(): the target's methods; help(method): one of them."""
        if not objects:
            sys.stdout.write(describe_target(self.method_list))
            return
        for obj in objects:
            if isinstance(obj, RemoteMethod):
                print(obj.description)
            else:
                import pydoc
                pydoc.help(obj)

    # ---- completion
    def complete(self, text: str, state: int) -> str | None:
        if state == 0:
            try:
                self._matches = self._candidates(text)
            except Exception:  # noqa: BLE001 - a completer must never raise
                self._matches = []
        return self._matches[state] if state < len(self._matches) else None

    def _candidates(self, text: str) -> list[str]:
        if "." in text:
            return self._rlcompleter.Completer(self.namespace).attr_matches(text)
        found = []
        for name in sorted(self.methods):
            if name.startswith(text):
                found.append(name + "(")
        for name in sorted(self.namespace):
            if name.startswith(text) and not name.startswith("__") and name not in self.methods:
                found.append(name)
        return found

    def _setup_readline(self) -> None:
        try:
            import readline
        except ImportError:  # e.g. a Python built without it: plain input()
            return
        # rlcompleter installs its own completer when first imported: import
        # it before installing ours
        import rlcompleter
        self._rlcompleter = rlcompleter
        self.readline = readline
        readline.set_completer(self.complete)
        if "libedit" in (readline.__doc__ or ""):
            readline.parse_and_bind("bind ^I rl_complete")
        else:
            readline.parse_and_bind("tab: complete")
        readline.set_history_length(HISTORY_LENGTH)
        try:
            readline.read_history_file(self.history)
        except FileNotFoundError:
            pass
        except OSError as exc:
            print(f"{PROG}: warning: cannot read the history file {self.history}: "
                  f"{exc.strerror or exc}", file=sys.stderr)

    def _save_history(self) -> None:
        if self.readline is None:
            return
        try:
            self.readline.write_history_file(self.history)
        except OSError as exc:
            print(f"{PROG}: warning: cannot write the history file {self.history}: "
                  f"{exc.strerror or exc}", file=sys.stderr)

    # ---- evaluation
    def _display(self, value: Any) -> None:
        if value is not None:
            self.namespace["_"] = value
            pprint.pprint(value)

    def _report(self, exc: BaseException) -> None:
        if _is_remote(exc):
            sys.stderr.write("".join(exc.parent_traceback))
            if exc.parent_traceback and not exc.parent_traceback[-1].endswith("\n"):
                sys.stderr.write("\n")
            print(remote_error_text(exc), file=sys.stderr)
        elif isinstance(exc, TransportError):
            print(f"connection error: {_one_line(str(exc))} "
                  "(reconnecting at the next call)", file=sys.stderr)
        elif isinstance(exc, ToolError):
            print(f"error: {exc}", file=sys.stderr)
        elif isinstance(exc, SyntaxError):
            sys.stderr.write("".join(traceback.format_exception_only(type(exc), exc)))
        else:
            here = os.path.abspath(__file__)
            rpc_dir = _rpc_package_dir() + os.sep
            frames = [f for f in traceback.extract_tb(exc.__traceback__)
                      if os.path.abspath(f.filename) != here
                      and not os.path.abspath(f.filename).startswith(rpc_dir)]
            if frames:
                sys.stderr.write("Traceback (most recent call last):\n")
                sys.stderr.write("".join(traceback.StackSummary.from_list(frames).format()))
            sys.stderr.write("".join(traceback.format_exception_only(type(exc), exc)))
        sys.stderr.flush()

    def _show_help_for(self, expression: str) -> None:
        if not expression:
            self.help()
            return
        try:
            obj = eval(expression, self.namespace)  # the user's own input
        except Exception as exc:  # noqa: BLE001 - reported like any other error
            self._report(exc)
            return
        self.help(obj)

    def execute(self, source: str) -> None:
        """Run complete input; its expression statements are pretty-printed."""
        stripped = source.strip()
        if stripped.endswith("?") and "\n" not in stripped:
            self._show_help_for(stripped[:-1].strip())
            return
        try:
            code = compile(source, "<input>", "single")
        except (SyntaxError, OverflowError, ValueError) as exc:
            self._report(exc)
            return
        saved = sys.displayhook
        sys.displayhook = self._display
        try:
            exec(code, self.namespace)  # the user's own input
        except SystemExit:
            raise
        except KeyboardInterrupt:
            print("\nKeyboardInterrupt", file=sys.stderr)
        except Exception as exc:  # noqa: BLE001 - shown, then the prompt returns
            self._report(exc)
        finally:
            sys.displayhook = saved

    def _is_complete(self, source: str) -> bool:
        if source.strip().endswith("?") and "\n" not in source.strip():
            return True
        try:
            return codeop.compile_command(source, "<input>", "single") is not None
        except (SyntaxError, OverflowError, ValueError):
            return True  # complete, and execute() reports the error

    def run(self) -> int:
        self._setup_readline()
        s = self.session
        print(f"Connected to {s.host}:{s.port}, target {s.target!r}: "
              f"{len(self.methods)} remote method(s).")
        print("Call them as Python functions (numpy is 'np'); help() lists them, "
              "help(method) or method? describes one; Tab completes; Ctrl-D quits.")
        prompt = f"{s.target}> "
        lines: list[str] = []
        try:
            while True:
                # Ctrl-C anywhere (mostly while typing) abandons the input
                # so far; execute() handles one during a call itself
                try:
                    line = input("... " if lines else prompt)
                    lines.append(line)
                    source = "\n".join(lines)
                    if not self._is_complete(source):
                        continue
                    lines = []
                    if source.strip():
                        self.execute(source)
                except EOFError:
                    print()
                    return 0
                except KeyboardInterrupt:
                    print()
                    lines = []
        finally:
            self._save_history()
            s.drop()


def interactive(args: argparse.Namespace) -> int:
    client, target = connect(args.server, args.port, getattr(args, "target", None),
                             args.timeout)
    try:
        method_list = client.get_rpc_method_list()
    except BaseException:
        client.close_rpc()
        raise
    if not isinstance(method_list, dict):
        client.close_rpc()
        raise ToolError("the server sent a malformed method list")
    session = Session(args.server, args.port, target, args.timeout, client)
    history = os.path.expanduser(args.history)
    return Interactive(session, method_list, history).run()


# --------------------------------------------------------------------- main ---

def _error(message: str) -> None:
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the tool; returns the exit status."""
    args = get_argparser().parse_args(argv)
    action = args.action or "interactive"
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
        if _is_remote(exc):
            _error(remote_error_text(exc))
        elif isinstance(exc, (TransportError, RPCError)):
            _error(str(exc))
        else:
            _error(f"{type(exc).__name__}: {exc}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
