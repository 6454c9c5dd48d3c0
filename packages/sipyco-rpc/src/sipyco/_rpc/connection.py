"""The pc_rpc protocol as two connection objects, without any I/O.

:class:`ClientConnection` and :class:`ServerConnection` are state machines in
the manner of h11: a driver feeds them the bytes it received
(``receive_data``), takes the events they produce (``next_event``) and sends
the bytes their methods return.  Everything the protocol knows lives here:
the handshake steps, target choice and selection, the method list, the PYON
codec in force, request and reply messages, the order replies come in, and
the limits.  This is the one place where a peer's bytes become events or
:class:`~sipyco.errors.ProtocolViolation` / ``MessageTooLarge``.

The blocking, asyncio and best-effort clients and the asyncio server are
thin drivers over these objects: they move bytes and apply deadlines.
"""

from __future__ import annotations

import collections
import difflib
import enum
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy

from sipyco._bounds import (
    DEFAULT_MAX_MESSAGE_SIZE,
    HANDSHAKE_LINE_LIMIT,
    SMALLEST_SERVER_LIMIT,
    check_message_size,
)
from sipyco._framing import LineBuffer, LineTooLong
from sipyco._tls import TLS_RECORD_START, began_tls
from sipyco.errors import (
    ConnectionClosed,
    DecodeError,
    EncodeError,
    IncompatibleServer,
    MessageTooLarge,
    NestingTooDeep,
    ProtocolViolation,
)

from . import protocol as p

__all__ = [
    "NEED_DATA", "Identified", "Selected", "Reply", "ClientConnection",
    "HelloReceived", "SelectionRequested", "RequestReceived", "RequestUnread", "HangUp",
    "ServerConnection",
]


class _NeedData:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


#: What ``next_event`` returns when it needs more bytes.
NEED_DATA = _NeedData()


class _State(enum.Enum):
    IDLE = "not started"
    IDENTIFYING = "waiting for the server's identification"
    IDENTIFIED = "connected, no target selected"
    SELECTING = "waiting for the method list"
    READY = "ready"
    CLOSED = "closed"


# ------------------------------------------------------------- client events ---

@dataclass(frozen=True)
class Identified:
    """The server's identification arrived (see :class:`protocol.Identification`)."""

    identification: p.Identification


@dataclass(frozen=True)
class Selected:
    """Target selection is complete; ``methods`` are the names the server
    listed (None when it sent no usable list)."""

    target: str
    methods: frozenset[str] | None


class Reply(NamedTuple):  # a tuple, not a dataclass: one is made per call
    """The reply to the oldest outstanding request: ``ok`` and the returned
    value, or not ``ok`` and the exception to raise (a remote method's
    RemoteError, or MessageTooLarge for a reply over the client's limit).
    ``tag`` is what the driver passed when sending the request."""

    ok: bool
    value: Any
    tag: Any = None

    def unwrap(self) -> Any:
        """The value, or raise the exception."""
        if self.ok:
            return self.value
        raise self.value


