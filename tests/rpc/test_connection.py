"""The sans-IO pc_rpc connection objects (sipyco._rpc.connection), driven by
feeding bytes and reading events and bytes out: no sockets, no event loop.

The server bytes fed to ClientConnection are what sipyco 1.8 (PYON v1, no
features) and 1.10 (features ["pyon_v2"]) servers write (WIRE.md, pc_rpc)."""

from __future__ import annotations

import numpy
import pytest

from sipyco import pyon
from sipyco._bounds import HANDSHAKE_LINE_LIMIT
from sipyco._rpc import protocol as p
from sipyco._rpc.connection import (
    NEED_DATA,
    ClientConnection,
    HangUp,
    HelloReceived,
    Identified,
    Reply,
    RequestReceived,
    Selected,
    SelectionRequested,
    ServerConnection,
)
from sipyco.errors import (
    ConnectionClosed,
    EncodeError,
    GenericRemoteException,
    IncompatibleServer,
    MessageTooLarge,
    NestingTooDeep,
    ProtocolViolation,
    RemoteError,
)

IDENT_18 = b'{"targets": ["echo"], "description": null}\n'
IDENT_110 = b'{"targets": ["echo"], "description": null, "features": ["pyon_v2"]}\n'
IDENT_TWO = b'{"targets": ["a", "b"], "description": "two of them"}\n'
METHODS_V1 = b'{"echo", "terminate"}\n'
METHODS_V2 = b'{"__jsonclass__":["set",[["echo","terminate"]]]}\n'
VERSIONS = {
    "1.8": (IDENT_18, METHODS_V1, b"echo\n", "pyon_v1", pyon.encode),
    "1.10": (IDENT_110, METHODS_V2, b"echo pyon_v2\n", "pyon_v2", pyon.encode_v2),
}


def event_after(conn, data: bytes):
    conn.receive_data(data)
    return conn.next_event()


def identified(ident: bytes = IDENT_18, **options) -> ClientConnection:
    conn = ClientConnection(**options)
    conn.initiate()
    assert isinstance(event_after(conn, ident), Identified)
    return conn


def ready(version: str = "1.8", **options) -> ClientConnection:
    ident, methods, _, _, _ = VERSIONS[version]
    conn = identified(ident, **options)
    conn.select("echo")
    assert isinstance(event_after(conn, methods), Selected)
    return conn


def line(version: str, value) -> bytes:
    return (VERSIONS[version][4](value) + "\n").encode()


def failed(cls: str, message: str, tb=("Traceback (most recent call last):\n",)) -> dict:
    return {"status": "failed",
            "exception": {"class": cls, "message": message, "traceback": list(tb)}}


# ================================================================ client ===

# ---- handshake

def test_initiate_returns_the_hello_bytes():
    assert ClientConnection().initiate() == b"ARTIQ pc_rpc\n"


def test_initiate_twice_is_a_runtime_error():
    conn = ClientConnection()
    conn.initiate()
    with pytest.raises(RuntimeError):
        conn.initiate()


def test_nothing_before_the_identification_is_need_data():
    conn = ClientConnection()
    conn.initiate()
    assert conn.next_event() is NEED_DATA
    assert event_after(conn, IDENT_18[:10]) is NEED_DATA


def test_identification_of_a_18_server():
    conn = ClientConnection()
    conn.initiate()
    event = event_after(conn, IDENT_18)
    assert event == Identified(p.Identification(["echo"], None, []))
    assert conn.identification == event.identification


def test_identification_of_a_110_server():
    conn = ClientConnection()
    conn.initiate()
    event = event_after(conn, IDENT_110)
    assert event == Identified(p.Identification(["echo"], None, ["pyon_v2"]))


def test_identification_with_description_and_two_targets():
    conn = ClientConnection()
    conn.initiate()
    assert event_after(conn, IDENT_TWO).identification == \
        p.Identification(["a", "b"], "two of them", [])


def test_identification_fed_one_byte_at_a_time():
    conn = ClientConnection()
    conn.initiate()
    for i in range(len(IDENT_110) - 1):
        assert event_after(conn, IDENT_110[i:i + 1]) is NEED_DATA
    assert isinstance(event_after(conn, IDENT_110[-1:]), Identified)


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_select_sends_the_feature_only_when_offered(version):
    ident, _, selection, _, _ = VERSIONS[version]
    assert identified(ident).select("echo") == selection


def test_select_line_is_exact_bytes():
    assert identified(IDENT_18).select("echo") == b"echo\n"
    assert identified(IDENT_110).select("echo") == b"echo pyon_v2\n"


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_method_list_gives_selected_with_the_names(version):
    ident, methods, _, _, _ = VERSIONS[version]
    conn = identified(ident)
    conn.select("echo")
    event = event_after(conn, methods)
    assert event == Selected("echo", frozenset({"echo", "terminate"}))
    assert type(event.methods) is frozenset
    assert conn.target == "echo" and conn.methods == frozenset({"echo", "terminate"})


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_codec_after_selection_follows_the_version(version):
    assert ready(version).codec.name == VERSIONS[version][3]


def test_codec_is_not_switched_before_the_method_list():
    conn = identified(IDENT_110)
    conn.select("echo")
    assert conn.codec.name == "pyon_v1"


