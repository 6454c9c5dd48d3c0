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


class UpstreamLikeServer:
    """Serves any number of connections, one thread each, as upstream
    ``version`` ("1.8" or "1.10") would for a single target ``dev``."""

    def __init__(self, version: str):
        self.version = version
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
            f.write(encode({"set_voltage", "scale", "broken"}).encode() + b"\n")
            while True:
                line = f.readline()
                if not line:
                    return
                f.write(encode(self._answer(pyon.decode(line.decode()))).encode() + b"\n")

    @staticmethod
    def _answer(request):
        if request["action"] == "get_rpc_method_list":
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
    assert r.stdout == f"dev\nDescription: upstream {upstream.version} stand-in\n"


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
