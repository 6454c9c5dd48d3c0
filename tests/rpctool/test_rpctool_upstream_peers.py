"""sipyco_rpctool against hand-written servers that speak exactly as upstream
sipyco 1.8 (no ``features``, PYON v1 only, any unknown word after the target
closes the connection) and 1.10 (offers ``pyon_v2``) do, per WIRE.md.

The scripted server records the selection line of every connection, so each
test also checks which format the tool chose."""

from __future__ import annotations

import json
import pprint
import socket
import threading

import numpy as np
import pytest
from support.rpctool import assert_one_line_error, run_tool

from sipyco import pyon

HOST = "127.0.0.1"

ARGSPEC_SET = {"args": ["self", "channel", "volts"], "varargs": None, "varkw": None,
               "defaults": None, "kwonlyargs": [], "kwonlydefaults": None,
               "annotations": {"channel": "int", "volts": "float", "return": "None"}}
ARGSPEC_SCALE = {"args": ["self", "x", "factor"], "varargs": None, "varkw": None,
                 "defaults": (2,), "kwonlyargs": [], "kwonlydefaults": None,
                 "annotations": {}}
METHOD_LIST = {
    "docstring": "Scripted instrument.",
    "methods": {
        "set_voltage": (ARGSPEC_SET, "Set one channel."),
        "scale": (ARGSPEC_SCALE, "Multiply x by factor."),
        "broken": ({"args": ["self"], "varargs": None, "varkw": None, "defaults": None,
                    "kwonlyargs": [], "kwonlydefaults": None, "annotations": {}}, None),
    },
}
REMOTE_TRACEBACK = ["Traceback (most recent call last):\n",
                    '  File "/opt/lab/scripted.py", line 12, in broken\n'
                    "    raise RuntimeError('relay stuck')\n",
                    "RuntimeError: relay stuck\n"]


#: what an upstream 1.10 server answers get_rpc_method_list with for a
#: target it cannot describe (a union annotation)
METHOD_LIST_FAILURE = {"status": "failed", "exception": {
    "class": "TypeError", "message": "`int | None` (<class 'types.UnionType'>) is not "
                                     "PYON serializable",
    "traceback": ["Traceback (most recent call last):\n",
                  "TypeError: `int | None` (<class 'types.UnionType'>) is not PYON "
                  "serializable\n"]}}


class UpstreamLikeServer:
    """Serves any number of connections, one thread each, as upstream
    ``version`` ("1.8" or "1.10") would for a single target ``dev``.

    ``method_list``: "ok"; "fails", answered as METHOD_LIST_FAILURE; or
    "malformed", a list.  ``names``: whether the method names are announced
    after target selection (else None is sent in their place)."""

    def __init__(self, version: str, method_list: str = "ok", names: bool = True):
        self.version = version
        self.method_list = method_list
        self.names = names
        self.selections: list[bytes] = []
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn, conn.makefile("rwb", buffering=0) as f:
            if f.readline() != b"ARTIQ pc_rpc\n":
                return
            ident = {"targets": ["dev"], "description": f"upstream {self.version} stand-in"}
            if self.version == "1.10":
                ident["features"] = ["pyon_v2"]
            f.write(json.dumps(ident).encode() + b"\n")
            selection = f.readline()
            self.selections.append(selection)
            words = selection.split()
            allowed = [[b"dev"]] + ([[b"dev", b"pyon_v2"]] if self.version == "1.10" else [])
            if words not in allowed:
                return  # what upstream does: hang up
            encode = pyon.encode_v2 if len(words) == 2 else pyon.encode
            names = {"set_voltage", "scale", "broken"} if self.names else None
            f.write(encode(names).encode() + b"\n")
            while True:
                line = f.readline()
                if not line:
                    return
                f.write(encode(self._answer(pyon.decode(line.decode()))).encode() + b"\n")

    def _answer(self, request):
        if request["action"] == "get_rpc_method_list":
            if self.method_list == "fails":
                return METHOD_LIST_FAILURE
            if self.method_list == "malformed":
                return {"status": "ok", "ret": ["set_voltage", "scale"]}
            return {"status": "ok", "ret": METHOD_LIST}
        name, args = request["name"], request["args"]
        if name == "set_voltage":
            return {"status": "ok", "ret": None}
        if name == "scale":
            factor = args[1] if len(args) > 1 else 2
            return {"status": "ok", "ret": {"x": args[0], "scaled": args[0] * factor}}
        if name == "broken":
            return {"status": "failed", "exception": {
                "class": "GenericRemoteException",
                "message": "scripted.RelayError: relay stuck",
                "traceback": REMOTE_TRACEBACK}}
        return {"status": "failed", "exception": {
            "class": "AttributeError", "message": f"'Dev' object has no attribute '{name}'",
            "traceback": ["AttributeError\n"]}}

    def close(self):
        self.sock.close()


