"""``sipyco_rpctool``'s interactive mode: a :class:`code.InteractiveConsole`
whose namespace holds the target's remote methods.

What it adds to the standard console: ``method?`` and ``help(method)`` show
a method's signature and docstring; results are pretty-printed; a remote
method's exception shows the remote traceback and ``remote Class: message``;
a lost connection is one line, and is made again by the next call; a call
still waiting after a second says so once on stderr (the server may be
running another client's call); Ctrl-C during a call abandons it (on a fresh
connection next time); readline gives line editing, Tab completion and a
history file.

A server that could not describe its methods (see
:class:`~sipyco.sipyco_rpctool.MethodListUnavailable`) still gets a prompt:
its methods are those whose names it announced at target selection, and
any other name found nowhere else is looked up on the client as it is used
(:class:`MethodNamespace`), so they are all called by name; ``help()``
says that there are no descriptions.

Imported by :mod:`sipyco.sipyco_rpctool` only when that mode is chosen.
"""

from __future__ import annotations

import builtins
import code
import keyword
import pprint
import sys
import threading
from typing import TYPE_CHECKING, Any

import numpy

from sipyco.errors import RemoteError, TransportError
from sipyco.sipyco_rpctool import (
    PROG,
    MethodListUnavailable,
    ToolError,
    connect,
    describe_method,
    describe_target,
    one_line,
    remote_error_text,
)

if TYPE_CHECKING:
    from sipyco.pc_rpc import Client

__all__ = ["Session", "RemoteMethod", "MethodNamespace", "RemoteConsole"]

HISTORY_LENGTH = 1000


class Session:
    """The interactive mode's connection: dropped after a transport failure or
    an interrupted call, and made again by the next call.

    A call still waiting for its reply after ``patience`` seconds says so,
    once, on stderr (the server may be running another client's call)."""

    patience = 1.0

    def __init__(self, host: str, port: int, target: str, timeout: float | None,
                 client: Client, *, handshake_timeout: float | None = None):
        self.host = host
        self.port = port
        self.target = target
        self.timeout = timeout
        self.handshake_timeout = handshake_timeout
        self.client: Client | None = client

    def call(self, name: str, args: tuple, kwargs: dict) -> Any:
        if self.client is None:
            self.client, _ = connect(self.host, self.port, self.target, self.timeout,
                                     handshake_timeout=self.handshake_timeout)
        client = self.client
        remote = getattr(client, name)
        waiting = threading.Timer(self.patience, self._still_waiting, (name,))
        waiting.daemon = True
        waiting.start()
        try:
            return remote(*args, **kwargs)
        except TransportError:
            self.drop()
            raise
        except KeyboardInterrupt:
            # the reply may still come: never let a later call read it
            self.drop()
            raise
        finally:
            waiting.cancel()

    def _still_waiting(self, name: str) -> None:
        print(f"(still waiting for {name}() to return; a server runs one call at a time "
              "unless started with allow_parallel, so it may be busy with another "
              "client's call; Ctrl-C abandons this one)", file=sys.stderr, flush=True)

    def drop(self) -> None:
        if self.client is not None:
            self.client.close_rpc()
            self.client = None


class RemoteMethod:
    """A remote method in the interactive namespace."""

    def __init__(self, session: Session, name: str, entry: Any,
                 description: str | None = None):
        self._session = session
        self.__name__ = name
        self.description = description or describe_method(name, entry)
        try:
            self.__doc__ = entry[1]
        except (TypeError, IndexError, KeyError):
            self.__doc__ = None

    def __call__(self, *args, **kwargs):
        return self._session.call(self.__name__, args, kwargs)

    def __repr__(self) -> str:
        return f"<remote method {self.description.splitlines()[0]}>"


def _undescribed(name: str) -> str:
    return (f"{name}(...)\n    (no description: the server could not describe "
            "its methods)")


