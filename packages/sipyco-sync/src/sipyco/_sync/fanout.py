"""What the two one-to-many servers (the sync_struct Publisher and the
broadcast Broadcaster) have in common: the PYON version they write, one
encoding per value whatever the audience, the opening request of a peer
(a banner line, then the name of what it wants) and noticing that a peer
which should send nothing has gone.

How much may wait for one slow peer, and what happens then, is each
server's own business: a sync_struct subscriber is dropped, a broadcast
receiver misses values.  What waits for all peers together is bounded the
same way for both (:class:`SharedBacklog`): past ``max_buffered_bytes``, the
peers holding the most are disconnected.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sipyco import pyon
from sipyco._bounds import HANDSHAKE_LINE_LIMIT
from sipyco._streams import StreamLines, discard_until_closed
from sipyco._tls import TLS_RECORD_START, began_tls, log_tls_on_plain
from sipyco.asyncio_tools import peer_name

__all__ = ["resolve_pyon_version", "text_writer", "as_line", "read_request", "until_gone",
           "SharedBacklog"]


def resolve_pyon_version(pyon_version: int | None) -> int:
    """The PYON version a server writes: ``pyon_version`` when given (1 or
    2), else the process default :data:`sipyco.pyon.DEFAULT_VERSION`.
    ValueError for anything else."""
    if pyon_version is None:
        return pyon.DEFAULT_VERSION
    if isinstance(pyon_version, bool) or pyon_version not in (1, 2):
        raise ValueError(f"pyon_version must be 1, 2 or None (the process default), "
                         f"not {pyon_version!r}")
    return pyon_version


def text_writer(version: int) -> Callable[[Any], str]:
    """A function writing one value as compact PYON text of exactly
    ``version``, whatever the process default.  It raises
    :class:`~sipyco.errors.EncodeError` (a ``TypeError``) naming the value
    it cannot write and where it sits."""
    if version == 1:
        return pyon.encode_v1
    if version == 2:
        return pyon.encode_v2
    raise ValueError(f"PYON version must be 1 or 2, not {version!r}")


def as_line(text: str) -> bytes:
    """The bytes of one protocol line holding ``text`` (PYON text is ASCII)."""
    return (text + "\n").encode("ascii")


async def read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       banner: bytes, timeout: float, log: logging.Logger) -> str | None:
    """The name a connecting peer asks for: it must send the line ``banner``
    (given with its newline), then the name on a line of its own, within
    ``timeout`` seconds.  None means hang up: a wrong banner, a line over
    HANDSHAKE_LINE_LIMIT, the end of the stream or the time running out, or
    the start of a TLS handshake (the one case logged, in ``log``)."""
    try:
        return await asyncio.wait_for(_request(reader, writer, banner.rstrip(b"\n"), log),
                                      timeout)
    except asyncio.TimeoutError:
        return None


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   banner: bytes, log: logging.Logger) -> str | None:
    lines = StreamLines(reader, HANDSHAKE_LINE_LIMIT, hang_up_on_overflow=True)
    if began_tls(await lines.opening(len(TLS_RECORD_START))):
        log_tls_on_plain(log, peer_name(writer))
        return None
    if await lines.next() != banner:
        return None
    name = await lines.next()
    if type(name) is not bytes:
        return None
    return name.decode("utf-8", "replace").rstrip("\r")


class SharedBacklog:
    """What a one-to-many server holds for all its peers together, against
    ``max_buffered_bytes``: past it, the peers holding the most are dropped
    until the total is back within the limit.

    A peer is an object with a ``counted`` attribute (its bytes as last
    charged, 0 to start), a ``held()`` method (its bytes now) and a
    ``drop_over_budget(total, limit)`` method that disconnects it and calls
    :meth:`leave` (it decides whether and when to log: the broadcaster must
    not log from ``broadcast()``).  The server calls :meth:`charge` whenever
    it learns what a peer holds; a charge may be stale on the high side
    (a backlog shrinks as the kernel takes bytes, unseen), so before dropping
    anyone every peer is charged afresh.

    A peer just given bytes it has had no chance to take yet (a subscriber's
    initial structure) is charged with ``spare=True``: if that goes over the
    limit, the others holding the most are dropped first, as they have had
    that chance; only if they hold nothing, or it could never fit on its
    own, is it dropped itself.  (Otherwise a few peers that never read
    would keep every newcomer out: a newcomer holds the most as it arrives.)
    """

    __slots__ = ("limit", "total", "peak", "_peers")

    def __init__(self, limit: int):
        self.limit = limit
        self.total = 0
        self.peak = 0  # the highest total charged (for tests and benchmarks)
        self._peers: set = set()

    def join(self, peer) -> None:
        peer.counted = 0
        self._peers.add(peer)

    def leave(self, peer) -> None:
        if peer in self._peers:
            self._peers.discard(peer)
            self.total -= peer.counted
            peer.counted = 0

    def charge(self, peer, nbytes: int, *, spare: bool = False) -> None:
        """Record that ``peer`` holds ``nbytes``; drop peers if over the
        limit (``spare``: see the class)."""
        total = self.total + nbytes - peer.counted
        peer.counted = nbytes
        self.total = total
        if total > self.peak:
            self.peak = total
        if total > self.limit:
            self._settle(peer if spare else None)

    def _settle(self, spared=None) -> None:
        total = 0
        for peer in self._peers:
            peer.counted = peer.held()
            total += peer.counted
        self.total = total
        if spared is not None and spared.counted > self.limit:
            spared = None  # it can never fit: nobody else goes for it
        while self.total > self.limit and self._peers:
            victim = max((peer for peer in self._peers if peer is not spared),
                         key=_counted, default=None)
            if victim is None or not victim.counted:
                if spared is None or spared not in self._peers:
                    return
                victim, spared = spared, None
                if not victim.counted:
                    return
            victim.drop_over_budget(self.total, self.limit)
            self.leave(victim)


def _counted(peer) -> int:
    return peer.counted


async def until_gone(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Return once a peer that only listens is gone.  Whatever it sends is
    dropped.  Its end of stream may be a half-close (it shut down only its
    sending side and still reads), so this waits for the connection itself
    to close: a failed write, or an abort."""
    await discard_until_closed(reader)
    await writer.wait_closed()
