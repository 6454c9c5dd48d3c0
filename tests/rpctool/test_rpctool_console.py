"""sipyco_rpctool's error texts and its interactive console, in-process with
a stand-in client (no server, no terminal): what each kind of failure shows."""

from __future__ import annotations

import builtins
import code

import pytest

import sipyco._rpctool_repl as repl
from sipyco import sipyco_rpctool as tool
from sipyco.errors import ConnectionClosed, EncodeError, MessageTooLarge, remote_error

REMOTE_TRACEBACK = ["Traceback (most recent call last):\n",
                    '  File "/lab/dev.py", line 3, in fail\n    raise ValueError(text)\n',
                    "ValueError: bad input"]  # no final newline, as a foreign peer may send


class FakeClient:
    """Answers like a connected pc_rpc Client whose target is ``dev``."""

    def __init__(self):
        self.closed = False

    def fail(self, text):
        raise remote_error("ValueError", text, list(REMOTE_TRACEBACK))

    def fail_custom(self):
        raise remote_error("GenericRemoteException", "lab.RelayError: stuck", [])

    def lose(self):
        raise ConnectionClosed("the server closed the connection")

    def wait(self):
        raise KeyboardInterrupt

    def echo(self, x):
        return x

    def big_reply(self):
        raise MessageTooLarge("reply", 5000, 1000)

    def big_request(self, x):
        raise MessageTooLarge("request", 5000, 1000)

    def unencodable(self, x):
        raise EncodeError("cannot encode a value of type object", "x[0]")

    def get_rpc_id(self):
        return ["dev"], None

    def select_rpc_target(self, target):
        pass

    def get_rpc_method_list(self):
        return METHOD_LIST

    def close_rpc(self):
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close_rpc()


METHOD_LIST = {"docstring": "A stand-in.", "methods": {
    name: ({"args": ["self"], "annotations": {}}, f"The {name} method.")
    for name in ["fail", "fail_custom", "lose", "wait", "echo"]}}


# ------------------------------------------------------------- error texts ---

@pytest.mark.parametrize(("exc", "text"), [
    (remote_error("ValueError", "bad input", []), "remote ValueError: bad input"),
    (remote_error("KeyError", "999", []), "remote KeyError: '999'"),
    (remote_error("ValueError", "two\nlines", []), "remote ValueError: two lines"),
    (remote_error("ValueError", "", []), "remote ValueError"),
    (remote_error("GenericRemoteException", "lab.RelayError: stuck", []),
     "remote lab.RelayError: stuck"),
    (remote_error("InstrumentError", "on fire", []), "remote InstrumentError: on fire"),
    (remote_error("GenericRemoteException", "", []), "remote exception"),
])
def test_remote_error_text_names_the_remote_class(exc, text):
    assert tool.remote_error_text(exc) == text


@pytest.mark.parametrize(("method", "line"), [
    ("fail", "sipyco_rpctool: error: remote ValueError: x"),
    ("unencodable", "sipyco_rpctool: error: cannot send the arguments: cannot encode a "
                    "value of type object (at x[0])"),
    ("big_request", "sipyco_rpctool: error: cannot send the arguments: request of 5000 "
                    "bytes exceeds max_message_size=1000"),
    # the reply is too large: not the arguments' fault
    ("big_reply", "sipyco_rpctool: error: MessageTooLarge: reply of 5000 bytes exceeds "
                  "max_message_size=1000"),
])
def test_call_failures_are_one_line(monkeypatch, capsys, method, line):
    monkeypatch.setattr(tool, "_new_client", lambda *args: FakeClient())
    args = [] if method == "big_reply" else ["'x'"]
    assert tool.main(["h", "1", "call", method, *args]) == 1
    out, err = capsys.readouterr()
    # the library may add a hint after its own text: the line starts as given
    assert out == "" and err.count("\n") == 1, (out, err)
    assert err.startswith(line), err


# ----------------------------------------------------------------- console ---

def run_console(monkeypatch, tmp_path, lines):
    """Run the console on a FakeClient, typing ``lines``, then Ctrl-D; its
    exit status and the session."""
    queue = list(lines)

    def fake_input(prompt=""):
        print(prompt, end="")
        if not queue:
            raise EOFError
        line = queue.pop(0)
        print(line)
        return line

    monkeypatch.setattr(builtins, "input", fake_input)
    session = repl.Session("h", 1, "dev", None, FakeClient())
    console = repl.RemoteConsole(session, METHOD_LIST, str(tmp_path / "history"))
    assert isinstance(console, code.InteractiveConsole)
    return console.run(), session


def test_remote_exception_shows_the_remote_traceback(monkeypatch, tmp_path, capsys):
    status, session = run_console(monkeypatch, tmp_path, ["fail('bad input')", "fail_custom()"])
    out, err = capsys.readouterr()
    assert status == 0
    assert err.startswith("".join(REMOTE_TRACEBACK) + "\nremote ValueError: bad input\n")
    assert err.endswith("\nremote lab.RelayError: stuck\n\n")  # the last "\n": Ctrl-D
    assert session.client is None  # closed on exit


