"""sipyco_rpctool's newcomer papercuts (issue 18): the handshake deadline,
keyword arguments, options after the action, bare words, upstream's
list-targets format, sub-command help without SERVER PORT, the
still-waiting notice, and naming the kind of server that is not pc_rpc.

Run as real subprocesses against real servers on 127.0.0.1."""

from __future__ import annotations

import contextlib
import socket
import threading

import pytest
from support.rpctool import (
    Controller,
    assert_one_line_error,
    run_tool,
    run_tool_against_banner,
)

from sipyco import sipyco_rpctool as tool

HOST = "127.0.0.1"


@contextlib.contextmanager
def silent_server():
    """A TCP server that accepts every connection and never writes; yields its port."""
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(10)
        for conn in held:
            conn.close()
        listener.close()


@pytest.fixture(scope="module")
def publisher():
    """A real sync_struct Publisher in a subprocess."""
    c = Controller("--sync-publisher")
    yield c
    c.stop()


# ------------------------------------------------- 1. the handshake deadline ---

def test_the_default_handshake_deadline_is_10_s_and_calls_stay_unbounded():
    parser = tool.get_argparser()
    args = parser.parse_args([HOST, "1", "list-targets"])
    assert (args.timeout, args.handshake_timeout) == (None, None)
    assert tool.DEFAULT_HANDSHAKE_TIMEOUT == 10.0
    assert tool.handshake_limit(args.timeout, args.handshake_timeout) == 10.0
    # --timeout bounds the handshake too unless --handshake-timeout is given
    args = parser.parse_args(["--timeout", "3", HOST, "1", "list-targets"])
    assert tool.handshake_limit(args.timeout, args.handshake_timeout) == 3.0
    args = parser.parse_args(["--timeout", "3", "--handshake-timeout", "0.5", HOST, "1"])
    assert (args.timeout, tool.handshake_limit(args.timeout, args.handshake_timeout)) \
        == (3.0, 0.5)
    assert "else 10)" in " ".join(parser.format_help().split())


def test_a_silent_server_fails_after_the_default_deadline():
    # no option at all: the tool must not hang (run_tool bounds the run)
    with silent_server() as port:
        r = run_tool(HOST, port, "list-targets")
    line = assert_one_line_error(r, f"the server at {HOST}:{port} did not answer its "
                                    "handshake within 10 s", "--handshake-timeout SECONDS")
    assert line.startswith("sipyco_rpctool: error: ")


@pytest.mark.parametrize("where", ["before", "after"])
def test_handshake_timeout_option(where):
    with silent_server() as port:
        for action in (["list-targets"], ["list-methods"], ["call", "echo", "1"], []):
            option = ["--handshake-timeout", "0.3"]
            argv = ([*option, HOST, port, *action] if where == "before" or not action
                    else [HOST, port, *action, *option])
            r = run_tool(*argv)
            assert_one_line_error(r, "did not answer its handshake within 0.3 s",
                                  "a pc_rpc server answers at once")


def test_the_handshake_deadline_does_not_bound_calls(psu):
    r = run_tool("--handshake-timeout", "0.2", HOST, psu.port, "call", "sleep", "1")
    assert (r.returncode, r.stdout, r.stderr) == (0, "1\n", "")


def test_a_bad_handshake_timeout_is_a_usage_error():
    for value in ("0", "soon"):
        r = run_tool("--handshake-timeout", value, HOST, "1", "list-targets")
        assert r.returncode == 2, r.stderr
        assert r.stderr.splitlines()[-1].startswith("sipyco_rpctool: error: argument "
                                                    "--handshake-timeout")


# ------------------------------------------------------ 2. keyword arguments ---

@pytest.mark.parametrize(("args", "expected"), [
    (["configure", "'x'", "retries=5", "verbose=True"],
     "{'mode': 'fast', 'name': 'x', 'retries': 5, 'verbose': True}\n"),
    (["configure", "name='y'", "mode = 'slow'"],
     "{'mode': 'slow', 'name': 'y', 'retries': 3, 'verbose': False}\n"),
    (["add", "1", "2", "3", "scale=float(np.float64(0.5))"], "3.0\n"),
    (["add", "a=1", "b=2"], "3.0\n"),
    # not keyword arguments: expressions containing '='
    (["echo", "1 == 1"], "True\n"),
    (["echo", "'key=value'"], "'key=value'\n"),
    (["echo", "dict(a=1)"], "{'a': 1}\n"),
    (["echo", "3 >= 2"], "True\n"),
])
def test_call_with_keyword_arguments(psu, args, expected):
    r = run_tool(HOST, psu.port, "call", *args)
    assert (r.returncode, r.stderr, r.stdout) == (0, "", expected)