@pytest.fixture(params=["1.8", "1.10"])
def upstream(request):
    srv = UpstreamLikeServer(request.param)
    yield srv
    srv.close()


def _expected_selection(srv) -> bytes:
    return b"dev pyon_v2\n" if srv.version == "1.10" else b"dev\n"


def test_list_targets(upstream):
    r = run_tool("--timeout", "20", HOST, upstream.port, "list-targets")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"Target(s): dev\nDescription: upstream {upstream.version} stand-in\n"


def test_list_methods(upstream):
    r = run_tool("--timeout", "20", HOST, upstream.port, "list-methods")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        "Scripted instrument.\n\n"
        "broken(self)\n\n"
        "scale(self, x, factor=2)\n    Multiply x by factor.\n\n"
        "set_voltage(self, channel: int, volts: float) -> None\n    Set one channel.\n\n")
    assert upstream.selections == [_expected_selection(upstream)]


def test_call_with_numpy_argument(upstream):
    r = run_tool("--timeout", "20", HOST, upstream.port, "call", "scale",
                 "np.arange(3, dtype=np.int32)", "3")
    assert r.returncode == 0, r.stderr
    expected = {"x": np.arange(3, dtype=np.int32), "scaled": np.arange(3, dtype=np.int32) * 3}
    assert r.stdout == pprint.pformat(expected) + "\n"
    r = run_tool(HOST, upstream.port, "call", "set_voltage", "1", "2.5")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert upstream.selections == [_expected_selection(upstream)] * 2


def test_remote_failures(upstream):
    err = assert_one_line_error(run_tool(HOST, upstream.port, "call", "broken"))
    assert err == "sipyco_rpctool: error: remote scripted.RelayError: relay stuck"
    err = assert_one_line_error(run_tool(HOST, upstream.port, "call", "missing"))
    assert err == "sipyco_rpctool: error: target 'dev' has no method 'missing'"


def test_interactive_shows_the_remote_traceback(upstream, tmp_path):
    r = run_tool("--history", tmp_path / "h", HOST, upstream.port,
                 stdin_text="scale(21)\nbroken()\n")
    assert r.returncode == 0, r.stderr
    assert "{'scaled': 42, 'x': 21}" in r.stdout
    assert "".join(REMOTE_TRACEBACK) in r.stderr
    assert "remote scripted.RelayError: relay stuck" in r.stderr


# ------------------------------- a server that cannot describe its methods ---
# Upstream 1.10 servers fail building the method list of a target with
# "-> None" or union annotations and answer get_rpc_method_list with an
# exception; the method names sent at target selection are unaffected.

WARNING = ("sipyco_rpctool: warning: the server could not describe its methods (remote "
           "TypeError: `int | None` (<class 'types.UnionType'>) is not PYON serializable)")
PROMPT = "dev> "


@pytest.fixture(params=["1.8", "1.10"])
def undescribed(request):
    srv = UpstreamLikeServer(request.param, method_list="fails")
    yield srv
    srv.close()


def _command(s, line: str, *expected: str) -> str:
    s.send(line + "\r")
    seen = "".join(s.expect(e) for e in expected)
    return seen + s.expect(PROMPT)


