"""sipyco.packed_exceptions: exceptions as dicts and back, and that pc_rpc's
failed replies are the very same packs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import sipyco.errors
from sipyco import packed_exceptions, pyon
from sipyco.errors import (
    CallTimeout,
    ConnectionClosed,
    DecodeError,
    ProtocolViolation,
    RemoteError,
)
from sipyco.packed_exceptions import (
    GenericRemoteException,
    current_exc_packed,
    pack,
    raise_packed_exc,
    unpack,
)


class InstrumentError(Exception):
    pass


class LaserError(InstrumentError):
    class Unlocked(Exception):
        pass


def packed_from(exc: BaseException) -> dict:
    """What current_exc_packed() gives while ``exc`` is being handled."""
    try:
        raise exc
    except BaseException:  # noqa: B036 - SystemExit and friends included on purpose
        return current_exc_packed()


def reraised(packed: dict) -> BaseException:
    with pytest.raises(BaseException) as info:
        raise_packed_exc(packed)
    return info.value


def test_generic_remote_exception_is_the_one_class():
    assert packed_exceptions.GenericRemoteException is sipyco.errors.GenericRemoteException
    assert set(packed_exceptions.__all__) >= {"current_exc_packed", "raise_packed_exc",
                                              "GenericRemoteException"}


# ---- packing ----------------------------------------------------------------

def test_a_builtin_packs_by_name_with_traceback_lines():
    def fail():
        raise ValueError("bad input")
    try:
        fail()
    except ValueError:
        packed = current_exc_packed()
    assert set(packed) == {"class", "message", "traceback"}
    assert packed["class"] == "ValueError"
    assert packed["message"] == "bad input"
    lines = packed["traceback"]
    assert isinstance(lines, list) and all(isinstance(line, str) for line in lines)
    assert lines[0].startswith("Traceback")
    assert any("in fail" in line for line in lines)
    assert lines[-1] == "ValueError: bad input\n"


def test_a_custom_class_packs_as_generic_with_its_qualified_name():
    packed = packed_from(InstrumentError("laser unlocked"))
    assert packed["class"] == "GenericRemoteException"
    assert packed["message"] == f"{__name__}.InstrumentError: laser unlocked"
    nested = packed_from(LaserError.Unlocked("again"))
    assert nested["message"] == f"{__name__}.LaserError.Unlocked: again"


def test_a_custom_class_without_message():
    assert packed_from(InstrumentError())["message"] == f"{__name__}.InstrumentError"


def test_a_custom_subclass_of_a_builtin_is_generic():
    class MyKeyError(KeyError):
        pass
    packed = packed_from(MyKeyError("k"))
    assert packed["class"] == "GenericRemoteException"
    assert packed["message"].endswith("MyKeyError: 'k'")


def test_main_module_classes_are_named_as_python_names_them():
    code = textwrap.dedent("""
        import json
        from sipyco.packed_exceptions import current_exc_packed
        class Broken(Exception):
            pass
        try:
            raise Broken("oops")
        except Broken:
            print(json.dumps(current_exc_packed()["message"]))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == "Broken: oops"


@pytest.mark.parametrize("exc, name", [
    (CallTimeout("no reply"), "TimeoutError"),
    (ConnectionClosed("gone"), "EOFError"),
    (DecodeError("bad text", 3), "ValueError"),
    (ProtocolViolation("nonsense"), "ValueError"),
])
def test_sipyco_errors_travel_as_their_builtin(exc, name):
    packed = packed_from(exc)
    assert packed["class"] == name
    assert packed["message"] == str(exc)


def test_a_remote_exception_is_passed_on_as_it_was():
    first = unpack({"class": "GenericRemoteException", "message": "lab.Oops: x",
                    "traceback": ["tb\n"]})
    assert packed_from(first)["class"] == "GenericRemoteException"
    assert packed_from(first)["message"] == "lab.Oops: x"
    remote_value_error = unpack({"class": "ValueError", "message": "v", "traceback": []})
    assert packed_from(remote_value_error)["class"] == "ValueError"


def test_a_broken_str_does_not_stop_packing():
    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no text for you")
    packed = packed_from(Unprintable())
    assert packed["class"] == "GenericRemoteException"
    assert "Unprintable" in packed["message"]


def test_current_exc_packed_outside_except_is_a_runtime_error():
    with pytest.raises(RuntimeError, match="exception being handled"):
        current_exc_packed()


@pytest.mark.parametrize("exc", [ValueError("x"), InstrumentError("y"), SystemExit(2)])
def test_a_pack_is_plain_data_for_both_pyon_versions(exc):
    packed = packed_from(exc)
    assert pyon.decode(pyon.encode(packed)) == packed
    assert pyon.decode(pyon.encode_v2(packed)) == packed
    assert json.loads(json.dumps(packed)) == packed


