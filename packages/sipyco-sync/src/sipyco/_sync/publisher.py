"""The sync_struct Publisher: sends each subscriber the initial structure,
then every mod, with a bound on how much may wait for a slow subscriber."""

from __future__ import annotations

import asyncio
import collections
import json
import logging

from sipyco._bounds import (
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_MAX_BACKLOG_BYTES,
    DEFAULT_MAX_BUFFERED_BYTES,
    DEFAULT_MAX_CONNECTIONS,
    check_message_size,
    check_timeout,
)
from sipyco.asyncio_tools import AsyncioServer, peer_name
from sipyco.errors import EncodeError

from .fanout import (
    SharedBacklog,
    as_line,
    read_request,
    resolve_pyon_version,
    text_writer,
    until_gone,
)
from .mods import Notifier

__all__ = ["Publisher", "HELLO"]

logger = logging.getLogger("sipyco.sync_struct")

HELLO = b"ARTIQ sync_struct\n"


#: How much of an initial structure is handed to a subscriber's transport at
#: a time (the transport copies what it cannot send at once, on Python 3.11
#: and older: a subscriber that reads nothing costs this, not the structure).
_INIT_PIECE = 1 << 18


class _Subscription:
    """One subscriber connection.  The initial structure is handed to the
    transport piece by piece as it takes them (:meth:`feed`), from the one
    line every subscriber shares; lines sent meanwhile wait behind it, then
    go straight to the transport, whose write buffer is the backlog.  What
    waits counts against ``max_backlog`` (the initial structure's size
    added: it may be large), past which the subscriber is dropped, and is
    charged to the publisher's :class:`SharedBacklog` (the rest of the
    initial structure included)."""

    def __init__(self, writer: asyncio.StreamWriter, name: str, max_backlog: int,
                 shared: SharedBacklog):
        self.writer = writer
        self.transport = writer.transport
        self.name = name
        self.max_backlog = max_backlog
        self.init_size = 0
        self.shared = shared
        self.counted = 0
        self.dropped = asyncio.Event()
        # the part of the init line not yet handed to the transport (a view
        # of the shared line), and the lines waiting behind it
        self.pending: memoryview | None = None
        self.behind: collections.deque[bytes] = collections.deque()
        self.behind_bytes = 0
        shared.join(self)

    def start(self, init: bytes) -> None:
        """Take the init line (fed to the transport by :meth:`feed`)."""
        self.init_size = len(init)
        self.pending = memoryview(init)
        self._account(spare=True)  # it has had no chance to read it yet

    def send(self, line: bytes) -> None:
        if self.dropped.is_set():
            return
        if self.transport.is_closing():
            self._drop()
            return
        if self.pending is not None:
            self.behind.append(line)
            self.behind_bytes += len(line)
        else:
            self.transport.write(line)
        self._account()

    async def feed(self) -> None:
        """Hand the init line to the transport as fast as it takes it, then
        the lines waiting behind it.  Returns early if the connection goes."""
        transport = self.transport
        try:
            while self.pending is not None and not self.dropped.is_set():
                view = self.pending
                transport.write(view[:_INIT_PIECE])
                if len(view) > _INIT_PIECE:
                    self.pending = view[_INIT_PIECE:]
                    await self.writer.drain()  # until the transport is nearly empty
                    if not self.dropped.is_set():
                        self.shared.charge(self, self.held())
                    continue
                self.pending = None
                behind, self.behind = self.behind, collections.deque()
                self.behind_bytes = 0
                transport.writelines(behind)
                self._account()
        except ConnectionError:
            return  # gone: the connection's task sees that

    def _account(self, spare: bool = False) -> None:
        """Check what waits against the limits, after a change."""
        if self.dropped.is_set():
            return
        backlog = self.held()
        if backlog > self.max_backlog + self.init_size:
            logger.warning("dropping subscriber %s of notifier %r: %d bytes are waiting, "
                           "over max_backlog_bytes=%d (and the %d bytes of the initial "
                           "structure)", peer_name(self.writer), self.name, backlog,
                           self.max_backlog, self.init_size)
            self._drop()
            return
        self.shared.charge(self, backlog, spare=spare)

    def held(self) -> int:
        if self.dropped.is_set():
            return 0
        held = self.transport.get_write_buffer_size()
        if self.pending is not None:
            held += len(self.pending) + self.behind_bytes
        return held

    def drop_over_budget(self, total: int, limit: int) -> None:
        logger.warning("dropping subscriber %s of notifier %r: subscribers' backlogs total "
                       "%d bytes, over max_buffered_bytes=%d, and this one held the most "
                       "(%d bytes)", peer_name(self.writer), self.name, total, limit,
                       self.counted)
        self._drop()

    def _drop(self) -> None:
        self.transport.abort()
        self.dropped.set()
        self.pending = None
        self.behind.clear()
        self.behind_bytes = 0
        self.shared.leave(self)


