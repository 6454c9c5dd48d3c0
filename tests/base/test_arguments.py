"""sipyco.arguments: signatures as text, as Python's removed
``inspect.formatargspec`` wrote them, and as pc_rpc method lists describe them."""

import collections
import inspect

import pytest

import sipyco.arguments
from sipyco.arguments import format_argspec_dict, formatargspec


# No "from __future__ import annotations" in this module: annotations are
# objects, except where a function writes them as strings on purpose.
def f_none():
    pass


def f_one(a):
    pass


def f_two(a, b):
    pass


def f_default(a, b=1):
    pass


def f_defaults(a=None, b="it's", c=(1, 2), d=-1.5):
    pass


def f_varargs(*args):
    pass


def f_varkw(**kw):
    pass


def f_var_both(a, *args, **kw):
    pass


def f_kwonly(a, *, b):
    pass


def f_kwonly_defaults(a, *, b=2, c):
    pass


def f_varargs_and_kwonly(*args, b, c=3, **kw):
    pass


def f_posonly(a, /, b):
    pass


def f_every_kind(a, b=1, /, c=2, *args, d, e=3, **kw):
    pass


def f_annotated(a: int, b: str = "s") -> bool:
    pass


def f_annotated_var(*args: int, **kw: float) -> None:
    pass


def f_annotated_kwonly(a: list, *, k: dict = None, flag: bool):
    pass


def f_qualified(m: collections.OrderedDict) -> collections.Counter:
    pass


def f_string_annotated(a: "int", b: "str" = "s") -> "bool":
    pass


def f_builtin_default(key=len):
    pass


class Thing:
    def method(self, a, b=2):
        pass

    @staticmethod
    def static(x, *, y):
        pass


FUNCTIONS = [
    # (function, what inspect.formatargspec gave for it, signature-compatible)
    # signature-compatible: str(inspect.signature(f)) writes the same thing
    (f_none, "()", True),
    (f_one, "(a)", True),
    (f_two, "(a, b)", True),
    (f_default, "(a, b=1)", True),
    (f_defaults, "(a=None, b=\"it's\", c=(1, 2), d=-1.5)", True),
    (f_varargs, "(*args)", True),
    (f_varkw, "(**kw)", True),
    (f_var_both, "(a, *args, **kw)", True),
    (f_kwonly, "(a, *, b)", True),
    (f_kwonly_defaults, "(a, *, b=2, c)", True),
    (f_varargs_and_kwonly, "(*args, b, c=3, **kw)", True),
    (lambda x, y=2: x, "(x, y=2)", True),
    (Thing().method, "(self, a, b=2)", False),  # signature() leaves out the bound self
    (Thing.method, "(self, a, b=2)", True),
    (Thing.static, "(x, *, y)", True),
    (f_builtin_default, "(key=<built-in function len>)", True),
    (f_annotated_var, "(*args: int, **kw: float) -> None", True),
    (f_qualified,
     "(m: collections.OrderedDict) -> collections.Counter", True),
    # getfullargspec has no positional-only marker: no "/"
    (f_posonly, "(a, b)", False),
    (f_every_kind, "(a, b=1, c=2, *args, d, e=3, **kw)", False),
    # an annotated parameter's default: "=" without spaces
    (f_annotated, "(a: int, b: str='s') -> bool", False),
    (f_annotated_kwonly, "(a: list, *, k: dict=None, flag: bool)",
     False),
    # annotations that are strings are written as their repr
    (f_string_annotated, "(a: 'int', b: 'str'='s') -> 'bool'", False),
]


@pytest.mark.parametrize(("function", "expected", "like_signature"), FUNCTIONS)
def test_formatargspec_of_real_functions(function, expected, like_signature):
    assert formatargspec(*inspect.getfullargspec(function)) == expected
    if like_signature:
        assert str(inspect.signature(function)) == expected