def test_interactive_without_a_method_list_warns_and_calls_by_name(undescribed, pty_tool,
                                                                  tmp_path):
    s = pty_tool("--history", tmp_path / "h", HOST, undescribed.port)
    seen = s.expect(PROMPT)
    assert WARNING + ": help is unavailable (Tab completes the method names)\n" in seen
    assert "Traceback" not in seen
    assert "target 'dev': 3 remote method(s), without descriptions." in seen
    _command(s, "scale(21)", "\n{'scaled': 42, 'x': 21}\n")
    seen = _command(s, "set_voltage(0, 1.5)")  # None: nothing printed
    assert seen == "set_voltage(0, 1.5)\n" + PROMPT
    seen = _command(s, "help()")
    assert "Method descriptions are unavailable: the server could not describe its " \
           "methods (remote TypeError: " in seen
    assert "Its methods, called by name: broken, scale, set_voltage\n" in seen
    seen = _command(s, "help(scale)")
    assert "scale(...)\n    (no description: the server could not describe its methods)" \
        in seen
    _command(s, "scale?", "(no description")
    # Tab completes the announced names
    s.send("sc\t")
    s.expect("scale(")
    _command(s, "2, 5)", "\n{'scaled': 10, 'x': 2}\n")
    # remote exceptions, builtins and local names as ever; unknown names are local errors
    seen = _command(s, "broken()")
    assert "".join(REMOTE_TRACEBACK) in seen and "remote scripted.RelayError" in seen
    _command(s, "print(len([scale(i)['scaled'] for i in range(3)]))", "\n3\n")
    _command(s, "f = lambda x: scale(x, 3)['scaled']")
    _command(s, "f(4)", "\n12\n")
    seen = _command(s, "missing()")
    assert "NameError: name 'missing' is not defined" in seen
    s.send("\x04")
    assert s.wait_exit() == 0, s.text()
    assert undescribed.selections == [_expected_selection(undescribed)]


def test_interactive_without_method_names_either(pty_tool, tmp_path):
    srv = UpstreamLikeServer("1.10", method_list="fails", names=False)
    try:
        s = pty_tool("--history", tmp_path / "h", HOST, srv.port)
        seen = s.expect(PROMPT)
        assert WARNING + ": help and completion are unavailable\n" in seen
        assert "its methods are neither described nor named" in seen
        _command(s, "scale(21)", "\n{'scaled': 42, 'x': 21}\n")
        seen = _command(s, "help()")
        assert "Their names are unknown too: call them by name all the same." in seen
        _command(s, "print(abs(-2))", "\n2\n")  # builtins are never remote
        # any other name is tried on the server, which says
        seen = _command(s, "missing()")
        assert "remote AttributeError: 'Dev' object has no attribute 'missing'" in seen
        s.send("\x04")
        assert s.wait_exit() == 0, s.text()
    finally:
        srv.close()


def test_list_methods_without_a_method_list_is_one_line(undescribed):
    err = assert_one_line_error(run_tool(HOST, undescribed.port, "list-methods"))
    assert err == (
        "sipyco_rpctool: error: the server could not describe its methods (remote "
        "TypeError: `int | None` (<class 'types.UnionType'>) is not PYON serializable); "
        "its methods can still be called, with 'call' or at the interactive prompt")


def test_call_without_a_method_list(undescribed):
    r = run_tool("--timeout", "20", HOST, undescribed.port, "call", "scale", "4", "3")
    assert (r.returncode, r.stdout, r.stderr) == (0, "{'scaled': 12, 'x': 4}\n", "")
    err = assert_one_line_error(run_tool(HOST, undescribed.port, "call", "missing"))
    assert err.startswith("sipyco_rpctool: error: target 'dev' has no method 'missing'")


def test_a_malformed_method_list(tmp_path):
    srv = UpstreamLikeServer("1.10", method_list="malformed")
    try:
        err = assert_one_line_error(run_tool(HOST, srv.port, "list-methods"))
        assert err.startswith("sipyco_rpctool: error: the server could not describe its "
                              "methods (it sent a malformed method list); ")
        r = run_tool("--history", tmp_path / "h", HOST, srv.port, stdin_text="scale(21)\n")
        assert r.returncode == 0, r.stderr
        assert r.stderr.startswith(
            "sipyco_rpctool: warning: the server could not describe its methods (it sent "
            "a malformed method list): help is unavailable (Tab completes the method "
            "names)\n")
        assert "{'scaled': 42, 'x': 21}" in r.stdout
    finally:
        srv.close()
