"""The pc_rpc messages, without any I/O: handshake lines, requests, replies
and the exceptions failed replies carry.

These are the pieces :mod:`.connection` assembles into the client and server
state machines; each turns a decoded message into a checked value or a value
into a message, and raises ProtocolViolation (or BadRequest, on the server
side) for a message the protocol does not allow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from json.encoder import encode_basestring_ascii as _json_string
from typing import Any, NamedTuple

from sipyco import packed_exceptions, pyon
from sipyco.errors import DecodeError, EncodeError, ProtocolViolation

__all__ = [
    "HELLO", "FEATURE_PYON_V2", "Identification", "WireCodec", "V1", "V2", "AutoTarget",
    "identification_line", "parse_identification", "selection_line", "parse_selection",
    "parse_method_names", "Call", "MethodListRequest", "BadRequest", "call_request",
    "METHOD_LIST_REQUEST", "parse_request", "ok_reply", "failed_reply", "exception_payload",
    "reply_outcome",
]

HELLO = b"ARTIQ pc_rpc\n"
FEATURE_PYON_V2 = "pyon_v2"


# ---------------------------------------------------------------- framing ---

def _inside(path: str, subject: str) -> str:
    """``subject``, or the part of it at ``path`` (an encoder's path from
    ``x``, the subject itself)."""
    return subject if path == "x" else f"element {path[1:].strip()} of {subject}"


class WireCodec:
    """How values become lines once the PYON version is settled.

    Calls and ok replies, one per message, are written from a template
    around their values (what the generic writer would give, byte for byte,
    at half the cost); anything that cannot be written that way goes through
    the generic writer, which explains the failure.
    """

    def __init__(self, version: int):
        self.version = version
        self.name = f"pyon_v{version}"
        if version == 1:  # v1 peers write v1; JSON text reads the same either way
            self._encode, self._decode = pyon.encode_v1, pyon.decode
            self._decode_in_pieces = pyon.decode_in_pieces
            self._call = ('{"action": "call", "name": ', ', "args": ', ', "kwargs": ', "}\n")
            self._ok = '{"status": "ok", "ret": '
        else:
            self._encode, self._decode = pyon.encode_v2, pyon.decode_v2
            self._decode_in_pieces = partial(pyon.decode_in_pieces, v2_only=True)
            self._call = ('{"action":"call","name":', ',"args":', ',"kwargs":', "}\n")
            self._ok = '{"status":"ok","ret":'

    def encode(self, value: Any) -> bytes:
        return (self._encode(value) + "\n").encode("ascii")

    def encode_call(self, name: str, args: tuple, kwargs: dict) -> bytes:
        """``encode(call_request(name, args, kwargs))``, faster."""
        head, before_args, before_kwargs, end = self._call
        try:
            write = pyon.writer(self.version)
            text = (head + _json_string(name) + before_args + write(tuple(args))
                    + before_kwargs + write(dict(kwargs)) + end)
        except Exception:  # noqa: BLE001 - the generic writer says what failed
            try:
                return self.encode(call_request(name, args, kwargs))
            except EncodeError as exc:
                raise self._naming_argument(exc, name, args, kwargs) from None
        return text.encode("ascii")

    def _naming_argument(self, exc: EncodeError, name: str, args: tuple,
                         kwargs: dict) -> EncodeError:
        """``exc`` (for a whole call request) naming the argument as the
        caller wrote it: ``argument 1 of f()``, ``keyword 'w' of f()``."""
        where = [(f"argument {i} of {name}()", a) for i, a in enumerate(args, 1)]
        where += [(f"keyword {k!r} of {name}()", v) for k, v in dict(kwargs).items()]
        for subject, value in where:
            found = self._failure(value)
            if found is not None:
                return exc.naming(_inside(found.path, subject))
        return exc

    def _failure(self, value: Any) -> EncodeError | None:
        try:
            self._encode(value)
        except EncodeError as exc:
            return exc
        except Exception:  # noqa: BLE001 - not this value's encoding
            return None
        return None

    def encode_ok(self, value: Any, method: str | None = None) -> bytes:
        """``encode(ok_reply(value))``, faster.  ``method``: the name of the
        method that returned ``value``, for an EncodeError to name it
        (``the return value of get_trace()``)."""
        try:
            text = self._ok + pyon.writer(self.version)(value) + "}\n"
        except Exception:  # noqa: BLE001 - the generic writer says what failed
            try:
                return self.encode(ok_reply(value))
            except EncodeError as exc:
                if method is None:
                    raise
                found = self._failure(value)
                path = "x" if found is None else found.path
                raise exc.naming(_inside(path, f"the return value of {method}()")) from None
        return text.encode("ascii")

    def decode(self, line: bytes, in_pieces: bool = False) -> Any:
        """The value of ``line``; ``in_pieces``: read by a worker thread
        (see :func:`sipyco.pyon.decode_in_pieces`)."""
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError as exc:
            raise DecodeError("message is not ASCII", exc.start) from None
        return (self._decode_in_pieces if in_pieces else self._decode)(text)

    def __repr__(self) -> str:
        return f"<WireCodec {self.name}>"


V1 = WireCodec(1)
V2 = WireCodec(2)


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


def check_target_name(target_name: Any) -> None:
    """Raise ``ValueError`` unless ``target_name`` is a non-empty string
    without whitespace (what a selection line can carry)."""
    if not isinstance(target_name, str) or not target_name \
            or any(c.isspace() for c in target_name):
        raise ValueError(f"invalid target name {target_name!r}: target names are "
                         "non-empty strings without whitespace")


class AutoTarget:
    """Pass as ``target_name`` to select the server's only target."""


def selection_line(target: str, features=()) -> bytes:
    """The client's target selection, e.g. ``b"echo pyon_v2\\n"``."""
    return " ".join([target, *features]).encode("utf-8") + b"\n"


def parse_selection(line: bytes) -> tuple[str, list[str]]:
    """``(target, features)`` from a selection line; ValueError if malformed."""
    words = line.decode("utf-8").split()
    if not words:
        raise ValueError("empty target selection")
    return words[0], words[1:]


def parse_method_names(obj: Any) -> frozenset[str] | None:
    """The method names a server lists after target selection.

    Servers send a set (upstream 1.8 writes an empty one as ``{}``, which
    reads back as an empty dict); None means the server sent no list.
    ProtocolViolation for anything else.
    """
    if obj is None:
        return None
    if isinstance(obj, dict) and not obj:
        return frozenset()
    if isinstance(obj, (set, frozenset, list, tuple)) and all(isinstance(n, str) for n in obj):
        return frozenset(obj)
    raise ProtocolViolation(f"expected a set of method names, got {type(obj).__name__}")


# --------------------------------------------------------------- requests ---

class Call(NamedTuple):  # one is made per request
    """A request to call method ``name``."""

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
    if type(action) is not str:  # compared with str only: a numpy array's == is no bool
        raise BadRequest(f"a request's action must be a str, not {type(action).__name__}")
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


#: How an exception raised by a target travels (builtin classes by name,
#: anything else as GenericRemoteException with ``module.Class: text``):
#: :func:`sipyco.packed_exceptions.pack`, the one implementation.
exception_payload = packed_exceptions.pack


def failed_reply(exc: BaseException) -> dict:
    return {"status": "failed", "exception": exception_payload(exc)}


def _remote_exception(payload: Any) -> BaseException:
    if not isinstance(payload, dict):
        raise ProtocolViolation("failed reply without an exception description")
    return packed_exceptions.unpack(payload)


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