class ClientConnection:
    """The client side of one pc_rpc connection.

    Steps: :meth:`initiate` (the hello to send), then events: one
    :class:`Identified`; :meth:`select` (the selection line to send), then
    one :class:`Selected`; then :meth:`call` / :meth:`method_list_request`
    (lines to send), each answered, in order, by one :class:`Reply`.

    The caller's mistakes raise at once, before anything is to be sent:
    ValueError (a bad target name), RuntimeError (no target selected, or
    selected twice), EncodeError and MessageTooLarge (a request that cannot
    be sent), ConnectionClosed (after :meth:`close`).  The server's faults are
    raised by :meth:`next_event` as ProtocolViolation or ConnectionClosed,
    and close the connection; only an over-long reply leaves it usable (the
    reply's bytes were read and thrown away, so the stream is still in step).
    """

    def __init__(self, *, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE):
        self.max_message_size = check_message_size(max_message_size)
        self._lines = LineBuffer(HANDSHAKE_LINE_LIMIT)
        self._state = _State.IDLE
        self._closed_because: str | None = None
        self._eof = False
        self.identification: p.Identification | None = None
        self.target: str | None = None
        self._requested_target: str | None = None
        self.methods: frozenset[str] | None = None
        self.codec: p.WireCodec = p.V1
        self._outstanding: collections.deque = collections.deque()

    # ---- state

    @property
    def closed(self) -> bool:
        return self._state is _State.CLOSED

    @property
    def closed_because(self) -> str | None:
        return self._closed_because

    @property
    def outstanding(self) -> int:
        """Requests sent and not yet answered."""
        return len(self._outstanding)

    def close(self, why: str) -> None:
        """Mark the connection closed (the first reason given is kept)."""
        if self._state is not _State.CLOSED:
            self._state = _State.CLOSED
            self._closed_because = why

    def abandon(self) -> list:
        """Once closed: the tags of the requests that will never be answered
        (each returned once)."""
        if self._state is not _State.CLOSED:
            raise RuntimeError("the connection is still open")
        abandoned = list(self._outstanding)
        self._outstanding.clear()
        return abandoned

    def _fail(self, exc: Exception) -> Exception:
        self.close(str(exc))
        return exc

    # ---- handshake

    def initiate(self) -> bytes:
        """The hello line to send first."""
        if self._state is not _State.IDLE:
            raise RuntimeError("the connection has already started")
        self._state = _State.IDENTIFYING
        return p.HELLO

    def resolve_target(self, target_name: Any) -> str | None:
        """The target name a client asked for, with AutoTarget resolved.
        IncompatibleServer when AutoTarget finds not exactly one target."""
        ident = self._identified()
        if target_name is p.AutoTarget:
            if len(ident.targets) != 1:
                raise IncompatibleServer(f"the server has {len(ident.targets)} targets "
                                         f"{ident.targets}; AutoTarget needs exactly one")
            return ident.targets[0]
        return target_name

    def select(self, target_name: str) -> bytes:
        """The selection line for ``target_name`` (with PYON v2 when the
        server offers it).  ValueError for a malformed name, RuntimeError when
        a target is already selected, IncompatibleServer when the server
        does not offer it."""
        self._check_open()
        ident = self._identified()
        if self._state is not _State.IDENTIFIED:
            raise RuntimeError(f"target {self.target or self._requested_target!r} "
                               "is already selected")
        p.check_target_name(target_name)
        if target_name not in ident.targets:
            raise IncompatibleServer(f"the server offers targets {ident.targets}, "
                                     f"not {target_name!r}")
        use_v2 = p.FEATURE_PYON_V2 in ident.features
        self._requested_target = target_name
        self._pending_codec = p.V2 if use_v2 else p.V1
        self._state = _State.SELECTING
        self._lines.limit = self.max_message_size
        return p.selection_line(target_name, [p.FEATURE_PYON_V2] if use_v2 else [])

    def _identified(self) -> p.Identification:
        if self.identification is None:
            self._check_open()
            raise RuntimeError("the server has not identified itself yet")
        return self.identification

    # ---- requests

    def _check_open(self) -> None:
        if self._state is _State.CLOSED:
            raise ConnectionClosed(f"connection is closed ({self._closed_because})")

    def call(self, name: str, args: tuple = (), kwargs: dict | None = None,
             tag: Any = None) -> bytes:
        """The line that calls method ``name``; its Reply will carry ``tag``."""
        if self._state is not _State.READY:  # (inlined: once per call)
            self._not_ready()
        line = self.codec.encode_call(name, args, {} if kwargs is None else kwargs)
        if len(line) - 1 > self.max_message_size:  # EncodeError above: the caller's value
            raise MessageTooLarge("request", len(line) - 1, self.max_message_size)
        self._outstanding.append(tag)
        return line

    def method_list_request(self, tag: Any = None) -> bytes:
        """The line that asks for the target's method list."""
        if self._state is not _State.READY:
            self._not_ready()
        self._outstanding.append(tag)
        return self.codec.encode(p.METHOD_LIST_REQUEST)

    def _not_ready(self) -> None:
        self._check_open()
        raise RuntimeError("no target selected; select one first (select_rpc_target)")

    def missing_method(self, name: str) -> str | None:
        """Why the selected target has no method ``name`` (the text of an
        AttributeError), or None when it has.  A server that sent no usable
        method list (None) is taken to have every method: the call itself
        then says whether it exists."""
        if self.target is None:
            if self._state is _State.CLOSED and self.identification is None:
                return f"not connected, so there is no method {name!r}"
            return (f"no target is selected (select_rpc_target), so there is no "
                    f"method {name!r} yet")
        methods = self.methods
        if methods is None or name in methods:
            return None
        close = difflib.get_close_matches(name, sorted(methods), n=3)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        return f"target {self.target!r} has no method {name!r}{hint}"

    # ---- bytes in, events out

    def receive_data(self, data: bytes) -> None:
        """Feed received bytes; ``b""`` means the server closed its side."""
        if data:
            self._lines.feed(data)
        else:
            self._eof = True

    def next_event(self) -> Identified | Selected | Reply | _NeedData:
        """The next event, or NEED_DATA.  Raises the server's faults."""
        state = self._state
        if state is _State.CLOSED:
            raise ConnectionClosed(f"connection is closed ({self._closed_because})")
        line = self._lines.next_line()
        if line is None:
            if self._eof:
                raise self._fail(ConnectionClosed(self._eof_reason()))
            if self._lines.overflow and state is _State.IDENTIFYING:
                raise self._fail(ProtocolViolation(
                    f"the server's identification is longer than {HANDSHAKE_LINE_LIMIT} "
                    "bytes (is this a pc_rpc server?)"))
            return NEED_DATA
        if state is _State.READY:
            return self._reply(line)
        if state is _State.IDENTIFYING:
            return self._identification(line)
        if state is _State.SELECTING:
            return self._method_list(line)
        raise self._fail(ProtocolViolation(
            f"the server sent a message while {state.value} (expected nothing)"))

    def _eof_reason(self) -> str:
        if self._state is _State.IDENTIFYING:
            return "the server closed the connection before identifying itself"
        if self._state is _State.SELECTING:
            return (f"the server closed the connection after target "
                    f"{self._requested_target!r} was selected")
        if self._outstanding:
            return "the server closed the connection before the reply arrived"
        return "the server closed the connection"

    def _identification(self, line: bytes | LineTooLong) -> Identified:
        if isinstance(line, LineTooLong):  # (only when fed without taking lines)
            raise self._fail(ProtocolViolation(
                f"the server's identification is longer than {HANDSHAKE_LINE_LIMIT} "
                "bytes (is this a pc_rpc server?)"))
        try:
            ident = p.parse_identification(line)
        except ProtocolViolation as exc:
            raise self._fail(exc) from None
        self.identification = ident
        self._state = _State.IDENTIFIED
        return Identified(ident)

    def _method_list(self, line: bytes | LineTooLong) -> Selected:
        if isinstance(line, LineTooLong):
            raise self._fail(ProtocolViolation(
                f"the server's method list of {line.size} bytes exceeds this client's "
                f"max_message_size={self.max_message_size}"))
        codec = self._pending_codec
        try:
            methods = p.parse_method_names(codec.decode(line))
        except (DecodeError, ProtocolViolation) as exc:
            raise self._fail(ProtocolViolation(
                f"the server sent a malformed method list: {exc}")) from None
        self.codec = codec
        self.target = self._requested_target
        self.methods = methods
        self._state = _State.READY
        return Selected(self.target, methods)

    def _reply(self, line: bytes | LineTooLong) -> Reply:
        if not self._outstanding:
            raise self._fail(ProtocolViolation("the server sent a reply nobody asked for"))
        if isinstance(line, LineTooLong):
            return Reply(False, MessageTooLarge("reply", line.size, self.max_message_size,
                                                whose="this client's"),
                         self._outstanding.popleft())
        try:
            ok, value = p.reply_outcome(self.codec.decode(line))
        except NestingTooDeep as exc:
            # well framed, only deeper than this reader goes: like an
            # over-long reply, that call fails and the connection stays
            return Reply(False, NestingTooDeep(
                f"the server's reply nests deeper than this client reads: {exc.reason}",
                exc.offset, exc.limit),
                self._outstanding.popleft())
        except (DecodeError, ProtocolViolation) as exc:
            raise self._fail(ProtocolViolation(
                f"the server sent a malformed reply: {exc}")) from None
        return Reply(ok, value, self._outstanding.popleft())