def test_empty_method_set_as_written_by_18():
    conn = identified(IDENT_18)
    conn.select("echo")
    assert event_after(conn, b"{}\n") == Selected("echo", frozenset())


def test_empty_method_set_in_v2():
    conn = identified(IDENT_110)
    conn.select("echo")
    assert event_after(conn, b'{"__jsonclass__":["set",[[]]]}\n') == \
        Selected("echo", frozenset())


def test_method_list_null_gives_methods_none():
    conn = identified(IDENT_18)
    conn.select("echo")
    assert event_after(conn, b"null\n") == Selected("echo", None)
    assert conn.methods is None


def test_method_list_may_be_a_list():
    conn = identified(IDENT_18)
    conn.select("echo")
    assert event_after(conn, b'["x", "y"]\n').methods == frozenset({"x", "y"})


# ---- requests and replies

def test_call_bytes_literal_v1():
    assert ready("1.8").call("echo", (1,)) == \
        b'{"action": "call", "name": "echo", "args": (1, ), "kwargs": {}}\n'


def test_call_bytes_literal_v2():
    assert ready("1.10").call("echo", (1,)) == \
        b'{"action":"call","name":"echo","args":{"__jsonclass__":["tuple",[[1]]]},"kwargs":{}}\n'


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_call_bytes_match_the_pyon_encoding(version):
    conn = ready(version)
    request = {"action": "call", "name": "f", "args": (1, "two", (3,)),
               "kwargs": {"k": [4.5, None]}}
    assert conn.call("f", (1, "two", (3,)), {"k": [4.5, None]}) == line(version, request)


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_call_args_given_as_list_are_sent_as_tuple(version):
    conn = ready(version)
    expected = line(version, {"action": "call", "name": "f", "args": (1, 2), "kwargs": {}})
    assert conn.call("f", [1, 2]) == expected


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_method_list_request_bytes(version):
    assert ready(version).method_list_request() == \
        line(version, {"action": "get_rpc_method_list"})


def test_method_list_request_literal_v1():
    assert ready("1.8").method_list_request() == b'{"action": "get_rpc_method_list"}\n'


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_replies_come_back_in_request_order_with_their_tags(version):
    conn = ready(version)
    conn.call("echo", (1,), tag="first")
    conn.call("echo", (2,), tag="second")
    conn.method_list_request(tag=3)
    assert conn.outstanding == 3
    conn.receive_data(line(version, p.ok_reply(1)) + line(version, p.ok_reply((2,)))
                      + line(version, p.ok_reply({"docstring": None, "methods": {}})))
    assert conn.next_event() == Reply(True, 1, "first")
    assert conn.next_event() == Reply(True, (2,), "second")
    assert conn.next_event() == Reply(True, {"docstring": None, "methods": {}}, 3)
    assert conn.next_event() is NEED_DATA
    assert conn.outstanding == 0


def test_reply_literal_v1():
    conn = ready("1.8")
    conn.call("echo", ((1, 2),))
    assert event_after(conn, b'{"status": "ok", "ret": (1, 2)}\n') == Reply(True, (1, 2))


def test_reply_literal_v2():
    conn = ready("1.10")
    conn.call("echo", ((1, 2),))
    reply = b'{"status":"ok","ret":{"__jsonclass__":["tuple",[[1,2]]]}}\n'
    assert event_after(conn, reply) == Reply(True, (1, 2))


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_failed_reply_is_the_named_builtin_with_parent_traceback(version):
    conn = ready(version)
    conn.call("f", tag="t")
    tb = ["Traceback (most recent call last):\n", "ValueError: bad value\n"]
    event = event_after(conn, line(version, failed("ValueError", "bad value", tb)))
    assert event.ok is False and event.tag == "t"
    assert isinstance(event.value, ValueError) and isinstance(event.value, RemoteError)
    assert str(event.value) == "bad value"
    assert event.value.parent_traceback == tb


def test_failed_reply_literal_v1():
    conn = ready("1.8")
    conn.call("f")
    event = event_after(conn, b'{"status": "failed", "exception": {"class": "KeyError", '
                              b'"message": "\'k\'", "traceback": ["tb\\n"]}}\n')
    assert isinstance(event.value, KeyError) and event.value.parent_traceback == ["tb\n"]


def test_generic_remote_exception_reply():
    conn = ready("1.10")
    conn.call("f")
    event = event_after(conn, line("1.10", failed("GenericRemoteException",
                                                  "mymod.MyError: boom", ["tb\n"])))
    assert type(event.value) is GenericRemoteException
    assert str(event.value) == "mymod.MyError: boom"
    assert event.value.parent_traceback == ["tb\n"]


def test_unknown_class_name_becomes_generic_with_the_name_in_front():
    conn = ready("1.8")
    conn.call("f")
    event = event_after(conn, line("1.8", failed("NotABuiltin", "boom")))
    assert type(event.value) is GenericRemoteException
    assert str(event.value) == "NotABuiltin: boom"


def test_a_server_cannot_make_the_client_raise_system_exit():
    conn = ready("1.8")
    conn.call("f")
    event = event_after(conn, line("1.8", failed("SystemExit", "bye")))
    assert type(event.value) is GenericRemoteException
    assert not isinstance(event.value, SystemExit)


def test_unwrap_returns_the_value():
    assert Reply(True, [1, 2], "t").unwrap() == [1, 2]


