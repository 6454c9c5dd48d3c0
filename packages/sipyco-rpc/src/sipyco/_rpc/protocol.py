"""The pc_rpc protocol without any I/O: handshake lines, request and reply
messages, and the exceptions they turn into.

Socket and asyncio code call these functions with whole lines (bytes ending
in ``\\n``) and send what they return, so the protocol has one implementation
for the server and all client kinds, and tests can drive it without sockets.
"""

from __future__ import annotations

import builtins
import json
import traceback
from dataclasses import dataclass
from typing import Any

from sipyco import pyon
from sipyco.errors import (
    DecodeError,
    EncodeError,
    GenericRemoteException,
    IncompatibleServer,
    MessageTooLarge,
    ProtocolViolation,
)

__all__ = [
    "HELLO", "FEATURE_PYON_V2", "DEFAULT_MAX_MESSAGE_SIZE", "HANDSHAKE_LINE_LIMIT",
    "Identification", "WireCodec", "V1", "V2", "AutoTarget", "resolve_target", "select",
    "identification_line", "parse_identification", "selection_line", "parse_selection",
    "Call", "MethodListRequest", "BadRequest", "call_request", "METHOD_LIST_REQUEST",
    "parse_request", "ok_reply", "failed_reply", "exception_payload", "reply_outcome",
    "check_size",
]

HELLO = b"ARTIQ pc_rpc\n"
FEATURE_PYON_V2 = "pyon_v2"
DEFAULT_MAX_MESSAGE_SIZE = 1 << 30   # 1 GiB, on both sides
HANDSHAKE_LINE_LIMIT = 1 << 16       # hello, identification and selection lines


# ---------------------------------------------------------------- framing ---

class WireCodec:
    """How values become lines once the PYON version is settled."""

    def __init__(self, name: str, encode, decode):
        self.name = name
        self._encode = encode
        self._decode = decode

    def encode(self, value: Any) -> bytes:
        return (self._encode(value) + "\n").encode("ascii")

    def decode(self, line: bytes) -> Any:
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError as exc:
            raise DecodeError("message is not ASCII", exc.start) from None
        return self._decode(text)

    def __repr__(self) -> str:
        return f"<WireCodec {self.name}>"


# v1 peers write v1; text that happens to be JSON reads the same either way.
V1 = WireCodec("pyon_v1", pyon.encode, pyon.decode)
V2 = WireCodec("pyon_v2", pyon.encode_v2, pyon.decode_v2)


def check_size(line: bytes, limit: int, what: str) -> None:
    """Raise MessageTooLarge if ``line`` is longer than ``limit``."""
    if len(line) > limit:
        raise MessageTooLarge(
            f"{what} of {len(line)} bytes exceeds max_message_size={limit}", limit, len(line))


# -------------------------------------------------------------- handshake ---

@dataclass(frozen=True)
class Identification:
    targets: list[str]
    description: str | None
    features: list[str]


def identification_line(targets, description: str | None, features) -> bytes:
    """The server's first line, plain JSON in v1 spacing (what 1.8 writes)."""
    ident = {"targets": sorted(targets), "description": description}
    if features:
        ident["features"] = list(features)
    return V1.encode(ident)


def parse_identification(line: bytes) -> Identification:
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolViolation("server identification is not JSON "
                                "(is this a pc_rpc server?)") from None
    if not isinstance(obj, dict):
        raise ProtocolViolation("server identification is not a JSON object")
    targets = obj.get("targets")
    description = obj.get("description")
    features = obj.get("features", [])
    if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
        raise ProtocolViolation("server identification has no list of target names")
    if description is not None and not isinstance(description, str):
        raise ProtocolViolation("server description is not a string")
    if not isinstance(features, list):
        raise ProtocolViolation("server features are not a list")
    return Identification(targets, description, [f for f in features if isinstance(f, str)])


class AutoTarget:
    """Pass as ``target_name`` to select the server's only target."""


def resolve_target(ident: Identification, target_name):
    """The target a client asked for, with AutoTarget resolved (None: none yet)."""
    if target_name is AutoTarget:
        if len(ident.targets) != 1:
            raise IncompatibleServer(f"server has {len(ident.targets)} targets "
                                     f"{ident.targets}; AutoTarget needs exactly one")
        return ident.targets[0]
    return target_name


def select(ident: Identification, selected: str | None, target_name: str):
    """``(selection line, codec)`` for choosing ``target_name``; PYON v2 when
    the server offers it.  IncompatibleServer for a target it does not have."""
    if selected is not None:
        raise IncompatibleServer(f"target {selected!r} is already selected")
    if target_name not in ident.targets:
        raise IncompatibleServer(f"server offers targets {ident.targets}, not {target_name!r}")
    if FEATURE_PYON_V2 in ident.features:
        return selection_line(target_name, [FEATURE_PYON_V2]), V2
    return selection_line(target_name), V1