# ---- round trips --------------------------------------------------------------

@pytest.mark.parametrize("exc", [
    ValueError("bad input"), KeyError("k"), TypeError("wrong"), ZeroDivisionError("zero"),
    FileNotFoundError("missing"), RuntimeError(""), NotImplementedError("later"),
    AttributeError("no such thing"), TimeoutError("slow"),
])
def test_builtin_round_trip(exc):
    packed = packed_from(exc)
    back = reraised(packed)
    assert isinstance(back, type(exc)) and isinstance(back, RemoteError)
    assert type(back).__name__ == "Remote" + type(exc).__name__
    assert back.remote_class == type(exc).__name__
    assert str(back.args[0]) == packed["message"]
    assert back.parent_traceback == packed["traceback"]


def test_custom_round_trip():
    packed = packed_from(InstrumentError("laser unlocked"))
    back = reraised(packed)
    assert type(back) is GenericRemoteException
    assert str(back) == f"{__name__}.InstrumentError: laser unlocked"
    assert back.parent_traceback == packed["traceback"]


def test_a_constructor_that_wants_more_than_a_message_falls_back_to_generic():
    original = UnicodeDecodeError("ascii", b"\xff", 0, 1, "ordinal not in range")
    packed = packed_from(original)
    assert packed["class"] == "UnicodeDecodeError"
    back = reraised(packed)
    assert type(back) is GenericRemoteException
    assert str(back) == f"UnicodeDecodeError: {original}"
    assert back.parent_traceback == packed["traceback"]


@pytest.mark.parametrize("exc", [SystemExit(3), KeyboardInterrupt(), GeneratorExit("g")])
def test_base_exceptions_are_never_reraised_as_such(exc):
    packed = packed_from(exc)
    assert packed["class"] == type(exc).__name__
    back = reraised(packed)
    assert type(back) is GenericRemoteException
    assert isinstance(back, Exception)
    assert not isinstance(back, (SystemExit, KeyboardInterrupt, GeneratorExit))
    assert str(back).startswith(type(exc).__name__)


@pytest.mark.parametrize("name", ["SystemExit", "KeyboardInterrupt", "BaseException",
                                  "print", "len", "__import__", "NoSuchName", "", None, 42])
def test_a_hostile_or_odd_class_name_is_generic(name):
    back = unpack({"class": name, "message": "m", "traceback": []})
    assert type(back) is GenericRemoteException
    assert back.parent_traceback == []


def test_odd_message_and_traceback_are_tolerated():
    back = unpack({"class": "ValueError", "message": 12, "traceback": "not a list"})
    assert isinstance(back, ValueError) and str(back) == "12"
    assert back.parent_traceback == []
    back = unpack({"class": "ValueError", "traceback": [1, "x\n"]})
    assert str(back) == "" and back.parent_traceback == ["1", "x\n"]


@pytest.mark.parametrize("packed", [None, "ValueError", ["ValueError", "m"], 3])
def test_something_that_is_not_a_pack_is_a_value_error(packed):
    with pytest.raises(ValueError, match="packed exception is a dict"):
        unpack(packed)
    with pytest.raises(ValueError) as info:
        raise_packed_exc(packed)
    assert not isinstance(info.value, RemoteError)


def test_pack_and_current_exc_packed_agree():
    try:
        raise InstrumentError("same")
    except InstrumentError as exc:
        assert current_exc_packed() == pack(exc)


# ---- one implementation with pc_rpc -------------------------------------------

def test_pc_rpc_failed_replies_are_packs():
    from sipyco._rpc import protocol
    exc = packed_from(InstrumentError("relay stuck"))
    assert protocol.exception_payload is packed_exceptions.pack
    try:
        raise InstrumentError("relay stuck")
    except InstrumentError as caught:
        reply = protocol.failed_reply(caught)
        assert reply == {"status": "failed", "exception": pack(caught)}
    assert reply["exception"]["message"] == exc["message"]
    ok, back = protocol.reply_outcome(reply)
    assert ok is False and type(back) is GenericRemoteException
    assert str(back) == exc["message"]


def test_pc_rpc_reply_without_a_pack_is_a_protocol_violation():
    from sipyco._rpc import protocol
    with pytest.raises(ProtocolViolation, match="exception description"):
        protocol.reply_outcome({"status": "failed", "exception": "boom"})


def test_a_pack_made_here_reads_back_through_pc_rpc_and_vice_versa():
    from sipyco._rpc import protocol
    packed = packed_from(KeyError("k"))
    ok, via_rpc = protocol.reply_outcome({"status": "failed", "exception": packed})
    direct = reraised(packed)
    assert type(via_rpc) is type(direct)
    assert via_rpc.args == direct.args
    assert via_rpc.parent_traceback == direct.parent_traceback