@pytest.mark.parametrize(("args", "fragments"), [
    (["configure", "name='x'", "'fast'"],
     ["argument 2 (\"'fast'\") is positional but follows the keyword argument name=",
      "put positional arguments first"]),
    (["configure", "1a=3"], ["argument 1 ('1a=3')", "'1a' is not a valid keyword argument "
                                                    "name (it must be a Python identifier)"]),
    (["configure", "for=3"], ["'for' is not a valid keyword argument name"]),
    (["configure", "name=1", "name=2"], ["argument 2", "keyword argument 'name' is given "
                                                       "twice"]),
    (["configure", "name=1 +"], ["argument 1 (name=)", "not a valid Python expression"]),
    (["configure", "retries=1/0"], ["argument 1 (retries=)", "ZeroDivisionError"]),
    # the server rejects an unknown keyword
    (["configure", "'x'", "colour=1"], ["remote TypeError", "colour"]),
])
def test_bad_keyword_arguments_are_one_line(psu, args, fragments):
    assert_one_line_error(run_tool(HOST, psu.port, "call", *args), *fragments)


def test_split_arguments_keeps_the_order_and_numbers():
    positional, keywords = tool.split_arguments(["1", "'a=b'", "x=2", "y = [1, 2]"])
    assert positional == [(1, "1"), (2, "'a=b'")]
    assert keywords == [(3, "x", "2"), (4, "y", " [1, 2]")]
    assert tool.evaluate_arguments(["1", "x=np.int64(2)", "y=(3, )"]) == ([1], {"x": 2,
                                                                            "y": (3,)})
    with pytest.raises(tool.ToolError, match="follows the keyword argument x="):
        tool.split_arguments(["x=1", "2"])


# ---------------------------------------------------- 3. options after the action ---

def test_timeout_after_call_method(psu):
    r = run_tool(HOST, psu.port, "call", "sleep", "30", "--timeout", "0.3")
    assert_one_line_error(r, "no reply within 0.3 s")
    r = run_tool(HOST, psu.port, "call", "sleep", "30", "--timeout=0.3")
    assert_one_line_error(r, "no reply within 0.3 s")


def test_options_after_the_action(two_targets, tmp_path):
    r = run_tool(HOST, two_targets.port, "call", "read", "-t", "meter", "--timeout", "30")
    assert (r.returncode, r.stdout, r.stderr) == (0, "1.25\n", "")
    r = run_tool(HOST, two_targets.port, "call", "--timeout", "30", "-t", "psu", "add", "1",
                 "--handshake-timeout", "5", "scale=3.0")
    assert (r.returncode, r.stdout, r.stderr) == (0, "9.0\n", "")
    r = run_tool(HOST, two_targets.port, "list-methods", "--timeout", "30", "-t", "meter")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("A pretend multimeter.\n")
    r = run_tool(HOST, two_targets.port, "list-targets", "--handshake-timeout", "5")
    assert (r.returncode, r.stdout) == (0, "Target(s): meter, psu\n")
    history = tmp_path / "h"
    r = run_tool(HOST, two_targets.port, "interactive", "-t", "psu", "--timeout", "0.3",
                 "--history", history, stdin_text="sleep(30)\nadd(20, 22)\n")
    assert r.returncode == 0, r.stderr
    assert "connection error: no reply within 0.3 s" in r.stderr
    assert "42.0" in r.stdout


def test_double_dash_ends_the_options_after_call_method(psu):
    r = run_tool(HOST, psu.port, "call", "echo", "--", "--timeout")
    # passed on as an argument expression (one that cannot be evaluated)
    assert_one_line_error(r, "argument 1 ('--timeout') cannot be evaluated")


def test_a_bad_option_value_after_the_action_is_a_usage_error(psu):
    for argv in (["call", "echo", "1", "--timeout", "soon"], ["call", "echo", "1", "--ssl", "a"],
                 ["list-targets", "--timeout", "0"]):
        r = run_tool(HOST, psu.port, *argv)
        assert r.returncode == 2, (argv, r.stdout, r.stderr)
        assert r.stderr.startswith("usage: sipyco_rpctool"), r.stderr
        assert "Traceback" not in r.stderr and r.stdout == ""


# ------------------------------------------------------------- 4. bare words ---