def test_local_errors_are_shown_as_the_standard_console_does(monkeypatch, tmp_path, capsys):
    run_console(monkeypatch, tmp_path, ["undefined_name + 1", "echo(1))", "1 / 0"])
    err = capsys.readouterr().err
    assert err.count("Traceback (most recent call last):\n") == 2
    assert '  File "<console>", line 1, in <module>\n' in err
    assert "NameError: name 'undefined_name' is not defined\n" in err
    assert "SyntaxError: unmatched ')'\n" in err
    assert "ZeroDivisionError: division by zero\n" in err
    assert "_rpctool_repl" not in err and "code.py" not in err


def test_results_prompts_and_help(monkeypatch, tmp_path, capsys):
    run_console(monkeypatch, tmp_path, ["echo({'k': [1, 2]})", "_", "echo(None)",
                                        "x = echo(", "21) * 2", "x", "echo?", "?"])
    out = capsys.readouterr().out
    assert "dev> echo({'k': [1, 2]})\n{'k': [1, 2]}\ndev> _\n{'k': [1, 2]}\ndev> echo(None)\n" \
           "dev> x = echo(\n... 21) * 2\ndev> x\n42\n" in out
    assert "dev> echo?\necho(self)\n    The echo method.\ndev> ?\nA stand-in.\n\n" in out


def test_a_lost_connection_is_one_line_and_reconnecting_is_tried(monkeypatch, tmp_path,
                                                                capsys):
    def refuse(*args, **kwargs):
        raise tool.ToolError("the server has no target 'dev'")

    monkeypatch.setattr(repl, "connect", refuse)
    status, session = run_console(monkeypatch, tmp_path, ["lose()", "echo(1)"])
    err = capsys.readouterr().err
    assert status == 0
    assert err == ("connection error: the server closed the connection "
                   "(reconnecting at the next call)\n"
                   "error: the server has no target 'dev'\n\n")


def test_ctrl_c_during_a_call_drops_the_connection(monkeypatch, tmp_path, capsys):
    clients = []

    def reconnect(*args, **kwargs):
        clients.append(FakeClient())
        return clients[-1], "dev"

    monkeypatch.setattr(repl, "connect", reconnect)
    status, _ = run_console(monkeypatch, tmp_path, ["wait()", "echo(7)"])
    out, err = capsys.readouterr()
    assert err == "\nKeyboardInterrupt\n\n"
    assert "dev> echo(7)\n7\n" in out
    assert len(clients) == 1  # a new connection for the call after the interrupted one


# ------------------------------------ a server that cannot describe its methods ---

class UndescribedClient(FakeClient):
    """A FakeClient whose server answers get_rpc_method_list with an
    exception, as upstream 1.10 servers do for some annotations."""

    def get_rpc_method_list(self):
        raise remote_error("TypeError", "cannot describe int | None", [])


def test_interactive_mode_opens_without_a_method_list(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(tool, "_new_client", lambda *args: UndescribedClient())
    queue = ["echo(5)", "[echo(i) for i in range(2)]", "len('abc')", "help()", "_private",
             "echo?"]

    def fake_input(prompt=""):
        if not queue:
            raise EOFError
        return queue.pop(0)

    monkeypatch.setattr(builtins, "input", fake_input)
    assert tool.main(["--history", str(tmp_path / "h"), "h", "1"]) == 0
    out, err = capsys.readouterr()
    # this client has no announced names: every name is looked up on it as it is used
    assert err.startswith("sipyco_rpctool: warning: the server could not describe its "
                          "methods (remote TypeError: cannot describe int | None): help "
                          "and completion are unavailable\n")
    assert "NameError: name '_private' is not defined" in err
    assert out.splitlines()[2:] == [
        "5", "[0, 1]", "3",
        "Method descriptions are unavailable: the server could not describe its methods "
        "(remote TypeError: cannot describe int | None).",
        "Their names are unknown too: call them by name all the same.",
        "echo(...)", "    (no description: the server could not describe its methods)"]


def test_method_namespace_leaves_builtins_keywords_and_private_names_alone():
    session = repl.Session("h", 1, "dev", None, FakeClient())
    ns = repl.MethodNamespace(session)
    for name in ["print", "len", "_", "__name__", "class", "1x", 3]:
        with pytest.raises(KeyError):
            ns[name]
    assert isinstance(ns["echo"], repl.RemoteMethod)
    assert ns["echo"](4) == 4
    assert "echo" not in ns  # looked up, never stored
    session.client = None  # dropped: the call reconnects, and says
    assert isinstance(ns["anything"], repl.RemoteMethod)


def test_help_for_a_target_announced_without_methods(monkeypatch, tmp_path, capsys):
    session = repl.Session("h", 1, "dev", None, FakeClient())
    console = repl.RemoteConsole(session, None, str(tmp_path / "h"), names=frozenset())
    console.help()
    assert capsys.readouterr().out == (
        "Method descriptions are unavailable: the server could not describe its "
        "methods.\nThe target has no methods.\n")