# ------------------------------------------------------------- server events ---

@dataclass(frozen=True)
class HelloReceived:
    """A client greeted the server: send :meth:`ServerConnection.identify`."""


@dataclass(frozen=True)
class SelectionRequested:
    """The client chose ``target``; accept with :meth:`ServerConnection.accept`."""

    target: str
    features: tuple[str, ...]


class RequestReceived(NamedTuple):  # one is made per request
    """A request to act on: ``request`` is a :class:`protocol.Call` or
    :class:`protocol.MethodListRequest`, or None when the request was refused
    (``refusal`` then holds the failed reply to send)."""

    request: p.Call | p.MethodListRequest | None
    refusal: dict | None = None


class RequestUnread(NamedTuple):
    """A request line slow to decode (see ``read_over`` in
    :class:`ServerConnection`), not yet decoded: pass ``line`` to
    :meth:`ServerConnection.read_request`, which may run in another thread."""

    line: bytes


class HangUp(Exception):
    """A client broke the handshake: close the connection without a word
    (what upstream servers do); ``reason`` is for the log.  ``tls``: the
    client began a TLS handshake (worth telling the operator about: one
    side lacks ``ssl_config``)."""

    def __init__(self, reason: str, *, tls: bool = False, farewell: bytes = b""):
        super().__init__(reason)
        self.reason = reason
        self.tls = tls
        #: What to send before closing: the identification, to a sync_struct
        #: subscriber (so that it can tell its user what it found), else nothing.
        self.farewell = farewell


