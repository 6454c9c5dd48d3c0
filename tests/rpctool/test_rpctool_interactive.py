"""sipyco_rpctool's interactive mode on a real pseudo-terminal: readline
completion, help, results, remote exceptions, Ctrl-C, Ctrl-D and history."""

from __future__ import annotations

import pprint

from support.rpctool import STATUS, PtySession

HOST = "127.0.0.1"
PROMPT = "psu> "
CTRL_D = "\x04"
UP = "\x1b[A"

ADD_SIGNATURE = "add(self, a: int, b: int = 2, *rest, scale: float = 1.0, **extra) -> float"
ADD_HELP = (f"{ADD_SIGNATURE}\n    Add numbers and scale the sum.\n\n"
            "    Every extra positional argument is added too.\n")


def quit_with_ctrl_d(s: PtySession) -> None:
    s.send(CTRL_D)
    assert s.wait_exit() == 0, s.text()


def command(s: PtySession, line: str, *expected: str) -> str:
    """Type ``line`` and Enter; wait for each expected text, then the prompt."""
    s.send(line + "\r")
    seen = "".join(s.expect(e) for e in expected)
    return seen + s.expect(PROMPT)


def test_banner_prompt_and_ctrl_d_exit_0(psu, pty_tool, tmp_path):
    s = pty_tool("--history", tmp_path / "h", HOST, psu.port)
    s.expect(f"Connected to {HOST}:{psu.port}, target 'psu'")
    s.expect(PROMPT)
    quit_with_ctrl_d(s)


def test_tab_completes_remote_method_names(psu, pty_tool, tmp_path):
    s = pty_tool("--history", tmp_path / "h", HOST, psu.port, "interactive")
    s.expect(PROMPT)
    # ambiguous: a second Tab lists the candidates
    s.send("s\t\t")
    listing = s.expect("status(")
    assert "samples(" in listing and "set_voltage(" in listing and "sleep(" in listing
    s.expect(PROMPT + "s")  # the line is shown again under the list
    s.interrupt(PROMPT)
    # unique: completed at once, and the completed call runs
    s.send("se\t")
    s.expect("set_voltage(")
    command(s, "21, 1.5)")
    s.send("get_v\t")
    s.expect("get_voltage(")
    command(s, "21)", "\n1.5\n")
    quit_with_ctrl_d(s)


def test_help_and_question_mark(psu, pty_tool, tmp_path):
    s = pty_tool("--history", tmp_path / "h", HOST, psu.port)
    s.expect(PROMPT)
    seen = command(s, "help(add)")
    assert ADD_HELP in seen
    seen = command(s, "add?")
    assert ADD_HELP in seen
    seen = command(s, "get_voltage ?")
    assert "get_voltage(self, channel: int) -> float\n    The voltage last set" in seen
    # help() lists every method
    seen = command(s, "help()")
    assert "A pretend power supply with two channels." in seen
    for name in ["add(", "echo(self, x)", "samples(self, n: int = 4)", "status(self)"]:
        assert name in seen
    quit_with_ctrl_d(s)


def test_results_are_pretty_printed(psu, pty_tool, tmp_path):
    s = pty_tool("--history", tmp_path / "h", HOST, psu.port)
    s.expect(PROMPT)
    seen = command(s, "status()")
    assert pprint.pformat(STATUS) + "\n" in seen
    seen = command(s, "samples(3)")
    assert "array([0. , 0.5, 1. ])\n" in seen
    seen = command(s, "set_voltage(22, 3.0)")  # None: nothing printed
    assert seen == "set_voltage(22, 3.0)\n" + PROMPT
    command(s, "v = get_voltage(22) * 2")
    command(s, "v", "\n6.0\n")
    command(s, "echo(np.array([1, 2]) + 1)", "array([2, 3])")
    quit_with_ctrl_d(s)