def test_formatargspec_keyword_arguments_and_defaults():
    assert formatargspec([]) == "()"
    assert formatargspec(["a", "b"], defaults=(1,)) == "(a, b=1)"
    assert formatargspec([], "args", "kw") == "(*args, **kw)"
    assert formatargspec(["a"], kwonlyargs=["k"]) == "(a, *, k)"
    assert formatargspec(["a"], kwonlyargs=["k"], kwonlydefaults=None) == "(a, *, k)"
    assert formatargspec(["a"], kwonlyargs=["k"], kwonlydefaults={"k": "v"}) == "(a, *, k='v')"
    assert formatargspec(["a", "b"], "args", "kw", (1,), ["c"], {}, {"b": int}) == \
        "(a, b: int=1, *args, c, **kw)"
    # an annotation of None is still an annotation, as it was for inspect
    assert formatargspec(["a"], annotations={"a": None, "return": None}) == "(a: None) -> None"
    assert formatargspec(["a"], annotations={"return": "x"}) == "(a) -> 'x'"


def test_formatargspec_keeps_the_historical_signature():
    params = inspect.signature(formatargspec).parameters
    assert list(params) == ["args", "varargs", "varkw", "defaults", "kwonlyargs",
                            "kwonlydefaults", "annotations"]
    assert [p.default for p in list(params.values())[1:]] == [None, None, None, (), {}, {}]


# ---------------------------------------------------------------- dict form ---

def _method_list_argspec(function) -> dict:
    """The argspec dict a pc_rpc server sends: getfullargspec's fields,
    annotations written as text."""
    spec = inspect.getfullargspec(function)._asdict()
    spec["annotations"] = {key: inspect.formatannotation(value)
                           for key, value in spec["annotations"].items()}
    return spec


@pytest.mark.parametrize(("function", "expected"), [
    (f_none, "f()"),
    (f_defaults, "f(a=None, b=\"it's\", c=(1, 2), d=-1.5)"),
    (f_varargs_and_kwonly, "f(*args, b, c=3, **kw)"),
    (f_every_kind, "f(a, b=1, c=2, *args, d, e=3, **kw)"),
    (Thing().method, "f(self, a, b=2)"),
    # an annotated parameter's default: " = ", as inspect.Signature writes it
    (f_annotated, "f(a: int, b: str = 's') -> bool"),
    (f_annotated_kwonly, "f(a: list, *, k: dict = None, flag: bool)"),
    (f_qualified,
     "f(m: collections.OrderedDict) -> collections.Counter"),
])
def test_format_argspec_dict_of_real_functions(function, expected):
    assert format_argspec_dict("f", _method_list_argspec(function)) == expected


@pytest.mark.parametrize("function", [f for f, _, like in FUNCTIONS if like])
def test_format_argspec_dict_writes_what_signature_writes(function):
    assert format_argspec_dict("g", _method_list_argspec(function)) == \
        "g" + str(inspect.signature(function))


@pytest.mark.parametrize(("spec", "expected"), [
    # as upstream servers send it: defaults a tuple, kwonlydefaults None
    ({"args": ["self", "x", "factor"], "varargs": None, "varkw": None, "defaults": (2,),
      "kwonlyargs": [], "kwonlydefaults": None, "annotations": {}},
     "f(self, x, factor=2)"),
    ({"args": ["self", "channel"], "annotations": {"channel": "int", "return": "None"}},
     "f(self, channel: int) -> None"),
    # missing or None fields mean none
    ({}, "f()"),
    ({"args": ["a"], "defaults": None, "annotations": None}, "f(a)"),
    ({"args": [], "varargs": None, "varkw": "kw", "kwonlyargs": ["k"],
      "kwonlydefaults": None, "annotations": {"return": "None"}}, "f(*, k, **kw) -> None"),
    # annotations are text already: written as they are, and None ones left out
    ({"args": ["a", "b"], "annotations": {"a": "list[int]", "b": None, "return": None}},
     "f(a: list[int], b)"),
    ({"args": ["a"], "varargs": "", "varkw": ""}, "f(a)"),
    # not an argspec dict
    (None, "f(...)"),
    ("garbage", "f(...)"),
    ((["a"], None), "f(...)"),
    ({"args": [1, 2]}, "f(...)"),
    ({"args": ["a"], "defaults": 5}, "f(...)"),
    ({"args": ["a"], "annotations": ["a"]}, "f(...)"),
    ({"args": ["a"], "varargs": 3}, "f(...)"),
])
def test_format_argspec_dict_of_partial_or_foreign_specs(spec, expected):
    assert format_argspec_dict("f", spec) == expected


def test_public_names():
    assert sipyco.arguments.__all__ == ["formatargspec", "format_argspec_dict"]
    for name in sipyco.arguments.__all__:
        assert getattr(sipyco.arguments, name).__doc__