def test_a_bare_word_suggests_quoting(psu):
    err = assert_one_line_error(run_tool(HOST, psu.port, "call", "echo", "hello"))
    assert err == ("sipyco_rpctool: error: argument 1: 'hello' is not a Python expression; "
                   "to pass a string, quote it: '\"hello\"'")
    err = assert_one_line_error(run_tool(HOST, psu.port, "call", "configure", "name=hello"))
    assert err == ("sipyco_rpctool: error: argument 1 (name=): 'hello' is not a Python "
                   "expression; to pass a string, quote it: 'name=\"hello\"'")
    assert_one_line_error(run_tool(HOST, psu.port, "call", "echo", "1", "two words"),
                          "argument 2", "quote it: '\"two words\"'")
    # the quoted form works
    r = run_tool(HOST, psu.port, "call", "echo", '"hello"')
    assert (r.returncode, r.stdout) == (0, "'hello'\n")


# ------------------------------------------------------------ 5. list-targets ---

def test_list_targets_prints_upstreams_format(psu, two_targets):
    r = run_tool(HOST, two_targets.port, "list-targets")
    assert (r.returncode, r.stderr, r.stdout) == (0, "", "Target(s): meter, psu\n")
    r = run_tool(HOST, psu.port, "list-targets")
    assert (r.returncode, r.stderr, r.stdout) == (
        0, "", "Target(s): psu\nDescription: pretend bench supply\n")


# ----------------------------------------------- 6. sub-command help, no SERVER ---

@pytest.mark.parametrize("argv", [
    ["call", "--help"], ["call", "-h"], ["list-methods", "-h"], ["list-targets", "--help"],
    ["interactive", "-h"], [HOST, "notaport", "call", "-h"], [HOST, "99999", "list-methods",
                                                              "--help"],
])
def test_sub_command_help_needs_no_server(argv):
    r = run_tool(*argv)
    action = next(word for word in argv if word in tool.get_argparser().subcommands)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    assert r.stdout.startswith(f"usage: sipyco_rpctool SERVER PORT {action} [-h]"), r.stdout
    assert "may also follow the action" in " ".join(r.stdout.split())


def test_sub_command_help_does_not_connect():
    with socket.socket() as listener:
        listener.bind((HOST, 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        for argv in ([HOST, port, "call", "-h"], [HOST, port, "call", "echo", "-h"],
                     [HOST, port, "list-targets", "-h"]):
            r = run_tool(*argv)
            assert (r.returncode, r.stderr) == (0, "")
            assert "usage: sipyco_rpctool SERVER PORT" in r.stdout
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected


def test_call_help_describes_keyword_arguments():
    r = run_tool("call", "-h")
    text = " ".join(r.stdout.split())
    assert "KEY=EXPRESSION for a keyword argument" in text
    assert "'--' ends the options" in text


# ----------------------------------------- 7. interactive: a call still waiting ---

def test_a_slow_call_says_it_is_still_waiting(psu, tmp_path):
    r = run_tool("--history", tmp_path / "h", HOST, psu.port,
                 stdin_text="sleep(2.5)\nadd(1, 1)\n")
    assert r.returncode == 0, r.stderr
    assert "\n2.5\n" in r.stdout.replace("psu> ", "\n")
    assert "\n2.0\n" in r.stdout.replace("psu> ", "\n")
    # once for the slow call (a busy machine may make the quick one wait too)
    notice = [line for line in r.stderr.splitlines()
              if "still waiting for sleep() to return" in line]
    assert len(notice) == 1, r.stderr
    assert "one call at a time unless started with allow_parallel" in notice[0]


# -------------------------------------------- 8. servers that are not pc_rpc ---

def test_a_sync_struct_publisher_is_named(publisher):
    port = publisher.port
    for action in (["list-targets"], ["list-methods"], ["call", "echo", "1"], []):
        r = run_tool(HOST, port, *action)
        assert_one_line_error(r, f"the server at {HOST}:{port} closed the connection without "
                                 "answering as a pc_rpc server",
                              "is it a sync_struct publisher or a log server")


def test_a_log_server_is_named():
    c = Controller("--log-server")
    try:
        r = run_tool(HOST, c.port, "list-targets")
    finally:
        c.stop()
    assert_one_line_error(r, "closed the connection without answering as a pc_rpc server",
                          "sync_struct publisher or a log server")


def test_a_server_that_sends_something_else_is_named():
    r, port = run_tool_against_banner(b"220 mail.example.org ESMTP\r\n")
    assert_one_line_error(r, f"the server at {HOST}:{port} did not answer as a pc_rpc server")