class Publisher(AsyncioServer):
    """Serves the Notifiers in ``notifiers`` (name -> Notifier) to Subscribers.

    Each new subscriber gets the structure as it is, then every later change
    in order.  Each change is encoded once, when it is made, whatever the
    number of subscribers; so is the structure itself: every subscriber that
    connects while it is unchanged is sent the same bytes (encoded afresh
    after the next change).  A program that changes the structure behind the
    notifier's back must therefore tell :meth:`publish` about it, as it must
    anyway for the subscribers already connected.

    ``pyon_version`` chooses what is written: 1 is PYON v1 (what sipyco 1.8
    subscribers read), 2 is v2 (JSON, what 1.10 publishers write; our
    Subscriber reads it faster), and None, the default, is the process
    default :data:`sipyco.pyon.DEFAULT_VERSION`: v1 unless the environment
    variable ``SIPYCO_PYON_VERSION`` is ``2``.  The chosen version is
    :attr:`pyon_version`.

    A subscriber that does not keep up (stalled, suspended, half-open) is
    disconnected, with a warning naming it, once more than
    ``max_backlog_bytes`` wait to be sent to it; memory stays bounded and the
    other subscribers are not affected.  What waits for all subscribers
    together (initial structures included) is bounded by
    ``max_buffered_bytes``: past it, the subscribers holding the most are
    disconnected, each with a warning.  Peers must complete the handshake
    within ``handshake_timeout`` seconds; at most ``max_connections`` are
    served at once (see :class:`~sipyco.asyncio_tools.AsyncioServer`).

    Raises ValueError for a bad ``pyon_version``, limit or notifier name and
    TypeError for a value of ``notifiers`` that is not a Notifier.
    """

    def __init__(self, notifiers: dict[str, Notifier], *, pyon_version: int | None = None,
                 max_backlog_bytes: int = DEFAULT_MAX_BACKLOG_BYTES,
                 handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 max_buffered_bytes: int = DEFAULT_MAX_BUFFERED_BYTES):
        version = resolve_pyon_version(pyon_version)
        if max_backlog_bytes < 1:
            raise ValueError("max_backlog_bytes must be positive")
        check_timeout(handshake_timeout, "handshake_timeout", allow_none=False)
        check_message_size(max_buffered_bytes, "max_buffered_bytes")
        super().__init__(max_connections=max_connections)
        self._shared = SharedBacklog(max_buffered_bytes)
        #: The PYON version written to subscribers (1 or 2).
        self.pyon_version = version
        self._encode_text = text_writer(version)
        self.max_backlog_bytes = max_backlog_bytes
        self.handshake_timeout = handshake_timeout
        self._notifiers = dict(notifiers)
        self._subscriptions: dict[str, set[_Subscription]] = {}
        # name -> the hooks set on that notifier, and its senders of lines
        self._hooks: dict[str, tuple] = {}
        # name -> the init line of the structure as it is: valid until the
        # next line is sent (a change), shared by every subscriber meanwhile
        self._inits: dict[str, bytes] = {}
        for name, notifier in self._notifiers.items():  # check all before taking any
            if not isinstance(name, str) or not name or any(c in name for c in "\r\n"):
                raise ValueError(f"invalid notifier name {name!r}")
            if not isinstance(notifier, Notifier):
                raise TypeError(f"notifier {name!r} is not a Notifier")
            if notifier.root is not notifier:
                raise ValueError(f"notifier {name!r} is a nested Notifier; publish its root")
            if notifier.publisher_hooks is not None:
                raise ValueError(f"notifier {name!r} already has a publisher")
        for name, notifier in self._notifiers.items():
            subs: set[_Subscription] = set()
            self._subscriptions[name] = subs
            hooks = (self._mod_encoder(name), self._sender(name, subs))
            self._hooks[name] = hooks
            notifier.publisher_hooks = hooks

    def _encode(self, mod: dict) -> bytes:
        return as_line(self._encode_text(mod))

    def _mod_encoder(self, name: str):
        """``encode(mod)`` for notifier ``name``: an EncodeError names the
        value as the program knows it (``status["bad"]``)."""
        encode = self._encode

        def encode_mod(mod: dict) -> bytes:
            try:
                return encode(mod)
            except EncodeError as exc:
                raise self._naming(exc, name, mod) from None
        return encode_mod

    def _naming(self, exc: EncodeError, name: str, mod: dict) -> EncodeError:
        """``exc``, raised for ``mod`` of notifier ``name``, naming the value
        by the notifier's name and the keys that lead to it."""
        path = mod.get("path", ())
        try:
            where = name + "".join(_index(k) for k in path)
        except Exception:  # noqa: BLE001 - a key whose repr fails
            where = name
        action = mod.get("action")
        if action == "init":
            fields = [("struct", name, True)]
        elif action == "setitem":
            key = mod.get("key")
            fields = [("key", f"the key {_index(key)[1:-1]} set in {where}", False),
                      ("value", where + _index(key), True)]
        elif action in ("append", "insert"):
            fields = [("x", f"the value {'appended to' if action == 'append' else 'inserted into'}"
                            f" {where}", False)]
        else:
            fields = [("key", f"the key of a change to {where}", False),
                      ("i", f"the index of a change to {where}", False)]
        fields.append(("path", f"the path of a change to {name}", False))
        for field, subject, joined in fields:
            if field not in mod:
                continue
            try:
                self._encode_text(mod[field])
            except EncodeError as found:
                rel = found.path[1:]
                if joined and found.path != "x" and rel.startswith("["):
                    return exc.naming(subject + rel)
                if found.path == "x":
                    return exc.naming(subject)
                return exc.naming(f"element {rel.strip()} of {subject}")
            except Exception:  # noqa: BLE001 - not this field's encoding
                continue
        return exc

    @property
    def max_buffered_bytes(self) -> int:
        """The bound on bytes waiting for all subscribers together."""
        return self._shared.limit

    @property
    def buffered_bytes(self) -> int:
        """Bytes waiting to be sent to all subscribers together, now."""
        return sum(sub.held() for subs in self._subscriptions.values() for sub in subs)

    def _sender(self, name: str, subs: set[_Subscription]):
        inits = self._inits

        def send(line: bytes) -> None:
            inits.pop(name, None)  # the structure has changed
            for sub in tuple(subs):
                sub.send(line)
        return send

    def _initial_line(self, name: str) -> bytes:
        """The init line of notifier ``name`` as it is now: encoded once and
        reused until the structure changes, while this Publisher follows its
        changes.  EncodeError (a TypeError) or ValueError if it cannot be."""
        hooks = self._hooks[name]
        following = self._notifiers[name].publisher_hooks is hooks
        line = self._inits.get(name) if following else None
        if line is None:
            mod = {"action": "init", "struct": self._notifiers[name].raw_view}
            try:
                line = self._encode(mod)
            except EncodeError as exc:
                raise self._naming(exc, name, mod) from None
            if following:
                self._inits[name] = line
        return line

    def publish(self, notifier: Notifier, mod: dict) -> None:
        """Send ``mod`` to the subscribers of ``notifier`` (one of the
        notifiers this Publisher serves) as if the notifier had made it:
        for programs that apply changes to the structure themselves.
        ValueError for a notifier this Publisher does not serve;
        EncodeError (a TypeError) for a mod that cannot be written."""
        for name, served in self._notifiers.items():
            if served is notifier:
                self._hooks[name][1](self._hooks[name][0](mod))
                return
        raise ValueError(f"{notifier!r} is not one of this Publisher's notifiers")

    def release(self) -> None:
        """Detach from the notifiers so another Publisher may serve them."""
        self._inits.clear()
        for notifier in self._notifiers.values():
            notifier.publisher_hooks = None

    async def _handle_connection_cr(self, reader: asyncio.StreamReader,
                                    writer: asyncio.StreamWriter) -> None:
        name = await self._handshake(reader, writer)
        if name is None:
            return
        # Take the snapshot and join the audience in one step (no await in
        # between): the subscriber gets exactly the mods made after it.
        try:
            init = self._initial_line(name)
        except (TypeError, ValueError) as exc:
            logger.error("cannot send notifier %r to %s: %s", name, peer_name(writer), exc)
            return
        sub = _Subscription(writer, name, self.max_backlog_bytes, self._shared)
        subs = self._subscriptions[name]
        subs.add(sub)
        try:
            sub.start(init)
            # Only the cache (until the structure changes) and the
            # subscription (until its transport has it all) hold the line.
            del init
            feeding = asyncio.ensure_future(sub.feed())
            closed = asyncio.ensure_future(until_gone(reader, writer))
            dropped = asyncio.ensure_future(sub.dropped.wait())
            try:
                await asyncio.wait([closed, dropped], return_when=asyncio.FIRST_COMPLETED)
            finally:
                feeding.cancel()
                closed.cancel()
                dropped.cancel()
        finally:
            subs.discard(sub)
            self._shared.leave(sub)

    async def _handshake(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> str | None:
        """The notifier name a subscriber asks for; None to hang up (a wrong
        banner, an over-long line, no request within handshake_timeout, an
        unknown name)."""
        name = await read_request(reader, writer, HELLO, self.handshake_timeout, logger)
        if name is None:
            return None
        if name not in self._notifiers:
            logger.info("a subscriber asked for unknown notifier %r", name[:80])
            return None
        return name


def _index(key) -> str:
    """``key`` as Python indexing: ``["bad"]``, ``[3]``."""
    if type(key) is str:
        return "[" + json.dumps(key) + "]"
    return f"[{key!r}]"