def test_unwrap_raises_the_remote_exception():
    conn = ready("1.8")
    conn.call("f")
    event = event_after(conn, line("1.8", failed("TypeError", "wrong type")))
    with pytest.raises(TypeError, match="wrong type") as info:
        event.unwrap()
    assert info.value is event.value


# ---- the caller's mistakes: raised at once, nothing to send

def test_call_before_identification_is_a_runtime_error():
    conn = ClientConnection()
    conn.initiate()
    with pytest.raises(RuntimeError, match="no target selected"):
        conn.call("echo")
    assert conn.outstanding == 0


def test_call_before_selection_is_a_runtime_error():
    conn = identified()
    with pytest.raises(RuntimeError, match="no target selected"):
        conn.call("echo", (1,))
    with pytest.raises(RuntimeError):
        conn.method_list_request()
    assert conn.outstanding == 0


def test_call_while_waiting_for_the_method_list_is_a_runtime_error():
    conn = identified()
    conn.select("echo")
    with pytest.raises(RuntimeError):
        conn.call("echo")
    assert conn.outstanding == 0


def test_select_before_identification_is_a_runtime_error():
    conn = ClientConnection()
    conn.initiate()
    with pytest.raises(RuntimeError, match="not identified"):
        conn.select("echo")


def test_select_twice_is_a_runtime_error():
    conn = identified()
    conn.select("echo")
    with pytest.raises(RuntimeError, match="already selected"):
        conn.select("echo")


def test_select_after_selected_is_a_runtime_error():
    conn = ready()
    with pytest.raises(RuntimeError, match="'echo' is already selected"):
        conn.select("echo")


@pytest.mark.parametrize("name", ["", "a b", "echo\n", "\techo", None, 5])
def test_select_of_a_malformed_name_is_a_value_error(name):
    conn = identified()
    with pytest.raises(ValueError, match="invalid target name"):
        conn.select(name)
    assert conn.select("echo") == b"echo\n"  # nothing happened


def test_select_of_an_unlisted_target_is_incompatible_server():
    conn = identified()
    with pytest.raises(IncompatibleServer, match="'other'"):
        conn.select("other")
    assert conn.select("echo") == b"echo\n"


def test_resolve_auto_target_with_two_targets_is_incompatible_server():
    conn = identified(IDENT_TWO)
    with pytest.raises(IncompatibleServer, match="2 targets"):
        conn.resolve_target(p.AutoTarget)


def test_resolve_auto_target_with_one_target_gives_its_name():
    assert identified(IDENT_18).resolve_target(p.AutoTarget) == "echo"


def test_resolve_a_named_target_gives_it_back():
    assert identified(IDENT_TWO).resolve_target("b") == "b"


def test_resolve_target_before_identification_is_a_runtime_error():
    conn = ClientConnection()
    conn.initiate()
    with pytest.raises(RuntimeError):
        conn.resolve_target(p.AutoTarget)


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_unencodable_argument_is_encode_error_and_the_connection_goes_on(version):
    conn = ready(version)
    with pytest.raises(EncodeError) as info:
        conn.call("echo", (object(),), tag="lost")
    assert isinstance(info.value, TypeError)
    assert conn.outstanding == 0 and not conn.closed
    conn.call("echo", (1,), tag="kept")
    assert event_after(conn, line(version, p.ok_reply(1))) == Reply(True, 1, "kept")


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_request_over_max_message_size_is_refused_locally(version):
    conn = ready(version, max_message_size=200)
    with pytest.raises(MessageTooLarge, match="max_message_size=200") as info:
        conn.call("echo", ("x" * 300,), tag="lost")
    assert isinstance(info.value, ValueError) and info.value.limit == 200
    assert info.value.size > 300
    assert conn.outstanding == 0 and not conn.closed
    conn.call("echo", ("x",), tag="kept")
    assert event_after(conn, line(version, p.ok_reply("x"))) == Reply(True, "x", "kept")


def test_request_of_exactly_max_message_size_is_sent():
    conn = ready("1.8", max_message_size=1000)
    probe = conn.call("e", ("",))
    pad = 1000 - (len(probe) - 1)
    request = conn.call("e", ("x" * pad,))
    assert len(request) - 1 == 1000
    with pytest.raises(MessageTooLarge, match="request of 1001 bytes"):
        conn.call("e", ("x" * (pad + 1),))


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "10"])
def test_invalid_max_message_size_is_a_value_error(bad):
    with pytest.raises(ValueError, match="max_message_size"):
        ClientConnection(max_message_size=bad)


# ---- the server's faults

def assert_closed(conn: ClientConnection):
    assert conn.closed
    with pytest.raises(ConnectionClosed):
        conn.next_event()
    with pytest.raises(ConnectionClosed):
        conn.call("echo")


@pytest.mark.parametrize("ident, fragment", [
    (b"hello there\n", "not JSON"),
    (b"SSH-2.0-OpenSSH_9.6\n", "not JSON"),
    (b"[1, 2]\n", "not a JSON object"),
    (b'"targets"\n', "not a JSON object"),
    (b'{"description": null}\n', "no list of target names"),
    (b'{"targets": "echo"}\n', "no list of target names"),
    (b'{"targets": ["echo", 1]}\n', "no list of target names"),
    (b'{"targets": ["echo"], "description": 5}\n', "description is not a string"),
    (b'{"targets": ["echo"], "features": "pyon_v2"}\n', "features are not a list"),
    (b"\n", "not JSON"),
])
def test_bad_identification_is_protocol_violation_and_closes(ident, fragment):
    conn = ClientConnection()
    conn.initiate()
    with pytest.raises(ProtocolViolation, match=fragment):
        event_after(conn, ident)
    assert_closed(conn)


