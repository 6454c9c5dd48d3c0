"""sipyco_rpctool's sub-commands, run as a real subprocess against real
controller subprocesses: what they print, and how each failure is reported."""

from __future__ import annotations

import os
import pprint
import shutil
import socket
import sys

import numpy as np
import pytest
from support.rpctool import STATUS, assert_one_line_error, run_tool, run_tool_against_banner

HOST = "127.0.0.1"

PSU_METHODS = """\
A pretend power supply with two channels.

add(self, a: int, b: int = 2, *rest, scale: float = 1.0, **extra) -> float
    Add numbers and scale the sum.

    Every extra positional argument is added too.

configure(self, name, mode='fast', *, retries=3, verbose: bool = False) -> dict

echo(self, x)

fail(self, text)

fail_custom(self)

get_voltage(self, channel: int) -> float
    The voltage last set on a channel.

samples(self, n: int = 4)
    n samples as a numpy array.

set_voltage(self, channel: int, volts: float) -> None
    Set the output voltage of one channel.

sleep(self, seconds: float) -> float
    Wait, then return the number of seconds.

status(self)
    A dictionary too wide for one line.

terminate()
    Ask the server to shut down.

"""


def _closed_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# ------------------------------------------------------------ command line ---

def test_help_shows_the_documented_command_line():
    r = run_tool("--help")
    assert r.returncode == 0, r.stderr
    usage = " ".join(r.stdout.split())
    assert ("usage: sipyco_rpctool [-h] [--timeout SECONDS] "
            "[--handshake-timeout SECONDS] [--history FILE] "
            "[--ssl CERT KEY PEER] SERVER PORT "
            "{list-targets,list-methods,call,interactive} ...") in usage
    for text in ["hostname or IP of the controller to connect to",
                 "TCP port to use to connect to the controller",
                 "list existing targets", "list target's methods", "call a target's method",
                 "enter interactive mode (default)", "--timeout SECONDS", "--history FILE"]:
        assert text in usage, text
    sub = run_tool(HOST, "1", "call", "--help")
    assert sub.returncode == 0, sub.stderr
    assert "call [-h] [-t TARGET] METHOD ..." in sub.stdout
    for action in ["list-methods", "interactive"]:
        sub = run_tool(HOST, "1", action, "--help")
        assert sub.returncode == 0, sub.stderr
        assert f"{action} [-h] [-t TARGET]" in sub.stdout