class MethodNamespace(dict):
    """The prompt's namespace when the server could not describe its methods.

    A name that is neither in it nor a builtin is looked up on the session's
    client as it is used: a remote method if the client has it (all of the
    target's methods, and any public name when the server announced no
    names); otherwise the usual NameError.  Found names are not stored, so
    the namespace lists only what the user defined and the announced methods.
    """

    def __init__(self, session: Session, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._session = session

    def __missing__(self, name: Any) -> RemoteMethod:
        if (not isinstance(name, str) or name.startswith("_") or not name.isidentifier()
                or keyword.iskeyword(name) or hasattr(builtins, name)):
            raise KeyError(name)
        client = self._session.client
        if client is not None:  # else the call reconnects, and says if it is missing
            try:
                getattr(client, name)  # the client checks the name; nothing is sent
            except AttributeError:
                raise KeyError(name) from None
        return RemoteMethod(self._session, name, None, _undescribed(name))


class RemoteConsole(code.InteractiveConsole):
    """The prompt: ``run()`` it once; it returns the exit status.

    ``method_list`` None: the server could not describe its methods
    (``unavailable`` says why); ``names`` are those it announced, if known.
    """

    def __init__(self, session: Session, method_list: dict | None, history: str, *,
                 unavailable: MethodListUnavailable | None = None,
                 names: Any = None):
        self.session = session
        self.method_list = method_list
        self.unavailable = unavailable
        self.names_known = method_list is not None or names is not None
        self.history = history
        namespace: dict[str, Any]
        if method_list is not None:
            self.methods = {name: RemoteMethod(session, name, entry)
                            for name, entry in (method_list.get("methods") or {}).items()}
            namespace = {}
        else:
            self.methods = {name: RemoteMethod(session, name, None, _undescribed(name))
                            for name in sorted(names or ())}
            namespace = MethodNamespace(session)
        namespace.update({"__name__": "__rpctool__", "__builtins__": builtins})
        namespace.update(self.methods)
        namespace["np"] = numpy
        namespace["help"] = self.help
        super().__init__(namespace)
        self._matches: list[str] = []
        self._readline: Any = None
        self._rlcompleter: Any = None

    def raw_input(self, prompt: str = "") -> str:
        """One line of input; the prompt is the target's name (``... ``
        while a statement is unfinished) instead of ``sys.ps1``."""
        return input("... " if self.buffer else f"{self.session.target}> ")

    # ---- help
    def help(self, *objects: Any) -> None:
        """help(): the target's methods; help(method): one of them."""
        if not objects:
            if self.method_list is not None:
                sys.stdout.write(describe_target(self.method_list))
                return
            why = self.unavailable or "the server could not describe its methods"
            print(f"Method descriptions are unavailable: {why}.")
            if self.methods:
                print("Its methods, called by name: " + ", ".join(self.methods))
            elif self.names_known:
                print("The target has no methods.")
            else:
                print("Their names are unknown too: call them by name all the same.")
            return
        for obj in objects:
            if isinstance(obj, RemoteMethod):
                print(obj.description)
            else:
                import pydoc
                pydoc.help(obj)

    def runsource(self, source: str, filename: str = "<input>", symbol: str = "single"
                  ) -> bool:
        """``expression?`` (one line) is help on that; anything else is Python."""
        query = source.strip()
        if query.endswith("?") and "\n" not in query:
            self._help_on(query[:-1].strip())
            return False
        return super().runsource(source, filename, symbol)

    def _help_on(self, expression: str) -> None:
        if not expression:
            self.help()
            return
        try:
            obj = eval(expression, self.locals)  # the user's own input
        except Exception:  # noqa: BLE001 - reported like any other error
            self.showtraceback()
            return
        self.help(obj)

    # ---- results and errors
    def _display(self, value: Any) -> None:
        if value is not None:
            self.locals["_"] = value
            pprint.pprint(value)

    def showtraceback(self) -> None:
        """Called with the exception being handled: a remote method's shows
        the remote traceback, a lost connection or an interrupted call one
        line; the rest as the standard console shows them."""
        exc = sys.exc_info()[1]
        if isinstance(exc, RemoteError):
            text = "".join(exc.parent_traceback)
            if text and not text.endswith("\n"):
                text += "\n"
            self.write(text + remote_error_text(exc) + "\n")
        elif isinstance(exc, TransportError):
            self.write(f"connection error: {one_line(str(exc))} "
                       "(reconnecting at the next call)\n")
        elif isinstance(exc, ToolError):
            self.write(f"error: {exc}\n")
        elif isinstance(exc, KeyboardInterrupt):
            self.write("\nKeyboardInterrupt\n")
        else:
            super().showtraceback()

    # ---- completion and history
    def complete(self, text: str, state: int) -> str | None:
        """The readline completer: remote methods (with their opening
        parenthesis) and other names of the namespace, or attributes."""
        if state == 0:
            try:
                self._matches = self._candidates(text)
            except Exception:  # noqa: BLE001 - a completer must never raise
                self._matches = []
        return self._matches[state] if state < len(self._matches) else None

    def _candidates(self, text: str) -> list[str]:
        if "." in text:
            return self._rlcompleter.Completer(self.locals).attr_matches(text)
        found = [name + "(" for name in sorted(self.methods) if name.startswith(text)]
        found.extend(name for name in sorted(self.locals)
                     if name.startswith(text) and not name.startswith("__")
                     and name not in self.methods)
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
        self._readline = readline
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
        if self._readline is None:
            return
        try:
            self._readline.write_history_file(self.history)
        except OSError as exc:
            print(f"{PROG}: warning: cannot write the history file {self.history}: "
                  f"{exc.strerror or exc}", file=sys.stderr)

    # ---- the session
    def run(self) -> int:
        """Prompt until end of input (Ctrl-D); 0."""
        self._setup_readline()
        s = self.session
        where = f"Connected to {s.host}:{s.port}, target {s.target!r}"
        if self.method_list is not None:
            print(f"{where}: {len(self.methods)} remote method(s).")
            print("Call them as Python functions (numpy is 'np'); help() lists them, "
                  "help(method) or method? describes one; Tab completes; Ctrl-D quits.")
        elif self.names_known:
            print(f"{where}: {len(self.methods)} remote method(s), without descriptions.")
            print("Call them by name as Python functions (numpy is 'np'); help() lists "
                  "their names; Tab completes; Ctrl-D quits.")
        else:
            print(f"{where}: its methods are neither described nor named.")
            print("Call them by name as Python functions (numpy is 'np'); Ctrl-D quits.")
        saved_displayhook = sys.displayhook
        sys.displayhook = self._display
        try:
            self.interact(banner="", exitmsg="")
        finally:
            sys.displayhook = saved_displayhook
            self._save_history()
            s.drop()
        return 0