def test_identification_over_the_handshake_limit_fails_as_soon_as_it_passes():
    conn = ClientConnection()
    conn.initiate()
    assert event_after(conn, b"x" * HANDSHAKE_LINE_LIMIT) is NEED_DATA
    with pytest.raises(ProtocolViolation, match=str(HANDSHAKE_LINE_LIMIT)):
        event_after(conn, b"x")
    assert_closed(conn)


def test_identification_of_70000_bytes_without_newline():
    conn = ClientConnection()
    conn.initiate()
    with pytest.raises(ProtocolViolation, match="identification is longer than 65536"):
        event_after(conn, b"{" * 70_000)
    assert_closed(conn)


def test_over_long_identification_with_its_newline_in_one_feed():
    conn = ClientConnection()
    conn.initiate()
    with pytest.raises(ProtocolViolation, match="longer than 65536"):
        event_after(conn, b" " * 70_000 + b'{"targets": []}\n')


def test_identification_limit_is_not_the_message_limit():
    conn = ClientConnection(max_message_size=10)
    conn.initiate()
    ident = b'{"targets": ["echo"], "description": "' + b"d" * 1000 + b'"}\n'
    assert event_after(conn, ident).identification.description == "d" * 1000


def eof_messages() -> list[str]:
    messages = []
    conn = ClientConnection()
    conn.initiate()
    with pytest.raises(ConnectionClosed) as info:
        event_after(conn, b"")
    messages.append(str(info.value))
    conn = identified()
    conn.select("echo")
    with pytest.raises(ConnectionClosed) as info:
        event_after(conn, b"")
    messages.append(str(info.value))
    conn = ready()
    conn.call("echo")
    with pytest.raises(ConnectionClosed) as info:
        event_after(conn, b"")
    messages.append(str(info.value))
    return messages


def test_end_of_stream_messages_explain_where_it_happened():
    before_ident, after_select, outstanding = eof_messages()
    assert "before identifying itself" in before_ident
    assert "after target 'echo' was selected" in after_select
    assert "before the reply arrived" in outstanding
    assert len({before_ident, after_select, outstanding}) == 3


def test_end_of_stream_is_connection_closed_an_eof_error():
    conn = ClientConnection()
    conn.initiate()
    with pytest.raises(EOFError):
        event_after(conn, b"")
    assert_closed(conn)


def test_end_of_stream_after_a_partial_identification():
    conn = ClientConnection()
    conn.initiate()
    conn.receive_data(IDENT_18[:-1])
    with pytest.raises(ConnectionClosed, match="before identifying itself"):
        event_after(conn, b"")


def test_lines_before_the_end_of_stream_are_still_delivered():
    conn = ready()
    conn.call("echo", tag="a")
    conn.call("echo", tag="b")
    conn.receive_data(line("1.8", p.ok_reply(1)))
    conn.receive_data(b"")
    assert conn.next_event() == Reply(True, 1, "a")
    with pytest.raises(ConnectionClosed, match="before the reply arrived"):
        conn.next_event()
    assert conn.abandon() == ["b"]


def test_end_of_stream_when_idle_is_connection_closed():
    conn = ready()
    with pytest.raises(ConnectionClosed, match="closed the connection"):
        event_after(conn, b"")


@pytest.mark.parametrize("version", ["1.8", "1.10"])
@pytest.mark.parametrize("methods", [b"5\n", b'["echo", 1]\n', b"not pyon at all\n",
                                     b'{"a": 1}\n', b'"echo"\n', b"{1, 2}\n"])
def test_malformed_method_list_is_protocol_violation(version, methods):
    conn = identified(VERSIONS[version][0])
    conn.select("echo")
    with pytest.raises(ProtocolViolation, match="malformed method list"):
        event_after(conn, methods)
    assert_closed(conn)


def test_method_list_over_max_message_size_is_protocol_violation():
    conn = identified(max_message_size=20)
    conn.select("echo")
    names = "{" + ", ".join(f'"method{i}"' for i in range(10)) + "}\n"
    with pytest.raises(ProtocolViolation, match="max_message_size=20"):
        event_after(conn, names.encode())
    assert_closed(conn)


def test_a_line_after_identification_before_select_is_protocol_violation():
    conn = identified()
    with pytest.raises(ProtocolViolation, match="expected nothing"):
        event_after(conn, b"{}\n")
    assert_closed(conn)


@pytest.mark.parametrize("version", ["1.8", "1.10"])
@pytest.mark.parametrize("reply, fragment", [
    (b"<html>\n", "malformed reply"),
    (b"5\n", "not a dict"),
    (b'["ok", 5]\n', "not a dict"),
    (b'{"status": "maybe", "ret": 1}\n', "unknown status"),
    (b'{"ret": 1}\n', "unknown status"),
    (b'{"status": "failed"}\n', "without an exception description"),
])
def test_malformed_reply_is_protocol_violation_and_closes(version, reply, fragment):
    conn = ready(version)
    conn.call("echo", tag="t")
    with pytest.raises(ProtocolViolation, match=fragment):
        event_after(conn, reply)
    assert_closed(conn)
    assert conn.abandon() == ["t"]