@pytest.mark.parametrize("args", [
    [],                                    # no SERVER
    [HOST],                                # no PORT
    [HOST, "port"],                        # PORT not a number
    [HOST, "70000", "list-targets"],       # PORT out of range
    ["--timeout", "0", HOST, "1", "list-targets"],
    ["--timeout", "soon", HOST, "1", "list-targets"],
    [HOST, "1", "list-things"],            # unknown action
    [HOST, "1", "call"],                   # no METHOD
    [HOST, "1", "list-targets", "-t", "psu"],
])
def test_usage_errors_exit_2(args):
    r = run_tool(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.startswith("usage: sipyco_rpctool"), r.stderr
    assert "error: " in r.stderr.splitlines()[-1]
    assert "Traceback" not in r.stderr


# ------------------------------------------------------------ list-targets ---

def test_list_targets_one_target_and_description(psu):
    r = run_tool(HOST, psu.port, "list-targets")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == "Target(s): psu\nDescription: pretend bench supply\n"


def test_list_targets_two_targets_no_description(two_targets):
    r = run_tool(HOST, two_targets.port, "list-targets")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == "Target(s): meter, psu\n"


# ------------------------------------------------------------ list-methods ---

def test_list_methods_signatures_and_docstrings(psu):
    r = run_tool(HOST, psu.port, "list-methods")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == PSU_METHODS


def test_list_methods_of_a_chosen_target(two_targets):
    r = run_tool(HOST, two_targets.port, "list-methods", "-t", "meter")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == ("A pretend multimeter.\n\nread(self) -> float\n\n"
                        "terminate()\n    Ask the server to shut down.\n\n")
    r = run_tool(HOST, two_targets.port, "list-methods", "--target", "psu")
    assert (r.returncode, r.stdout) == (0, PSU_METHODS)


# -------------------------------------------------------------------- call ---

@pytest.mark.parametrize(("args", "expected"), [
    (["samples", "7"], np.arange(7) / 2),
    (["add", "1", "2", "3", "4"], 10.0),
    (["configure", "'x'"], {"name": "x", "mode": "fast", "retries": 3, "verbose": False}),
    (["echo", "3 * 4 + 2"], 14),
    (["echo", "-1"], -1),
    (["echo", "'two words'"], "two words"),
    (["echo", "np.array([1.0, 2.0], dtype=float)"], np.array([1.0, 2.0])),
    (["echo", "{'k': (1, 2), 3: {4, 5}, None: [1.5j, True]}"],
     {"k": (1, 2), 3: {4, 5}, None: [1.5j, True]}),
    (["echo", "{n: list(range(n)) for n in range(12)}"],
     {n: list(range(n)) for n in range(12)}),
])
def test_call_pretty_prints_the_result(psu, args, expected):
    r = run_tool(HOST, psu.port, "call", *args)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == pprint.pformat(expected) + "\n"


def test_call_wraps_a_large_dict_over_several_lines(psu):
    r = run_tool(HOST, psu.port, "call", "status")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("\n") > 6
    assert r.stdout == pprint.pformat(STATUS) + "\n"


def test_call_without_result_prints_nothing_and_really_calls(psu):
    r = run_tool(HOST, psu.port, "call", "set_voltage", "11", "2.5")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    r = run_tool(HOST, psu.port, "call", "get_voltage", "11")
    assert (r.returncode, r.stdout) == (0, "2.5\n")


def test_call_with_a_target(two_targets):
    r = run_tool(HOST, two_targets.port, "call", "-t", "meter", "read")
    assert (r.returncode, r.stdout, r.stderr) == (0, "1.25\n", "")
    r = run_tool(HOST, two_targets.port, "call", "--target", "psu", "add", "40")
    assert (r.returncode, r.stdout) == (0, "42.0\n")


def test_timeout_option_lets_a_quick_call_through(psu):
    r = run_tool("--timeout", "30", HOST, psu.port, "call", "sleep", "0.01")
    assert (r.returncode, r.stdout, r.stderr) == (0, "0.01\n", "")


def test_console_script_runs_every_sub_command(psu, tmp_path):
    script = shutil.which("sipyco_rpctool", path=os.path.dirname(sys.executable))
    assert script, "the sipyco_rpctool console script is not installed next to the interpreter"
    r = run_tool(HOST, psu.port, "list-targets", command=[script])
    assert (r.returncode, r.stdout) == (0, "Target(s): psu\nDescription: pretend bench supply\n")
    r = run_tool(HOST, psu.port, "list-methods", command=[script])
    assert (r.returncode, r.stdout) == (0, PSU_METHODS)
    r = run_tool(HOST, psu.port, "call", "status", command=[script])
    assert (r.returncode, r.stdout) == (0, pprint.pformat(STATUS) + "\n")
    r = run_tool("--history", tmp_path / "h", HOST, psu.port, command=[script],
                 stdin_text="add(20, 22)\n")
    assert r.returncode == 0, r.stderr
    assert "\n42.0\n" in r.stdout.replace("psu> ", "\n")
    err = assert_one_line_error(run_tool(HOST, psu.port, "call", "fail", "'bad input'",
                                         command=[script]))
    assert err == "sipyco_rpctool: error: remote ValueError: bad input"


# ---------------------------------------------------------------- failures ---

def test_connection_refused():
    port = _closed_port()
    for action in (["list-targets"], ["call", "echo", "1"], []):
        r = run_tool(HOST, port, *action)
        assert_one_line_error(r, f"cannot connect to {HOST}:{port}", "refused")


def test_timeout_while_connecting():
    # the kernel accepts the connection; nobody ever answers the handshake
    with socket.socket() as silent:
        silent.bind((HOST, 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        r = run_tool("--timeout", "0.3", HOST, port, "list-targets")
    assert_one_line_error(r, "did not answer its handshake within 0.3 s")


def test_timeout_of_a_call(psu):
    r = run_tool("--timeout", "0.3", HOST, psu.port, "call", "sleep", "30")
    assert_one_line_error(r, "no reply within 0.3 s")


def test_not_a_pc_rpc_server():
    r, _ = run_tool_against_banner(b"SSH-2.0-OpenSSH_9.2\r\n", "--timeout", "30")
    assert_one_line_error(r, "is this a pc_rpc server?")


def test_unknown_target(psu, two_targets):
    for action in ("list-methods", "interactive"):
        r = run_tool(HOST, psu.port, action, "-t", "nope")
        assert_one_line_error(r, "no target 'nope'", "psu")
    r = run_tool(HOST, two_targets.port, "call", "-t", "nope", "read")
    assert_one_line_error(r, "no target 'nope'", "meter, psu")


def test_several_targets_need_a_target_option(two_targets):
    for action in (["list-methods"], ["call", "read"], []):
        r = run_tool(HOST, two_targets.port, *action)
        assert_one_line_error(r, "2 targets (meter, psu)", "-t TARGET")


def test_unknown_method(psu):
    r = run_tool(HOST, psu.port, "call", "nope", "1")
    err = assert_one_line_error(r)
    assert err == "sipyco_rpctool: error: target 'psu' has no method 'nope'"
    r = run_tool(HOST, psu.port, "call", "_private")
    assert_one_line_error(r, "cannot call '_private'", "private")


def test_remote_exception(psu):
    err = assert_one_line_error(run_tool(HOST, psu.port, "call", "fail", "'bad input'"))
    assert err == "sipyco_rpctool: error: remote ValueError: bad input"
    err = assert_one_line_error(run_tool(HOST, psu.port, "call", "fail_custom"))
    assert err == "sipyco_rpctool: error: remote InstrumentError: the instrument is on fire"
    # a multi-line message still gives one line
    err = assert_one_line_error(run_tool(HOST, psu.port, "call", "fail", "'two\\nlines'"))
    assert err == "sipyco_rpctool: error: remote ValueError: two lines"
    # wrong arguments: the TypeError the server raised
    assert_one_line_error(run_tool(HOST, psu.port, "call", "get_voltage"),
                          "remote TypeError", "channel")
    # a remote KeyError is a remote failure, not a missing method
    assert_one_line_error(run_tool(HOST, psu.port, "call", "get_voltage", "999"),
                          "remote KeyError: ", "999")


@pytest.mark.parametrize(("args", "fragments"), [
    (["echo", "foo("], ["argument 1", "'foo('", "not a valid Python expression"]),
    (["add", "1", "2 +"], ["argument 2", "'2 +'", "not a valid Python expression"]),
    (["add", "1", "undefined_name"], ["argument 2", "'undefined_name' is not a Python "
                                      "expression"]),
    (["add", "1", "undefined_name + 1"], ["argument 2", "NameError", "undefined_name"]),
    (["echo", "1 / 0"], ["argument 1", "ZeroDivisionError"]),
])
def test_bad_argument_expression(psu, args, fragments):
    assert_one_line_error(run_tool(HOST, psu.port, "call", *args), *fragments)


def test_bad_argument_is_reported_before_connecting():
    # nothing listens on this port: the argument is what is wrong
    r = run_tool(HOST, _closed_port(), "call", "echo", "foo(")
    assert_one_line_error(r, "argument 1")


def test_argument_that_cannot_be_sent(psu):
    assert_one_line_error(run_tool(HOST, psu.port, "call", "echo", "object()"),
                          "cannot send the arguments", "object")


# ------------------------------------------------- interactive without a tty ---

def test_interactive_reads_commands_from_a_pipe(psu, two_targets, tmp_path):
    commands = "\n".join([
        "set_voltage(12, 4.0)",
        "get_voltage(12)",
        "fail('from a pipe')",
        "status()",
        "x = add(1, 2, scale=10)",
        "x",
        "",
    ])
    for port, action in [(psu.port, []), (two_targets.port, ["interactive", "-t", "psu"])]:
        r = run_tool("--history", tmp_path / "hist", HOST, port, *action,
                     stdin_text=commands)
        assert r.returncode == 0, r.stderr
        out = r.stdout.replace("psu> ", "\n")
        assert "\n4.0\n" in out
        assert pprint.pformat(STATUS) + "\n" in out
        assert "\n30\n" in out
        assert "raise ValueError(text)" in r.stderr  # the remote traceback
        assert "remote ValueError: from a pipe" in r.stderr
