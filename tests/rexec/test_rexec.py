"""remote_exec against a real controller subprocess made by
simple_rexec_server_loop, and connect_global_rpc reaching a second server
process."""

from __future__ import annotations

import pytest

from sipyco.errors import GenericRemoteException, RemoteError
from sipyco.remote_exec import connect_global_rpc

GETTER = "def get(name):\n    return globals().get(name, 'missing')\n"


def test_targets_and_description(shared_controller, clients):
    c = clients(shared_controller.port, "dev")
    assert c.get_rpc_id() == (["dev", "dev_rexec"], "driver with remote execution")
    rx = clients(shared_controller.port, "dev_rexec")
    methods = rx.get_rpc_method_list()["methods"]
    assert {"add_code", "call"} <= set(methods)


def test_namespaces_are_separate_per_connection(shared_controller, clients):
    a = clients(shared_controller.port, "dev_rexec")
    b = clients(shared_controller.port, "dev_rexec")
    a.add_code(GETTER + "x = 42")
    b.add_code(GETTER)
    assert a.call("get", "x") == 42
    assert b.call("get", "x") == "missing"
    b.add_code("x = 'b'")
    assert (a.call("get", "x"), b.call("get", "x")) == (42, "b")
    # a later connection starts afresh too
    c = clients(shared_controller.port, "dev_rexec")
    with pytest.raises(KeyError):
        c.call("get", "x")  # not even ``get`` exists there
    c.add_code(GETTER)
    assert c.call("get", "x") == "missing"


def test_a_namespace_lives_as_long_as_its_connection(shared_controller, clients):
    a = clients(shared_controller.port, "dev_rexec")
    a.add_code("counter = 0\ndef bump(by=1):\n    global counter\n    counter += by\n"
               "    return counter\n")
    assert [a.call("bump"), a.call("bump", 5), a.call("bump", by=10)] == [1, 6, 16]


def test_controller_driver_is_the_served_driver(shared_controller, clients):
    rx = clients(shared_controller.port, "dev_rexec")
    drv = clients(shared_controller.port, "dev")
    drv.set_setting(3)
    rx.add_code("def through_driver(factor):\n"
                "    return controller_driver.scaled(factor)\n")
    assert rx.call("through_driver", 7) == 21
    rx.add_code("controller_driver.set_setting(11)")
    assert drv.get_setting() == 11
    assert rx.call("through_driver", 2) == 22
    rx.add_code("import os\ndef pid():\n    return os.getpid()\n")
    assert rx.call("pid") == drv.pid() == shared_controller.proc.pid


def test_initial_namespace_is_shared(shared_controller, clients):
    first = clients(shared_controller.port, "dev_rexec")
    first.add_code("controller_initial_namespace['shared_value'] = [1, 'two']")
    first.add_code(GETTER)
    # copied when a namespace is made: not in the existing one's globals...
    assert first.call("get", "shared_value") == "missing"
    later = clients(shared_controller.port, "dev_rexec")
    later.add_code(GETTER)
    # ... but in every later one's
    assert later.call("get", "shared_value") == [1, "two"]
    # and the dict itself is the same object everywhere
    first.add_code("def shared():\n    return controller_initial_namespace.get('late')\n")
    later.add_code("controller_initial_namespace['late'] = 'seen'")
    assert first.call("shared") == "seen"
    first.add_code("def ids():\n"
                   "    return (id(controller_initial_namespace), id(controller_driver))\n")
    later.add_code("def ids():\n"
                   "    return (id(controller_initial_namespace), id(controller_driver))\n")
    assert first.call("ids") == later.call("ids")


def test_call_with_args_and_kwargs(shared_controller, clients):
    rx = clients(shared_controller.port, "dev_rexec")
    rx.add_code("def f(a, b=0, *rest, **kw):\n"
                "    return {'a': a, 'b': b, 'rest': list(rest), 'kw': kw}\n")
    assert rx.call("f", 1, b=2) == {"a": 1, "b": 2, "rest": [], "kw": {}}
    assert rx.call("f", 1, 2, 3, 4, z="z") == {"a": 1, "b": 2, "rest": [3, 4],
                                               "kw": {"z": "z"}}
    rx.add_code("def big(n):\n    return sum(range(n))\n")
    assert rx.call("big", 10**6) == sum(range(10**6))
    assert rx.add_code("pass") is None