def test_reply_nobody_asked_for_is_protocol_violation():
    conn = ready()
    with pytest.raises(ProtocolViolation, match="nobody asked for"):
        event_after(conn, line("1.8", p.ok_reply(1)))
    assert_closed(conn)


def test_one_reply_too_many_is_protocol_violation():
    conn = ready()
    conn.call("echo", tag="a")
    conn.receive_data(line("1.8", p.ok_reply(1)) * 2)
    assert conn.next_event() == Reply(True, 1, "a")
    with pytest.raises(ProtocolViolation, match="nobody asked for"):
        conn.next_event()


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_over_long_reply_is_message_too_large_and_the_stream_stays_in_step(version):
    conn = ready(version, max_message_size=100)
    conn.call("echo", tag="big")
    conn.call("echo", tag="small")
    big = line(version, p.ok_reply("x" * 300))
    conn.receive_data(big + line(version, p.ok_reply(2)))
    event = conn.next_event()
    assert (event.ok, event.tag) == (False, "big")
    assert isinstance(event.value, MessageTooLarge)
    assert event.value.size == len(big) - 1 and event.value.limit == 100
    assert "this client's max_message_size=100" in str(event.value)
    assert conn.next_event() == Reply(True, 2, "small")
    assert not conn.closed


def test_over_long_reply_fed_in_small_pieces():
    conn = ready("1.10", max_message_size=100)
    conn.call("echo", tag="big")
    conn.call("echo", tag="small")
    data = line("1.10", p.ok_reply("y" * 1000)) + line("1.10", p.ok_reply([1]))
    events = []
    for i in range(0, len(data), 7):
        conn.receive_data(data[i:i + 7])
        while (event := conn.next_event()) is not NEED_DATA:
            events.append(event)
    assert [e.tag for e in events] == ["big", "small"]
    assert isinstance(events[0].value, MessageTooLarge)
    assert events[0].value.size == len(data) - len(line("1.10", p.ok_reply([1]))) - 1
    assert events[1] == Reply(True, [1], "small")


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_reply_nested_deeper_than_the_client_reads_fails_that_call_only(version):
    # A well-framed reply deeper than the reader's max_depth is a limit of
    # this client, as an over-long one is: that call fails, the next is read.
    conn = ready(version)
    conn.call("echo", tag="deep")
    conn.call("echo", tag="next")
    deep = "[" * 2000 + "]" * 2000  # past both readers (JSON: the recursion limit)
    text = '{"status": "ok", "ret": ' + deep + "}\n"
    conn.receive_data(text.encode() + line(version, p.ok_reply(3)))
    event = conn.next_event()
    assert (event.ok, event.tag) == (False, "deep")
    assert isinstance(event.value, NestingTooDeep)
    assert "the server's reply nests deeper than this client reads" in str(event.value)
    with pytest.raises(NestingTooDeep):
        event.unwrap()
    assert conn.next_event() == Reply(True, 3, "next")
    assert not conn.closed


def test_over_long_reply_raises_on_unwrap():
    conn = ready("1.8", max_message_size=80)
    conn.call("echo")
    event = event_after(conn, line("1.8", p.ok_reply("z" * 100)))
    with pytest.raises(MessageTooLarge, match="max_message_size=80"):
        event.unwrap()


def test_close_then_abandon_returns_the_outstanding_tags_once():
    conn = ready()
    conn.call("echo", tag=1)
    conn.call("echo", tag=2)
    conn.close("test is over")
    assert conn.closed and conn.closed_because == "test is over"
    assert conn.abandon() == [1, 2]
    assert conn.abandon() == []
    assert conn.outstanding == 0


def test_abandon_while_open_is_a_runtime_error():
    conn = ready()
    conn.call("echo", tag=1)
    with pytest.raises(RuntimeError, match="still open"):
        conn.abandon()
    assert conn.outstanding == 1


def test_close_keeps_the_first_reason_and_calls_then_raise_it():
    conn = ready()
    conn.close("first reason")
    conn.close("second reason")
    with pytest.raises(ConnectionClosed, match="first reason"):
        conn.call("echo")
    with pytest.raises(ConnectionClosed, match="first reason"):
        conn.method_list_request()


def test_a_fault_is_kept_as_the_closing_reason():
    conn = ready()
    conn.call("echo")
    with pytest.raises(ProtocolViolation):
        event_after(conn, b"5\n")
    assert "malformed reply" in conn.closed_because
    with pytest.raises(ConnectionClosed, match="malformed reply"):
        conn.next_event()


def test_select_after_close_is_connection_closed():
    conn = identified()
    conn.close("gone")
    with pytest.raises(ConnectionClosed):
        conn.select("echo")


# ================================================================ server ===

def server(features=("pyon_v2",), **options) -> ServerConnection:
    return ServerConnection({"echo": object()}, list(features), **options)


def selected_server(version: str = "1.10", **options):
    """A server past the handshake, and the method-list line it sent."""
    features = ["pyon_v2"] if version == "1.10" else []
    conn = server(features, **options)
    assert event_after(conn, b"ARTIQ pc_rpc\n") == HelloReceived()
    selection = event_after(conn, VERSIONS[version][2])
    return conn, conn.accept(selection, ["echo"])


