"""TCP keepalive: notice a peer that vanished (powered off, cable pulled)
on a connection that is otherwise idle.

Without keepalive an idle TCP connection to a dead machine looks healthy
forever.  With it the kernel probes the peer after ``after_idle`` seconds of
silence, every ``interval`` seconds, and declares the connection dead after
``max_fails`` unanswered probes; the next read or write then fails.

Each parameter left as None keeps the system's default.  A parameter the
platform cannot set (for instance the probe count on an old Windows) is
skipped; ``SO_KEEPALIVE`` itself is always turned on.
"""

from __future__ import annotations

import asyncio
import math
import socket
import sys
from typing import Any

__all__ = ["set_keepalive", "async_open_connection", "create_connection"]

# The socket options for the three settings, where this platform has them.
# macOS names the idle time TCP_KEEPALIVE (0x10) and Python does not always
# export that name.
_IDLE = getattr(socket, "TCP_KEEPIDLE", None)
if _IDLE is None and sys.platform == "darwin":
    _IDLE = getattr(socket, "TCP_KEEPALIVE", 0x10)
_INTERVAL = getattr(socket, "TCP_KEEPINTVL", None)
_COUNT = getattr(socket, "TCP_KEEPCNT", None)


def _whole(value: float | None, name: str) -> int | None:
    """``value`` as the whole number the kernel wants (seconds are rounded
    up, so a probe never comes earlier than asked); None stays None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    if not value > 0 or math.isinf(value):
        raise ValueError(f"{name} must be a positive finite number, not {value!r}")
    return math.ceil(value)


def set_keepalive(sock: Any, after_idle: float | None = None, interval: float | None = None,
                  max_fails: int | None = None) -> None:
    """Turn on TCP keepalive on ``sock`` (a connected or listening TCP socket,
    or the ``socket`` extra info of an asyncio transport).

    ``after_idle``: seconds of silence before the first probe; ``interval``:
    seconds between probes; ``max_fails``: unanswered probes before the
    connection is dropped.  Seconds are rounded up to whole seconds.
    ValueError (or TypeError) for a value that is not a positive number,
    before anything is changed; OSError if the system refuses a value.
    """
    settings = [(_IDLE, _whole(after_idle, "after_idle")),
                (_INTERVAL, _whole(interval, "interval")),
                (_COUNT, _whole(max_fails, "max_fails"))]
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in settings:
        if option is not None and value is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


async def async_open_connection(host: str | None, port: int | str, *args: Any,
                                after_idle: float | None = None,
                                interval: float | None = None,
                                max_fails: int | None = None,
                                **kwargs: Any) -> tuple[asyncio.StreamReader,
                                                        asyncio.StreamWriter]:
    """:func:`asyncio.open_connection` with keepalive turned on (see
    :func:`set_keepalive`); returns ``(reader, writer)``.  Other arguments
    go to :func:`asyncio.open_connection` unchanged.

    ``host`` and ``port`` are where to connect.  ``after_idle`` (seconds of
    silence before the first probe), ``interval`` (seconds between probes)
    and ``max_fails`` (unanswered probes before the connection is dropped)
    are keyword-only and default to ``None``, the system's setting.  A value
    that is not a positive finite number raises ``ValueError`` (``TypeError``
    if it is not a number) before connecting; if the system then refuses
    one, the connection is closed and the ``OSError`` is raised."""
    # check the values before connecting: a bad one is the caller's mistake
    for value, name in ((after_idle, "after_idle"), (interval, "interval"),
                        (max_fails, "max_fails")):
        _whole(value, name)
    reader, writer = await asyncio.open_connection(host, port, *args, **kwargs)
    try:
        set_keepalive(writer.get_extra_info("socket"), after_idle, interval, max_fails)
    except BaseException:
        writer.close()
        raise
    return reader, writer


def create_connection(host: str, port: int | str, *args: Any,
                      after_idle: float | None = None, interval: float | None = None,
                      max_fails: int | None = None, **kwargs: Any) -> socket.socket:
    """:func:`socket.create_connection` to ``(host, port)`` with keepalive
    turned on (see :func:`set_keepalive`); returns the socket.  Other
    arguments (``timeout``, ``source_address``...) go to
    :func:`socket.create_connection` unchanged.

    ``after_idle``, ``interval`` and ``max_fails`` are keyword-only, default
    to ``None`` (the system's setting) and mean what they mean for
    :func:`set_keepalive`.  A value that is not a positive finite number
    raises ``ValueError`` (``TypeError`` if it is not a number) before
    connecting; if the system then refuses one, the socket is closed and the
    ``OSError`` is raised."""
    for value, name in ((after_idle, "after_idle"), (interval, "interval"),
                        (max_fails, "max_fails")):
        _whole(value, name)
    sock = socket.create_connection((host, port), *args, **kwargs)
    try:
        set_keepalive(sock, after_idle, interval, max_fails)
    except BaseException:
        sock.close()
        raise
    return sock
