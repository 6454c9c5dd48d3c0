"""Upstream's client semantics: only the target's methods exist as
attributes (checked against the method list the server sends at selection,
before any call); FFProxy forwards every name; Server._document_function."""

from __future__ import annotations

import asyncio
import json

import pytest
from support.net import free_port
from support.peers import ScriptedServer
from support.rpc_targets import Echo

from sipyco import pyon
from sipyco.fire_and_forget import FFProxy
from sipyco.pc_rpc import AsyncioClient, BestEffortClient, Client, Server


def test_an_unknown_name_fails_at_lookup_naming_close_matches(serve, connect):
    port = serve({"psu": Echo()}).port
    c = connect(port)
    with pytest.raises(AttributeError) as info:
        c.ech  # noqa: B018 - the lookup alone must fail
    assert str(info.value) == "target 'psu' has no method 'ech'; did you mean 'echo'?"
    with pytest.raises(AttributeError, match="^target 'psu' has no method 'zzz'$"):
        c.zzz  # noqa: B018
    assert not hasattr(c, "no_such_method")
    assert c.echo(5) == 5  # nothing was sent for the failed lookups


def test_builtin_terminate_is_listed_when_offered(serve, connect):
    with_terminate = serve({"psu": Echo()}, builtin_terminate=True).port
    without = serve({"psu": Echo()}).port
    assert callable(connect(with_terminate).terminate)
    with pytest.raises(AttributeError, match="no method 'terminate'"):
        connect(without).terminate  # noqa: B018


def test_before_selection_every_name_fails(serve):
    port = serve({"a": Echo(), "b": Echo()}).port
    with Client("127.0.0.1", port, None) as c:
        with pytest.raises(AttributeError, match="no target is selected"):
            c.echo  # noqa: B018
        c.select_rpc_target("b")
        assert c.echo(1) == 1

    async def run():
        ac = AsyncioClient()
        with pytest.raises(AttributeError, match="not connected"):
            ac.echo  # noqa: B018
        await ac.connect_rpc("127.0.0.1", port, None)
        try:
            with pytest.raises(AttributeError, match="no target is selected"):
                ac.echo  # noqa: B018
            await ac.select_rpc_target("a")
            with pytest.raises(AttributeError, match="did you mean 'echo'"):
                ac.echoo  # noqa: B018
            assert await ac.echo(2) == 2
        finally:
            ac.close_rpc()
    asyncio.run(run())


def test_upstream_style_await_of_a_missing_method_is_attribute_error(serve):
    """Upstream's own test awaits ``remote.non_existing_method``: the lookup
    must raise AttributeError, not hand back something awaiting fails on."""
    port = serve({"psu": Echo()}).port

    async def run():
        ac = AsyncioClient()
        await ac.connect_rpc("127.0.0.1", port)
        try:
            with pytest.raises(AttributeError):
                await ac.non_existing_method
        finally:
            ac.close_rpc()
    asyncio.run(run())


def test_best_effort_client_checks_the_list_while_connected(serve):
    port = serve({"psu": Echo()}).port
    with BestEffortClient("127.0.0.1", port, "psu", retry=3600) as c:
        assert c.echo(3) == 3
        with pytest.raises(AttributeError, match="did you mean 'echo'"):
            c.echoo  # noqa: B018


def test_best_effort_client_while_disconnected_lets_names_through():
    port = free_port()  # nobody listens
    with BestEffortClient("127.0.0.1", port, "psu", firstcon_timeout=1, retry=3600) as c:
        assert c.anything(1) is None  # no list to check without a connection


def _server_sending(method_list_line):
    ident = json.dumps({"targets": ["dev"], "description": None}).encode() + b"\n"

    def script(peer):
        peer.line()
        peer.send(ident)
        peer.line()
        peer.send(method_list_line)
        line = peer.line()
        if not line:
            return  # the client looked the name up and sent nothing
        request = pyon.decode(line.decode())
        peer.send(pyon.encode({"status": "ok", "ret": request["name"]}).encode() + b"\n")
        peer.until_closed()
    return script


@pytest.mark.parametrize("line, allowed", [
    (b"null\n", True),                # no list: every name goes to the server
    (b"{}\n", False),                 # 1.8's empty set, written as an empty dict
    (b'{"anything_else"}\n', False),
])
def test_what_a_scripted_server_lists_decides(line, allowed):
    with ScriptedServer(_server_sending(line)) as server:
        with Client("127.0.0.1", server.port, "dev") as c:
            if allowed:
                assert c.whatever() == "whatever"
            else:
                with pytest.raises(AttributeError, match="has no method 'whatever'"):
                    c.whatever  # noqa: B018


class Target:
    def __init__(self):
        self.calls = []

    def _set_ok(self, value):
        self.calls.append(("_set_ok", value))

    def public(self):
        self.calls.append(("public",))


def test_ffproxy_forwards_private_names_too():
    target = Target()
    proxy = FFProxy(target)
    proxy._set_ok(1)
    proxy.ff_join()
    proxy.public()
    proxy.ff_join()
    assert target.calls == [("_set_ok", 1), ("public",)]
    with pytest.raises(AttributeError):
        proxy.__deepcopy__  # noqa: B018 - special names stay the proxy's own


def plain(a, b=2, *args, c, d=4, **kw):
    """Some text."""


def annotated(x: list[int], y: SomethingUndefined = None,  # noqa: F821
              z: None = None, w: int | str = 1) -> None:
    pass


def test_document_function_gives_argspec_and_docstring():
    spec, doc = Server._document_function(plain)
    assert doc == "Some text."
    assert spec == {"args": ["a", "b"], "varargs": "args", "varkw": "kw", "defaults": (2,),
                    "kwonlyargs": ["c", "d"], "kwonlydefaults": {"d": 4}, "annotations": {}}
    spec, doc = Server._document_function(annotated)
    assert doc is None
    assert spec["annotations"] == {"x": "list[int]", "y": "SomethingUndefined", "z": "None",
                                   "w": "int | str", "return": "None"}
    pyon.encode(spec)
    pyon.encode_v2(spec)  # both PYON-encodable, never a crash


def test_document_function_is_what_the_method_list_says(serve, connect):
    port = serve({"psu": Echo()}).port
    listed = connect(port).get_rpc_method_list()["methods"]["add"]
    assert tuple(listed) == Server._document_function(Echo().add)


def test_get_rpc_method_names_gives_the_listed_names(serve, connect):
    port = serve({"psu": Echo()}, builtin_terminate=True).port
    names = connect(port).get_rpc_method_names()
    assert {"echo", "add", "terminate"} <= names
    assert not any(n.startswith("_") for n in names)