def test_remote_exception_shows_the_remote_traceback(psu, pty_tool, tmp_path):
    s = pty_tool("--history", tmp_path / "h", HOST, psu.port)
    s.expect(PROMPT)
    seen = command(s, "fail('bad input')")
    tb_start = seen.index("Traceback (most recent call last):")
    assert seen.index("rpctool_controller.py", tb_start) < seen.index("raise ValueError(text)")
    assert "\nremote ValueError: bad input\n" in seen
    # the session goes on, on the same connection
    command(s, "add(40)", "\n42.0\n")
    # a local mistake: its own traceback, and the prompt returns
    seen = command(s, "undefined_name + 1")
    assert "NameError: name 'undefined_name' is not defined" in seen
    s.send("add(1,\r")
    s.expect("add(1,\n... ")  # an unfinished call continues on the next line
    command(s, "scale=2)", "\n6\n")
    seen = command(s, "add(1))")
    assert "SyntaxError" in seen
    quit_with_ctrl_d(s)


def test_ctrl_c_discards_the_half_typed_line(psu, pty_tool, tmp_path):
    s = pty_tool("--history", tmp_path / "h", HOST, psu.port)
    s.expect(PROMPT)
    command(s, "set_voltage(23, 1.0)")
    s.send("set_voltage(23, 9.0")
    s.expect("set_voltage(23, 9.0")
    s.interrupt(PROMPT)
    # the discarded line was not run, and did not stay in the line buffer
    seen = command(s, "get_voltage(23)")
    assert "\n1.0\n" in seen and "9.0" not in seen
    quit_with_ctrl_d(s)


def test_ctrl_c_abandons_a_running_call(psu, pty_tool, tmp_path):
    s = pty_tool("--history", tmp_path / "h", HOST, psu.port)
    s.expect(PROMPT)
    s.send("sleep(600)\r")
    s.expect("sleep(600)\n")
    seen = s.interrupt(PROMPT)
    assert "KeyboardInterrupt" in seen
    # a new connection: the abandoned call's reply can never be taken for this one's
    command(s, "add(40)", "\n42.0\n")
    command(s, "configure('z', retries=1)", "'retries': 1")
    quit_with_ctrl_d(s)


def test_history_persists_and_is_recalled(psu, pty_tool, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    history = home / ".sipyco_rpctool_history"
    s = pty_tool(HOST, psu.port, HOME=str(home))  # the default history file
    s.expect(PROMPT)
    command(s, "set_voltage(24, 2.0)")
    s.send("echo('never run')")
    s.expect("never run')")
    s.interrupt(PROMPT)
    command(s, "add(20, 22)", "\n42.0\n")
    assert not history.exists()  # written on exit
    quit_with_ctrl_d(s)
    assert history.read_text().splitlines()[-2:] == ["set_voltage(24, 2.0)", "add(20, 22)"]
    assert "never run" not in history.read_text()

    # a second session: Up-arrow brings back the last command, Enter runs it
    s = pty_tool(HOST, psu.port, HOME=str(home))
    s.expect(PROMPT)
    s.send(UP)
    s.expect("add(20, 22)")
    s.send("\r")
    s.expect("\n42.0\n")
    s.expect(PROMPT)
    s.send(UP + UP)
    s.expect("set_voltage(24, 2.0)")
    s.interrupt(PROMPT)
    quit_with_ctrl_d(s)
    assert history.read_text().splitlines()[-2:] == ["set_voltage(24, 2.0)", "add(20, 22)"]

    # --history names another file
    other = tmp_path / "other_history"
    s = pty_tool("--history", other, HOST, psu.port, HOME=str(home))
    s.expect(PROMPT)
    s.send(UP)  # nothing to recall: the line stays empty
    command(s, "echo(7)", "\n7\n")
    quit_with_ctrl_d(s)
    assert other.read_text().splitlines() == ["echo(7)"]


def test_lost_connection_is_reported_and_the_prompt_stays(fresh_psu, pty_tool, tmp_path):
    s = pty_tool("--history", tmp_path / "h", HOST, fresh_psu.port)
    s.expect(PROMPT)
    command(s, "terminate()")
    assert fresh_psu.proc.wait(20) is not None
    seen = command(s, "add(1)")
    assert "connection error: " in seen
    seen = command(s, "add(1)")  # reconnecting fails too: the server is gone
    assert "connection error: " in seen and "cannot connect" in seen
    assert "Traceback" not in seen
    quit_with_ctrl_d(s)