#: See :class:`ServerConnection`'s ``read_over``.
DENSE_BYTES = 64
ALWAYS_UNREAD = 64
# How much of each end of a long request line may hold commas without its
# being counted: the head and tail of a request around one long literal.
_EDGE = 4096
_COMMA = ord(",")

# A sync_struct subscriber's first line: answered with the identification
# before hanging up, so that a subscriber pointed here can say what it found.
_SUBSCRIBER_HELLO = b"ARTIQ sync_struct"

# The server's steps.
_HELLO, _SELECTION, _ACCEPTING, _REQUESTS = "hello", "selection", "accepting", "requests"


class ServerConnection:
    """The server side of one pc_rpc connection.

    Events: :class:`HelloReceived`, then :class:`SelectionRequested`, then
    :class:`RequestReceived` for every request.  A client that breaks the
    handshake makes :meth:`next_event` raise :class:`HangUp`.  After the
    handshake nothing a client sends closes the connection: an undecodable,
    malformed or over-long request becomes a RequestReceived carrying the
    failed reply to send, so the client learns why and stays in step.

    With ``read_over`` set, a request line that is slow to decode comes as
    a :class:`RequestUnread` event instead, for the driver to decode where
    it likes (the asyncio server: in a thread, so that a large request does
    not hold its other clients up) with :meth:`read_request`.  Slow: at
    least ``read_over`` bytes holding many values (a comma per
    :data:`DENSE_BYTES` bytes or more: the reader spends Python time per
    value), or at least :data:`ALWAYS_UNREAD` times ``read_over`` bytes
    whatever they hold (an array's payload is decoded in C, a gigabyte a
    second or so).  Between the event and that call the connection must be
    left alone.
    """

    def __init__(self, targets, features, *, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 description: str | None = None, read_over: int | None = None):
        check_message_size(max_message_size, minimum=SMALLEST_SERVER_LIMIT)
        self._read_over = read_over
        self._targets = targets
        self._features = list(features)
        self._description = description
        self.max_message_size = max_message_size
        self._lines = LineBuffer(HANDSHAKE_LINE_LIMIT)
        self._step = _HELLO
        self.codec: p.WireCodec = p.V1

    def receive_data(self, data: bytes) -> None:
        self._lines.feed(data)

    @property
    def buffered(self) -> int:
        """Bytes received and held, not yet taken as events: the start of an
        unfinished line, and complete lines not yet processed.  (The driver
        counts them against its server-wide budget.)"""
        return self._lines.buffered

    def next_event(self) -> (HelloReceived | SelectionRequested | RequestReceived | RequestUnread
                             | _NeedData):
        step = self._step
        if step is _REQUESTS:  # the hot path first
            line = self._lines.next_line()
            if line is None:
                return NEED_DATA
            if self._read_over is not None and type(line) is bytes \
                    and len(line) >= self._read_over and self._slow(line):
                return RequestUnread(line)
            return self.read_request(line)
        if step is _ACCEPTING:  # what follows the selection waits for accept()
            return NEED_DATA
        if step is _HELLO and began_tls(self._lines.peek(len(TLS_RECORD_START))):
            raise HangUp("it began a TLS handshake", tls=True)
        line = self._lines.next_line()
        if line is None:
            if self._lines.overflow:
                raise HangUp(f"a handshake line longer than {HANDSHAKE_LINE_LIMIT} bytes")
            return NEED_DATA
        if isinstance(line, LineTooLong):
            raise HangUp(f"a handshake line of {line.size} bytes")
        if step is _HELLO:
            if line != p.HELLO[:-1]:
                farewell = self.identify() if line == _SUBSCRIBER_HELLO else b""
                raise HangUp("it did not greet as a pc_rpc client", farewell=farewell)
            self._step = _SELECTION
            return HelloReceived()
        try:
            target, features = p.parse_selection(line)
        except ValueError as exc:
            raise HangUp(f"a malformed target selection ({exc})") from None
        if target not in self._targets:
            raise HangUp(f"it asked for unknown target {target[:80]!r}")
        if not set(features) <= set(self._features):
            raise HangUp(f"it asked for unknown features {features!r:.80}")
        self._step = _ACCEPTING
        return SelectionRequested(target, tuple(features))

    def _slow(self, line: bytes) -> bool:
        if len(line) >= ALWAYS_UNREAD * self._read_over:
            return True
        if len(line) > 4 * _EDGE and line.find(b",", _EDGE, len(line) - _EDGE) < 0:
            # A line that is one long literal between short ends (an
            # array's payload, a long string): quick to read, and quicker to
            # tell (one memchr) than by counting.
            return False
        # the commas counted in numpy: three times as fast as bytes.count
        commas = numpy.count_nonzero(numpy.frombuffer(line, dtype=numpy.uint8) == _COMMA)
        return commas * DENSE_BYTES >= len(line)

    def identify(self) -> bytes:
        """The identification line (plain JSON, what 1.8 servers write)."""
        return p.identification_line(self._targets, self._description, self._features)

    def accept(self, selection: SelectionRequested, method_names) -> bytes:
        """Settle the codec the client chose and return the method-list line."""
        self.codec = p.V2 if p.FEATURE_PYON_V2 in selection.features else p.V1
        self._step = _REQUESTS
        self._lines.limit = self.max_message_size
        return self.codec.encode(set(method_names))

    def read_request(self, line: bytes | LineTooLong, in_pieces: bool = False) -> RequestReceived:
        """The event for one request line (see :class:`RequestUnread`);
        ``in_pieces``: read by a worker thread (see
        :func:`sipyco.pyon.decode_in_pieces`)."""
        if isinstance(line, LineTooLong):
            return RequestReceived(None, p.failed_reply(MessageTooLarge(
                "request", line.size, self.max_message_size, whose="the server's")))
        try:
            return RequestReceived(p.parse_request(self.codec.decode(line, in_pieces)))
        except (DecodeError, p.BadRequest) as exc:
            return RequestReceived(None, p.failed_reply(ValueError(f"malformed request: {exc}")))

    def reply(self, reply: dict, method: str | None = None) -> bytes:
        """The line for ``reply`` (see :func:`protocol.ok_reply`,
        :func:`protocol.failed_reply`); a reply that cannot be sent
        (unencodable, or over ``max_message_size``) becomes a failed reply
        saying why.  ``method``: the name of the method called, for that
        failure to name (``the return value of get_trace()``)."""
        return self.reply_line(reply, method)[0]

    def reply_line(self, reply: dict, method: str | None = None) -> tuple[bytes, Exception | None]:
        """``(line, None)`` as :meth:`reply` gives it, or, for a reply that
        could not be sent, the failed reply sent instead and why."""
        try:
            if reply["status"] == "ok":
                line = self.codec.encode_ok(reply["ret"], method)
            else:
                line = self.codec.encode(reply)
        except EncodeError as exc:
            return self._failure(exc), exc
        if len(line) - 1 > self.max_message_size:
            exc = MessageTooLarge("reply", len(line) - 1, self.max_message_size,
                                  whose="the server's")
            return self._failure(exc), exc
        return line, None

    def _failure(self, exc: Exception) -> bytes:
        """A failed reply that fits within ``max_message_size``: without the
        traceback, and with the message cut short, if need be."""
        reply = p.failed_reply(exc)
        line = self.codec.encode(reply)
        if len(line) - 1 > self.max_message_size:
            payload = reply["exception"]
            payload["traceback"] = []
            payload["message"] = payload["message"][:self.max_message_size // 2]
            line = self.codec.encode(reply)
        return line
