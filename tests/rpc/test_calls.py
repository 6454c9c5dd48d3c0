"""Calls through every client kind, over PYON v1 (a 1.8-style server) and v2."""

from __future__ import annotations

import json
from collections import OrderedDict
from fractions import Fraction

import numpy
import pytest
from support.rpc_annotations import Postponed
from support.rpc_targets import Counter, Echo

from sipyco.errors import GenericRemoteException, IncompatibleServer, RPCError
from sipyco.pc_rpc import AutoTarget


@pytest.fixture
def echo_port(serve, pyon_version):
    return serve({"echo": Echo()}, advertise_v2=(pyon_version == "v2")).port


VALUES = [
    None, True, 42, -7, 2**70, 1.5, float("inf"), 1 - 9j, "h\u00e9llo \U0001F600",
    b"ab\x00\xff", (1, 2), (1,), (), [1, [2, (3,)]], {1, 2}, set(),
    {1: "a", (2, 3): "b", 2.5: None, "s": [1]}, Fraction(3, 4), slice(1, 2, None),
    OrderedDict([("b", 1), ("a", 2)]),
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_echo_preserves_values_and_types(connect, echo_port, value):
    c = connect(echo_port)
    back = c.echo(value)
    assert back == value
    assert type(back) is type(value)


def test_echo_numpy(connect, echo_port):
    c = connect(echo_port)
    arrays = [numpy.arange(12, dtype=">i4").reshape(3, 4), numpy.zeros((0, 3)),
              numpy.array(2.5), numpy.linspace(0, 1, 7)[::2], numpy.array([True, False])]
    for a in arrays:
        b = c.echo(a)
        assert b.dtype == a.dtype and b.shape == a.shape
        assert numpy.array_equal(a, b)
    s = c.echo(numpy.float32(1.25))
    assert type(s) is numpy.float32 and s == 1.25


def test_kwargs_and_defaults(connect, echo_port):
    c = connect(echo_port)
    assert c.add(1) == 3
    assert c.add(1, 1, 1, 1, scale=2.0) == 8.0


def test_builtin_remote_exception_keeps_class_and_traceback(connect, echo_port):
    c = connect(echo_port)
    with pytest.raises(ValueError, match="^bad input$") as info:
        c.fail_value("bad input")
    tb = info.value.parent_traceback
    assert isinstance(tb, list) and any("fail_value" in line for line in tb)
    with pytest.raises(FileNotFoundError):
        c.fail_os()
    assert c.echo(1) == 1  # the connection is fine afterwards


def test_other_remote_exceptions_are_generic(connect, echo_port):
    c = connect(echo_port)
    with pytest.raises(GenericRemoteException) as info:
        c.fail_custom()
    assert str(info.value) == "support.rpc_targets.CustomError: custom trouble"
    assert any("fail_custom" in line for line in info.value.parent_traceback)
    assert isinstance(info.value, RPCError)


def test_unknown_method_is_attribute_error(connect, echo_port):
    c = connect(echo_port)
    with pytest.raises(AttributeError):
        c.no_such_method()
    assert c.echo("still here") == "still here"


def test_unencodable_return_value_is_reported(connect, echo_port):
    c = connect(echo_port)
    with pytest.raises(TypeError, match="object"):
        c.return_object()
    assert c.echo(5) == 5


def test_unencodable_argument_raises_locally(connect, echo_port):
    c = connect(echo_port)
    with pytest.raises(TypeError, match=r"^argument 1 of echo\(\): cannot encode a value "
                                        r"of type object$") as info:
        c.echo(object())
    assert info.value.path == 'x["args"][0]'
    assert c.echo(6) == 6


def test_method_list(connect, echo_port):
    c = connect(echo_port)
    ml = c.get_rpc_method_list()
    assert ml["docstring"] == "A target that returns what it is given."
    methods = ml["methods"]
    assert "_private" not in methods and "echo" in methods
    spec, doc = methods["add"]
    assert set(spec) == {"args", "varargs", "varkw", "defaults", "kwonlyargs",
                         "kwonlydefaults", "annotations"}
    assert spec["args"] == ["self", "a", "b"] and spec["varargs"] == "rest"
    assert spec["defaults"] == (2,) and spec["kwonlydefaults"] == {"scale": 1.0}
    assert spec["annotations"] == {"a": "int", "b": "int", "scale": "float", "return": "float"}
    assert methods["echo"][1] == "Return x unchanged."
    assert methods["annotated"][0]["annotations"] == {
        "a": "list[int]", "b": "Optional[int]", "return": "dict[str, float]"}


def test_method_list_with_postponed_annotations(serve, connect, pyon_version):
    port = serve({"p": Postponed()}, advertise_v2=(pyon_version == "v2")).port
    spec, doc = connect(port).get_rpc_method_list()["methods"]["method"]
    assert spec["annotations"] == {"x": "SomeUndefinedType", "y": "list[int] | None",
                                   "return": "Whatever"}
    assert doc == "Annotations here are never evaluated."


def test_targets_and_selection(serve, connect, pyon_version):
    port = serve({"a": Echo(), "b": Echo()}, description="two of them",
                 advertise_v2=(pyon_version == "v2")).port
    with pytest.raises(IncompatibleServer):
        connect(port)  # AutoTarget with two targets
    with pytest.raises(IncompatibleServer):
        connect(port, "c")
    c = connect(port, None)
    assert c.get_rpc_id() == (["a", "b"], "two of them")
    assert c.get_selected_target() is None
    c.select_rpc_target("b")
    assert c.get_selected_target() == "b"
    assert c.echo([1]) == [1]
    assert c.get_local_host() == "127.0.0.1"


def test_callable_target_is_made_per_connection(serve, connect, pyon_version):
    port = serve({"counter": Counter}, advertise_v2=(pyon_version == "v2")).port
    c1, c2 = connect(port), connect(port)
    assert [c1.incr(), c1.incr(), c2.incr()] == [1, 2, 1]


def test_coroutine_methods_are_awaited(connect, echo_port):
    assert connect(echo_port).slow((1, "x")) == (1, "x")


def test_builtin_terminate(serve, connect, pyon_version):
    st = serve({"echo": Echo()}, builtin_terminate=True, advertise_v2=(pyon_version == "v2"))
    c = connect(st.port)
    assert "terminate" in c.get_rpc_method_list()["methods"]
    assert c.terminate() is None
    st.run(st.server.wait_terminate(), timeout=10)


def test_auto_target_name_is_a_class():
    assert isinstance(AutoTarget, type)


def test_identification_is_plain_json(serve):
    import socket
    port = serve({"z": Echo(), "a": Echo()}, description="d").port
    with socket.create_connection(("127.0.0.1", port), 10) as s:
        s.sendall(b"ARTIQ pc_rpc\n")
        line = s.makefile("rb").readline()
    assert json.loads(line) == {"targets": ["a", "z"], "description": "d",
                                "features": ["pyon_v2"]}


@pytest.mark.parametrize("targets", [{}, {"two words": Echo()}, {"": Echo()}, [Echo()]])
def test_server_refuses_bad_targets(targets):
    from sipyco.pc_rpc import Server
    with pytest.raises(ValueError):
        Server(targets)
