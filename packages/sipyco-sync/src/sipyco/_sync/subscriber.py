"""The sync_struct Subscriber: keeps a local copy of a published structure."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sipyco import pyon
from sipyco._streams import LineTooLong, read_line, set_buffer_limit
from sipyco.errors import (
    ConnectionClosed,
    DecodeError,
    MessageTooLarge,
    ProtocolViolation,
    ServerUnreachable,
)

from .mods import process_mod
from .publisher import HELLO

__all__ = ["Subscriber", "DEFAULT_MAX_MESSAGE_SIZE"]

logger = logging.getLogger("sipyco.sync_struct")

DEFAULT_MAX_MESSAGE_SIZE = 1 << 30
_CHUNK = 1 << 18


class Subscriber:
    """Connects to a Publisher and mirrors the notifier ``notifier_name``.

    ``target_builder(struct)`` turns the initial structure into the local
    object mods are applied to (it may simply return it); the result is
    :attr:`target`.  ``notify_cb`` (a callable or a list of them) is called
    with each mod, the init included, after it was applied; one that raises
    is logged and the structure stays in sync.  ``disconnect_cb`` is called
    exactly once when the connection ends for any reason other than
    :meth:`close`.  Mods written as PYON v1 (sipyco 1.8 publishers) and v2
    (1.10 publishers) are both read.
    """

    def __init__(self, notifier_name: str, target_builder: Callable[[Any], Any],
                 notify_cb: Callable | list[Callable] | None = None,
                 disconnect_cb: Callable[[], None] | None = None, *,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE):
        if not notifier_name or any(c in notifier_name for c in "\r\n"):
            raise ValueError(f"invalid notifier name {notifier_name!r}")
        self.notifier_name = notifier_name
        self.target_builder = target_builder
        if notify_cb is None:
            notify_cb = []
        elif not isinstance(notify_cb, list):
            notify_cb = [notify_cb]
        self.notify_cbs = notify_cb
        self.disconnect_cb = disconnect_cb
        self.max_message_size = max_message_size
        self.target: Any = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._receive_task: asyncio.Task | None = None
        self._closing = False

    async def connect(self, host: str, port: int,
                      before_receive_cb: Callable[[], None] | None = None) -> None:
        """Connect, wait for the initial structure and start following mods.

        Raises ServerUnreachable when nobody listens and ConnectionClosed when
        the publisher hangs up instead of sending the structure (most often:
        it has no notifier of that name).
        """
        try:
            self._reader, self._writer = await asyncio.open_connection(
                host, port, limit=self.max_message_size + 1)
        except OSError as exc:
            raise ServerUnreachable(f"cannot connect to {host}:{port}: {exc}") from exc
        self._closing = False
        try:
            self._writer.write(HELLO + self.notifier_name.encode("utf-8") + b"\n")
            if before_receive_cb is not None:
                before_receive_cb()
            set_buffer_limit(self._reader, self.max_message_size + 1)
            try:
                line = await read_line(self._reader, self.max_message_size + 1, resync=False)
            except LineTooLong:
                raise MessageTooLarge(
                    f"the initial structure exceeds max_message_size={self.max_message_size}",
                    self.max_message_size, self.max_message_size + 1) from None
            except (asyncio.IncompleteReadError, OSError) as exc:
                raise ConnectionClosed(f"connection lost before the initial structure: "
                                       f"{exc!r}") from None
            if not line:
                raise ConnectionClosed(
                    f"the publisher at {host}:{port} closed the connection instead of "
                    f"sending notifier {self.notifier_name!r} (does it have one by that name?)")
            try:
                mod = pyon.decode(line)
            except DecodeError as exc:
                raise ProtocolViolation(f"undecodable initial structure: {exc}") from None
            if not isinstance(mod, dict) or mod.get("action") != "init" or "struct" not in mod:
                raise ProtocolViolation("the publisher did not start with an init message")
            self.target = self.target_builder(mod["struct"])
            self._notify(mod)
        except BaseException:
            self._shutdown()
            raise
        self._receive_task = asyncio.ensure_future(self._receive())

    async def close(self) -> None:
        """Disconnect (``disconnect_cb`` is not called)."""
        self._closing = True
        task, self._receive_task = self._receive_task, None
        self._shutdown()
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _shutdown(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()

    def _notify(self, mod: dict) -> None:
        for cb in self.notify_cbs:
            try:
                cb(mod)
            except Exception:
                logger.exception("notify callback %r failed on %s mod", cb, mod.get("action"))

    async def _receive(self) -> None:
        reason = "the publisher closed the connection"
        try:
            async for mod in self._mods():
                try:
                    process_mod(self.target, mod)
                except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
                    # the copy can no longer be trusted to match the publisher's
                    reason = f"a mod could not be applied: {exc!r}"
                    logger.error("subscriber of %r: %s", self.notifier_name, reason)
                    break
                self._notify(mod)
        except _Stop as stop:
            reason = stop.reason
            logger.error("subscriber of %r: %s", self.notifier_name, reason)
        except (asyncio.IncompleteReadError, OSError) as exc:
            reason = f"connection lost: {exc!r}"
        finally:
            if not self._closing:
                self._shutdown()
                logger.info("subscriber of %r disconnected: %s", self.notifier_name, reason)
                if self.disconnect_cb is not None:
                    try:
                        self.disconnect_cb()
                    except Exception:
                        logger.exception("disconnect callback failed")

    async def _mods(self):
        """Decoded mods, read in large chunks: a burst of small mods costs one
        wake-up, not one per line."""
        reader = self._reader
        limit = self.max_message_size
        decode = pyon.decode
        pending: list[bytes] = []  # the start of a line still being received
        pending_size = 0
        while True:
            data = await reader.read(_CHUNK)
            if not data:
                if pending:
                    raise _Stop("the connection ended in the middle of a mod")
                return
            if b"\n" not in data:
                pending.append(data)
                pending_size += len(data)
                if pending_size > limit:
                    raise _Stop(f"a mod exceeds max_message_size={limit}")
                continue
            if pending:
                pending.append(data)
                data = b"".join(pending)
                pending.clear()
                pending_size = 0
            lines = data.split(b"\n")
            rest = lines.pop()
            if rest:
                pending.append(rest)
                pending_size = len(rest)
            for line in lines:
                if len(line) > limit:
                    raise _Stop(f"a mod of {len(line)} bytes exceeds max_message_size={limit}")
                try:
                    mod = decode(line)
                except DecodeError as exc:
                    raise _Stop(f"undecodable mod: {exc}") from None
                if not isinstance(mod, dict) or "action" not in mod:
                    raise _Stop("a mod that is not a dict with an action")
                yield mod


class _Stop(Exception):
    """Internal: the stream of mods cannot be followed any further."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