def test_server_hello_gives_hello_received():
    conn = server()
    assert conn.next_event() is NEED_DATA
    assert event_after(conn, b"ARTIQ pc_") is NEED_DATA
    assert event_after(conn, b"rpc\n") == HelloReceived()
    assert conn.next_event() is NEED_DATA


def test_identify_with_features_is_the_110_line():
    assert server(["pyon_v2"]).identify() == \
        b'{"targets": ["echo"], "description": null, "features": ["pyon_v2"]}\n'


def test_identify_without_features_is_the_18_line():
    assert server([]).identify() == b'{"targets": ["echo"], "description": null}\n'


def test_identify_sorts_targets_and_gives_the_description():
    conn = ServerConnection({"zeta": 1, "alpha": 2, "mid": 3}, [], description="a rig")
    assert conn.identify() == \
        b'{"targets": ["alpha", "mid", "zeta"], "description": "a rig"}\n'


@pytest.mark.parametrize("hello", [b"ARTIQ sync_struct\n", b"ARTIQ pc_rpc \n", b"\n",
                                   b"artiq pc_rpc\n", b"GET / HTTP/1.1\n"])
def test_wrong_hello_is_hang_up(hello):
    with pytest.raises(HangUp, match="did not greet"):
        event_after(server(), hello)


def test_selection_v1_and_v2():
    conn = server()
    event_after(conn, b"ARTIQ pc_rpc\n")
    assert event_after(conn, b"echo\n") == SelectionRequested("echo", ())
    conn = server()
    event_after(conn, b"ARTIQ pc_rpc\n")
    assert event_after(conn, b"echo pyon_v2\n") == SelectionRequested("echo", ("pyon_v2",))


def test_hello_and_selection_in_one_feed():
    conn = server()
    conn.receive_data(b"ARTIQ pc_rpc\necho pyon_v2\n")
    assert conn.next_event() == HelloReceived()
    assert conn.next_event() == SelectionRequested("echo", ("pyon_v2",))


@pytest.mark.parametrize("selection, fragment", [
    (b"nope\n", "unknown target"),
    (b"echo pyon_v3\n", "unknown features"),
    (b"\n", "malformed"),
    (b"   \n", "malformed"),
    (b"\xff\xfe\n", "malformed"),
])
def test_bad_selection_is_hang_up(selection, fragment):
    conn = server()
    event_after(conn, b"ARTIQ pc_rpc\n")
    with pytest.raises(HangUp, match=fragment) as info:
        event_after(conn, selection)
    assert fragment in info.value.reason


def test_v2_selection_on_a_server_without_features_is_hang_up():
    conn = server([])
    event_after(conn, b"ARTIQ pc_rpc\n")
    with pytest.raises(HangUp, match="unknown features"):
        event_after(conn, b"echo pyon_v2\n")


def test_over_long_hello_without_newline_is_hang_up():
    conn = server()
    assert event_after(conn, b"A" * HANDSHAKE_LINE_LIMIT) is NEED_DATA
    with pytest.raises(HangUp, match="longer than 65536"):
        event_after(conn, b"A")


def test_over_long_selection_without_newline_is_hang_up():
    conn = server()
    event_after(conn, b"ARTIQ pc_rpc\n")
    with pytest.raises(HangUp, match="handshake line"):
        event_after(conn, b"e" * 70_000)


def test_over_long_selection_with_newline_is_hang_up():
    conn = server()
    conn.receive_data(b"ARTIQ pc_rpc\n" + b"e" * 70_000 + b"\n")
    assert conn.next_event() == HelloReceived()
    with pytest.raises(HangUp, match="70000 bytes"):
        conn.next_event()


def test_accept_v1_gives_the_method_set_in_v1():
    _, methods = selected_server("1.8")
    assert methods == b'{"echo"}\n'


def test_accept_v2_gives_the_method_set_in_v2():
    _, methods = selected_server("1.10")
    assert methods == b'{"__jsonclass__":["set",[["echo"]]]}\n'


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_accept_of_many_names_reads_back_as_a_set(version):
    conn = server()
    event_after(conn, b"ARTIQ pc_rpc\n")
    methods = conn.accept(event_after(conn, VERSIONS[version][2]), ["a", "b", "terminate"])
    decode = pyon.decode_v2 if version == "1.10" else pyon.decode_v1
    assert decode(methods.decode()) == {"a", "b", "terminate"}
    assert conn.codec.name == VERSIONS[version][3]


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_call_request_is_request_received_with_a_call(version):
    conn, _ = selected_server(version)
    request = {"action": "call", "name": "echo", "args": (1, "a"), "kwargs": {"k": 2}}
    event = event_after(conn, line(version, request))
    assert event == RequestReceived(p.Call("echo", (1, "a"), {"k": 2}))
    assert type(event.request.args) is tuple


def test_call_request_literal_v1_from_a_18_client():
    conn, _ = selected_server("1.8")
    event = event_after(conn, b'{"action": "call", "name": "echo", "args": ((1, 2), ), '
                              b'"kwargs": {}}\n')
    assert event.request == p.Call("echo", ((1, 2),), {})


def test_call_request_literal_v2_from_a_110_client():
    conn, _ = selected_server("1.10")
    event = event_after(conn, b'{"action":"call","name":"echo","args":{"__jsonclass__":'
                              b'["tuple",[[1]]]},"kwargs":{}}\n')
    assert event.request == p.Call("echo", (1,), {})