def test_remote_exceptions(shared_controller, clients):
    rx = clients(shared_controller.port, "dev_rexec")
    rx.add_code("def divide(a, b):\n    return a / b\n")
    with pytest.raises(ZeroDivisionError) as info:
        rx.call("divide", 1, 0)
    assert isinstance(info.value, ZeroDivisionError)
    assert isinstance(info.value, RemoteError)
    tb = info.value.parent_traceback
    assert isinstance(tb, list) and all(isinstance(line, str) for line in tb)
    assert any("divide" in line for line in tb)
    assert tb[-1].strip() == "ZeroDivisionError: division by zero"

    with pytest.raises(SyntaxError):
        rx.add_code("def (:")
    with pytest.raises(NameError):
        rx.add_code("undefined_name + 1")
    with pytest.raises(KeyError):
        rx.call("no_such_function")

    rx.add_code("class InstrumentError(Exception):\n    pass\n"
                "def fail():\n    raise InstrumentError('laser unlocked')\n")
    with pytest.raises(GenericRemoteException) as info:
        rx.call("fail")
    assert str(info.value).endswith("InstrumentError: laser unlocked")
    # the connection goes on after failures
    assert rx.call("divide", 6, 3) == 2.0


def test_terminate_stops_the_process(controller, clients):
    rx = clients(controller.port, "dev_rexec")
    rx.add_code("x = 1")
    assert rx.terminate() is None
    code, out, err = controller.finish()
    assert code == 0, err
    assert "rexec controller stopped" in out


def test_driver_terminate_stops_the_process(controller, clients):
    drv = clients(controller.port, "dev")
    assert drv.terminate() is None
    code, out, err = controller.finish()
    assert code == 0, err
    assert "rexec controller stopped" in out


# ---- connect_global_rpc ----------------------------------------------------------


@pytest.fixture
def echo(start):
    p = start("echo_server.py")
    p.wait_listening("echo").close_rpc()  # connection number 1
    return p


def test_connect_global_rpc(shared_controller, echo, clients):
    rx = clients(shared_controller.port, "dev_rexec")
    connect_global_rpc(rx, host="127.0.0.1", port=echo.port, target="echo", name="other")
    rx.add_code("def use(v):\n    return other.echo(v)\n"
                "def other_pid():\n    return other.pid()\n"
                "def other_number():\n    return other.connection_number()\n")
    assert rx.call("use", {"k": [1, 2]}) == {"k": [1, 2]}
    assert rx.call("other_pid") == echo.proc.pid
    assert rx.call("other_number") == 2  # after wait_listening's connection

    # a later connection sees the same client in its namespace
    later = clients(shared_controller.port, "dev_rexec")
    later.add_code("def use(v):\n    return other.echo(v)\n"
                   "def other_number():\n    return other.connection_number()\n")
    assert later.call("use", "from later") == "from later"
    assert later.call("other_number") == 2

    # a second call does nothing: no new connection (even to a bogus port),
    # the existing client is kept
    connect_global_rpc(later, host="127.0.0.1", port=echo.port, target="echo", name="other")
    connect_global_rpc(rx, host="127.0.0.1", port=1, target="nothing", name="other")
    assert later.call("other_number") == 2
    assert rx.call("other_number") == 2
    check = clients(echo.port, "echo")
    assert check.connections_so_far() == 3  # wait_listening, the global client, this one


def test_connect_global_rpc_default_host(shared_controller, echo, clients):
    rx = clients(shared_controller.port, "dev_rexec")

    class Recording:
        """The rexec client, recording get_local_host() calls."""

        def __init__(self, client):
            self.client = client
            self.asked = []

        def get_local_host(self):
            host = self.client.get_local_host()
            self.asked.append(host)
            return host

        def add_code(self, code):
            return self.client.add_code(code)

    rec = Recording(rx)
    connect_global_rpc(rec, port=echo.port, target="echo", name="via_default")
    assert rec.asked == ["127.0.0.1"]
    rx.add_code("def use(v):\n    return via_default.echo(v)\n")
    assert rx.call("use", 5) == 5


def test_connect_global_rpc_default_host_plain_client(shared_controller, echo, clients):
    rx = clients(shared_controller.port, "dev_rexec")
    assert rx.get_local_host() == "127.0.0.1"
    connect_global_rpc(rx, port=echo.port, target="echo", name="plain")
    rx.add_code("def use(v):\n    return plain.echo(v)\n")
    assert rx.call("use", [1]) == [1]


def test_connect_global_rpc_unreachable_server(shared_controller, clients):
    """Connecting fails inside the controller: the error comes back, and
    nothing is stored, so a later attempt can succeed."""
    rx = clients(shared_controller.port, "dev_rexec")
    with pytest.raises(ConnectionRefusedError):
        connect_global_rpc(rx, host="127.0.0.1", port=1, target="echo", name="broken")
    rx.add_code(GETTER)
    rx.add_code("def stored():\n    return 'broken' in controller_initial_namespace\n")
    assert rx.call("stored") is False


def test_connect_global_rpc_needs_a_python_name(shared_controller, clients):
    rx = clients(shared_controller.port, "dev_rexec")
    for bad in ["not valid", "1abc", "a-b", "x\nimport os"]:
        with pytest.raises(ValueError):
            connect_global_rpc(rx, port=1, target="echo", name=bad)
