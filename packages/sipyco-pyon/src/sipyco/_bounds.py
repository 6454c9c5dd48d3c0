"""The limits every SiPyCo peer applies, defined once.

Every peer takes the same parameter names (``max_message_size``,
``handshake_timeout``) with these defaults, and every error that reports a
limit names the parameter and its value.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE", "DEFAULT_LOG_MESSAGE_SIZE", "HANDSHAKE_LINE_LIMIT",
    "DEFAULT_HANDSHAKE_TIMEOUT", "DEFAULT_MAX_BACKLOG_BYTES", "SMALLEST_SERVER_LIMIT",
    "DEFAULT_MAX_CONNECTIONS", "DEFAULT_MAX_BUFFERED_BYTES",
    "check_message_size", "check_timeout", "check_count",
]

#: Longest message (one line, newline excluded) pc_rpc and sync_struct peers
#: accept, in bytes: 1 GiB, on both ends of every connection.
DEFAULT_MAX_MESSAGE_SIZE = 1 << 30
#: Longest line a log server accepts: records are text, not data.
DEFAULT_LOG_MESSAGE_SIZE = 1 << 20
#: Longest line of any protocol's opening exchange (banners, target
#: selection, notifier names, pc_rpc identification): a fixed protocol bound.
HANDSHAKE_LINE_LIMIT = 1 << 16
#: Seconds a peer has to complete a protocol's opening exchange.
DEFAULT_HANDSHAKE_TIMEOUT = 10.0
#: A server's smallest max_message_size: its error replies must fit in it.
SMALLEST_SERVER_LIMIT = 1024
#: Bytes that may wait to be sent to one slow subscriber before it is dropped.
DEFAULT_MAX_BACKLOG_BYTES = 64 << 20
#: Connections one server serves at once; those beyond are closed on arrival.
#: (Each takes a file descriptor: the process's RLIMIT_NOFILE must allow it.)
DEFAULT_MAX_CONNECTIONS = 1024
#: Bytes one server holds for all its peers together: a pc_rpc server's
#: unfinished and unprocessed requests, a publisher's or broadcaster's
#: backlogs of lines not yet sent.  Past it, the peers holding the most are
#: disconnected (with a warning naming this limit).
DEFAULT_MAX_BUFFERED_BYTES = 1 << 30
#: A pc_rpc request at least this long and dense in values (or 64 times as
#: long), and a reply about as slow to write, is decoded or encoded off the
#: server's event loop, so that other clients are served meanwhile.
DEFAULT_OFFLOAD_OVER = 1 << 16


def check_message_size(value: int, name: str = "max_message_size", *,
                       minimum: int = 1) -> int:
    """``value`` if it is a usable message-size limit; ValueError otherwise.
    (A server needs room for its own error replies: it asks for more.)"""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int of at least {minimum} bytes, not {value!r}")
    return value


def check_timeout(value: float | None, name: str, *, allow_none: bool = True) -> float | None:
    """``value`` if it is a positive number of seconds (or None when allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        allowed = "a positive number of seconds" + (" or None" if allow_none else "")
        raise ValueError(f"{name} must be {allowed}, not {value!r}")
    return value


def check_count(value: int, name: str) -> int:
    """``value`` if it is a positive int (a count limit); ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, not {value!r}")
    return value
