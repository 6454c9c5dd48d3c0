"""How sipyco_rpctool writes signatures and method lists, from method lists
made by the pc_rpc server's own introspection (no server needed)."""

from __future__ import annotations

import enum

import pytest

from sipyco._rpc.introspect import argspec, method_list
from sipyco.sipyco_rpctool import describe_target, format_signature, get_argparser, main


class Mode(enum.Enum):
    FAST = 1


class Target:
    """First line.

    Second paragraph.
    """

    def plain(self):
        pass

    def positional(self, a, b=1.5, c: str = "x"):
        """One line."""

    def keyword_only(self, *, key, flag: bool = True, mode=Mode.FAST):
        pass

    def everything(self, a: int, /, b: list | None = None, *rest: float, c,
                   d: dict = {"k": (1, 2)}, **extra: str) -> tuple[int, ...]:  # noqa: B006
        """Line one.

            Indented line.
        Last line."""


@pytest.mark.parametrize(("method", "expected"), [
    (Target().plain, "plain(self)"),
    (Target().positional, "positional(self, a, b=1.5, c: str = 'x')"),
    # a default PYON cannot carry arrives as its repr (a string)
    (Target().keyword_only,
     "keyword_only(self, *, key, flag: bool = True, mode='<Mode.FAST: 1>')"),
    (Target().everything,
     "everything(self, a: int, b: list | None = None, *rest: float, c, "
     "d: dict = {'k': (1, 2)}, **extra: str) -> tuple[int, ...]"),
    (len, "len(obj)"),
])
def test_signature_from_the_servers_argspec(method, expected):
    name = getattr(method, "__name__", "f")
    assert format_signature(name, argspec(method)) == expected


@pytest.mark.parametrize(("spec", "expected"), [
    (None, "f(...)"),
    ("garbage", "f(...)"),
    ({}, "f()"),
    ({"args": ["a"], "defaults": None, "annotations": None}, "f(a)"),
    ({"args": [], "varargs": None, "varkw": "kw", "kwonlyargs": ["k"],
      "kwonlydefaults": None, "annotations": {"return": "None"}}, "f(*, k, **kw) -> None"),
])
def test_signature_from_partial_or_foreign_argspecs(spec, expected):
    assert format_signature("f", spec) == expected


def test_method_list_layout():
    text = describe_target(method_list(Target()))
    assert text.startswith("First line.\n\nSecond paragraph.\n\n")
    assert "positional(self, a, b=1.5, c: str = 'x')\n    One line.\n\n" in text
    assert ("-> tuple[int, ...]\n    Line one.\n\n        Indented line.\n    Last line.\n\n"
            in text)
    assert "plain(self)\n\n" in text
    names = [line.split("(")[0] for line in text.splitlines()
             if line and not line.startswith(" ") and "(" in line]
    assert names == ["everything", "keyword_only", "plain", "positional"]
    assert describe_target({"docstring": None, "methods": {}}) == ""


def test_interactive_is_the_default_action():
    parser = get_argparser()
    args = parser.parse_args(["::1", "3249"])
    assert (args.server, args.port, args.action) == ("::1", 3249, None)
    args = parser.parse_args(["--timeout", "2.5", "h", "1", "call", "-t", "x", "f", "-1", "a b"])
    assert (args.timeout, args.action, args.target, args.method, args.args) == \
        (2.5, "call", "x", "f", ["-1", "a b"])
    assert parser.parse_args(["h", "1"]).history == "~/.sipyco_rpctool_history"


def test_main_returns_the_exit_status(capsys):
    # nothing listens on port 1 of 127.0.0.1
    assert main(["127.0.0.1", "1", "list-targets"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("sipyco_rpctool: error: cannot connect to 127.0.0.1:1")
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