def selection_line(target: str, features=()) -> bytes:
    """The client's target selection, e.g. ``b"echo pyon_v2\\n"``."""
    if not isinstance(target, str) or not target or any(c.isspace() for c in target):
        raise IncompatibleServer(f"invalid target name {target!r}")
    return " ".join([target, *features]).encode("utf-8") + b"\n"


def parse_selection(line: bytes) -> tuple[str, list[str]]:
    """``(target, features)`` from a selection line; ValueError if malformed."""
    words = line.decode("utf-8").split()
    if not words:
        raise ValueError("empty target selection")
    return words[0], words[1:]


# --------------------------------------------------------------- requests ---

@dataclass(frozen=True)
class Call:
    name: str
    args: tuple
    kwargs: dict


@dataclass(frozen=True)
class MethodListRequest:
    pass


class BadRequest(ValueError):
    """A request that is well-formed PYON but not a valid pc_rpc request."""


METHOD_LIST_REQUEST = {"action": "get_rpc_method_list"}


def call_request(name: str, args: tuple, kwargs: dict) -> dict:
    return {"action": "call", "name": name, "args": tuple(args), "kwargs": dict(kwargs)}


def parse_request(obj: Any) -> Call | MethodListRequest:
    """Validate a decoded request; raises BadRequest with the reason."""
    if not isinstance(obj, dict):
        raise BadRequest(f"a request must be a dict, not {type(obj).__name__}")
    action = obj.get("action")
    if action == "call":
        name = obj.get("name")
        args = obj.get("args", ())
        kwargs = obj.get("kwargs", {})
        if not isinstance(name, str):
            raise BadRequest("a call request needs a method name (str)")
        if isinstance(args, list):
            args = tuple(args)
        if not isinstance(args, tuple):
            raise BadRequest("call arguments must be a tuple or list")
        if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
            raise BadRequest("call keyword arguments must be a dict with str keys")
        return Call(name, args, kwargs)
    if action == "get_rpc_method_list":
        return MethodListRequest()
    raise BadRequest(f"unknown request action {action!r:.60}")


# ---------------------------------------------------------------- replies ---

def ok_reply(value: Any) -> dict:
    return {"status": "ok", "ret": value}


def exception_payload(exc: BaseException) -> dict:
    """How an exception raised by a target travels: builtin classes by name,
    anything else as GenericRemoteException with ``module.Class: text``."""
    cls = type(exc)
    tb = traceback.format_exception(cls, exc, exc.__traceback__)
    if cls.__module__ == "builtins" and getattr(builtins, cls.__name__, None) is cls:
        return {"class": cls.__name__, "message": str(exc), "traceback": tb}
    if cls.__module__ == "sipyco.errors":
        # our own refusals travel as the builtin class they also are
        for base in cls.__mro__:
            if base.__module__ == "builtins" and base not in (Exception, BaseException):
                return {"class": base.__name__, "message": str(exc), "traceback": tb}
    message = "".join(traceback.format_exception_only(cls, exc)).rstrip("\n")
    return {"class": "GenericRemoteException", "message": message, "traceback": tb}


def failed_reply(exc: BaseException) -> dict:
    return {"status": "failed", "exception": exception_payload(exc)}


def _remote_exception(payload: Any) -> BaseException:
    if not isinstance(payload, dict):
        raise ProtocolViolation("failed reply without an exception description")
    name = payload.get("class")
    message = payload.get("message", "")
    tb = payload.get("traceback", [])
    if not isinstance(message, str):
        message = str(message)
    if not isinstance(tb, list):
        tb = []
    cls = getattr(builtins, name, None) if isinstance(name, str) else None
    exc = None
    # Only real builtin Exception classes; never let a peer raise SystemExit
    # or KeyboardInterrupt (or anything else) inside this process.
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            exc = cls(message)
        except Exception:  # noqa: BLE001 - e.g. UnicodeError needs five arguments
            exc = None
    if exc is None:
        if name not in (None, "GenericRemoteException"):
            message = f"{name}: {message}"
        exc = GenericRemoteException(message)
    exc.parent_traceback = [str(line) for line in tb]
    return exc


def reply_outcome(obj: Any) -> tuple[bool, Any]:
    """``(True, value)`` for an ok reply, ``(False, exception)`` for a failed
    one; ProtocolViolation for anything else."""
    if not isinstance(obj, dict):
        raise ProtocolViolation(f"reply is a {type(obj).__name__}, not a dict")
    status = obj.get("status")
    if status == "ok":
        return True, obj.get("ret")
    if status == "failed":
        return False, _remote_exception(obj.get("exception"))
    raise ProtocolViolation(f"reply has unknown status {status!r:.60}")


def encode_reply(codec: WireCodec, reply: dict, limit: int) -> bytes:
    """Encode a server reply; a value that cannot be sent (unencodable, or
    over the size limit) becomes a failed reply saying why."""
    try:
        line = codec.encode(reply)
        check_size(line, limit, "reply")
        return line
    except (EncodeError, MessageTooLarge) as exc:
        return codec.encode(failed_reply(exc))