def test_call_args_as_list_become_a_tuple():
    conn, _ = selected_server("1.10")
    event = event_after(conn, b'{"action":"call","name":"f","args":[1,2],"kwargs":{}}\n')
    assert event.request == p.Call("f", (1, 2), {})


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_method_list_request_is_received(version):
    conn, _ = selected_server(version)
    event = event_after(conn, line(version, {"action": "get_rpc_method_list"}))
    assert event == RequestReceived(p.MethodListRequest())


def assert_refusal(event, cls: str, *fragments: str):
    assert isinstance(event, RequestReceived)
    assert event.request is None
    assert event.refusal["status"] == "failed"
    assert event.refusal["exception"]["class"] == cls
    for fragment in fragments:
        assert fragment in event.refusal["exception"]["message"]


@pytest.mark.parametrize("request_line, fragments", [
    (b"garbage(\n", ["malformed request"]),
    (b"\xff\n", ["malformed request", "not ASCII"]),
    (b"5\n", ["malformed request", "must be a dict, not int"]),
    (b'{"action": "dance"}\n', ["unknown request action 'dance'"]),
    # found by fuzzing: an action compared with == must be a str (an empty
    # numpy array's == gives an array, whose truth value raises)
    (b'{"action": nparray((0, ), "|b1", b"")}\n', ["action must be a str, not ndarray"]),
    (b'{"action": 5}\n', ["action must be a str, not int"]),
    (b'{"name": "f"}\n', ["action must be a str, not NoneType"]),
    (b'{"action": "call"}\n', ["needs a method name"]),
    (b'{"action": "call", "name": "f", "args": 5}\n', ["arguments must be a tuple"]),
    (b'{"action": "call", "name": "f", "kwargs": {1: 2}}\n', ["keyword arguments"]),
    (b"\n", ["malformed request"]),
])
def test_bad_request_is_refused_and_the_next_one_parses(request_line, fragments):
    conn, _ = selected_server("1.8")
    conn.receive_data(request_line + b'{"action": "get_rpc_method_list"}\n')
    assert_refusal(conn.next_event(), "ValueError", *fragments)
    assert conn.next_event() == RequestReceived(p.MethodListRequest())


def test_refusal_is_a_reply_the_client_reads():
    conn, _ = selected_server("1.10")
    refusal = event_after(conn, b"garbage(\n").refusal
    decoded = pyon.decode_v2(conn.reply(refusal).decode())
    assert decoded["status"] == "failed" and decoded["exception"]["class"] == "ValueError"


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_over_long_request_is_refused_naming_max_message_size(version):
    conn, _ = selected_server(version, max_message_size=1024)
    big = line(version, p.call_request("echo", ("x" * 2000,), {}))
    conn.receive_data(big + line(version, {"action": "get_rpc_method_list"}))
    assert_refusal(conn.next_event(), "ValueError",
                   f"request of {len(big) - 1} bytes", "max_message_size=1024")
    assert conn.next_event() == RequestReceived(p.MethodListRequest())


def test_over_long_request_without_newline_waits_for_its_end():
    conn, _ = selected_server("1.8", max_message_size=1024)
    assert event_after(conn, b"x" * 5000) is NEED_DATA  # no hang-up after the handshake
    assert_refusal(event_after(conn, b"x\n"), "ValueError", "request of 5001 bytes")


def test_request_limit_is_max_message_size_not_the_handshake_limit():
    conn, _ = selected_server("1.8")
    request = line("1.8", p.call_request("echo", ("x" * 100_000,), {}))
    assert event_after(conn, request).request == p.Call("echo", ("x" * 100_000,), {})


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_ok_reply_bytes(version):
    conn, _ = selected_server(version)
    assert conn.reply(p.ok_reply((1, 2))) == line(version, {"status": "ok", "ret": (1, 2)})


def test_ok_reply_literal_v1():
    conn, _ = selected_server("1.8")
    assert conn.reply(p.ok_reply((1, 2))) == b'{"status": "ok", "ret": (1, 2)}\n'


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_reply_of_an_unencodable_value_is_a_failed_type_error_reply(version):
    conn, _ = selected_server(version)
    out = conn.reply(p.ok_reply(object()))
    assert out.endswith(b"\n") and out.count(b"\n") == 1
    decoded = pyon.decode(out.decode())
    assert decoded["status"] == "failed"
    assert decoded["exception"]["class"] == "TypeError"
    assert "cannot encode" in decoded["exception"]["message"]


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_reply_over_max_message_size_is_a_failed_reply_naming_the_limit(version):
    conn, _ = selected_server(version, max_message_size=1024)
    out = conn.reply(p.ok_reply("x" * 5000))
    decoded = pyon.decode(out.decode())
    assert decoded["status"] == "failed"
    assert decoded["exception"]["class"] == "ValueError"
    assert "max_message_size=1024" in decoded["exception"]["message"]
    assert len(out) - 1 <= 1024


def test_failed_reply_for_an_unencodable_value_stays_within_max_message_size():
    conn, _ = selected_server("1.8", max_message_size=1024)  # the Server's minimum
    out = conn.reply(p.ok_reply(object()))
    assert len(out) - 1 <= 1024


# ============================================================ round trip ===

class Wire:
    """A ClientConnection and a ServerConnection handing each other bytes."""

    def __init__(self, features, *, methods=("echo", "terminate")):
        self.client = ClientConnection()
        self.server = ServerConnection({"echo": object()}, features)
        assert event_after(self.server, self.client.initiate()) == HelloReceived()
        assert isinstance(event_after(self.client, self.server.identify()), Identified)
        selection = event_after(self.server, self.client.select("echo"))
        assert isinstance(selection, SelectionRequested)
        event = event_after(self.client, self.server.accept(selection, methods))
        assert event == Selected("echo", frozenset(methods))

    def call(self, name, *args, **kwargs):
        """Send a call; the server replies with its first argument, or
        raises ValueError for the name "fail"."""
        request = event_after(self.server, self.client.call(name, args, kwargs, tag=name))
        assert isinstance(request, RequestReceived) and request.refusal is None
        assert request.request.name == name and request.request.kwargs == kwargs
        if name == "fail":
            try:
                raise ValueError(args[0])
            except ValueError as exc:
                reply = p.failed_reply(exc)
        else:
            reply = p.ok_reply(request.request.args[0])
        event = event_after(self.client, self.server.reply(reply))
        assert event.tag == name
        return event


FEATURES = {"1.8": [], "1.10": ["pyon_v2"]}


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_round_trip_settles_the_same_codec_on_both_sides(version):
    wire = Wire(FEATURES[version])
    assert wire.client.codec.name == wire.server.codec.name == VERSIONS[version][3]


@pytest.mark.parametrize("version", ["1.8", "1.10"])
@pytest.mark.parametrize("value", [
    None, 42, -1.5, "text", b"\x00\xff", (1, (2, "three")), [1, [2]], {1: "a", 2: "b"},
    {"k": {3: (4,)}}, {1, 2}, 1 + 2j,
])
def test_round_trip_returns_what_was_sent(version, value):
    event = Wire(FEATURES[version]).call("echo", value)
    assert event.ok is True
    assert event.value == value and type(event.value) is type(value)


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_round_trip_of_a_tuple_keeps_it_a_tuple(version):
    assert Wire(FEATURES[version]).call("echo", (1, 2)).unwrap() == (1, 2)
    assert type(Wire(FEATURES[version]).call("echo", (1, 2)).unwrap()) is tuple


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_round_trip_of_a_dict_with_int_keys(version):
    assert Wire(FEATURES[version]).call("echo", {1: "a", -2: [3]}).unwrap() == {1: "a", -2: [3]}


@pytest.mark.parametrize("version", ["1.8", "1.10"])
@pytest.mark.parametrize("array", [
    numpy.arange(6, dtype=numpy.int64).reshape(2, 3),
    numpy.array([0.5, -1.0, numpy.inf]),
    numpy.zeros((0,), dtype=numpy.uint8),
])
def test_round_trip_of_a_numpy_array(version, array):
    back = Wire(FEATURES[version]).call("echo", array).unwrap()
    assert isinstance(back, numpy.ndarray)
    assert back.dtype == array.dtype and back.shape == array.shape
    assert numpy.array_equal(back, array)


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_round_trip_with_kwargs(version):
    event = Wire(FEATURES[version]).call("echo", 7, mode="fast", count=(1, 2))
    assert event == Reply(True, 7, "echo")


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_round_trip_of_a_remote_exception(version):
    event = Wire(FEATURES[version]).call("fail", "bad input")
    with pytest.raises(ValueError, match="bad input") as info:
        event.unwrap()
    assert isinstance(info.value, RemoteError)
    assert info.value.parent_traceback[-1] == "ValueError: bad input\n"


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_round_trip_of_many_pipelined_calls(version):
    wire = Wire(FEATURES[version])
    sent = b"".join(wire.client.call("echo", (i,), tag=i) for i in range(20))
    wire.server.receive_data(sent)
    replies = b""
    while (event := wire.server.next_event()) is not NEED_DATA:
        replies += wire.server.reply(p.ok_reply(event.request.args[0] * 10))
    wire.client.receive_data(replies)
    got = []
    while (event := wire.client.next_event()) is not NEED_DATA:
        got.append((event.tag, event.unwrap()))
    assert got == [(i, i * 10) for i in range(20)]


@pytest.mark.parametrize("version", ["1.8", "1.10"])
def test_round_trip_with_an_empty_method_set(version):
    wire = Wire(FEATURES[version], methods=())
    assert wire.client.methods == frozenset()


def test_lines_after_the_selection_wait_for_accept():
    """A client that sends a request right behind its selection line: the
    request is kept until the server has accepted the selection."""
    conn = ServerConnection({"echo": object()}, [])
    conn.receive_data(b"ARTIQ pc_rpc\necho\n" + b'{"action": "get_rpc_method_list"}\n')
    assert isinstance(conn.next_event(), HelloReceived)
    selection = conn.next_event()
    assert isinstance(selection, SelectionRequested)
    assert conn.next_event() is NEED_DATA
    conn.accept(selection, ["echo"])
    assert isinstance(conn.next_event().request, p.MethodListRequest)


def test_a_server_connection_refuses_a_limit_too_small_for_its_error_replies():
    with pytest.raises(ValueError, match="max_message_size"):
        ServerConnection({"echo": object()}, [], max_message_size=100)
