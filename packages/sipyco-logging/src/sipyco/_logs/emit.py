"""Re-emitting a record that arrived from elsewhere, under the logger name it
came with, without creating a logger for every name a peer invents.

``logging.getLogger(name)`` keeps every logger it makes for the life of the
process (and a placeholder for each dotted parent), so a log server that
called it for each name it receives would grow without end for a peer that
sends a new name with every record.  Here a name that is already a logger
is used as is (so levels, filters and handlers configured on it apply), and
any other name is handled as a new logger would handle it, without making
one: its level is that of its nearest existing ancestor, and the record
(which keeps the name it came with) goes to that ancestor's handlers and on
up the hierarchy.  No logger is created, whatever the peer sends.
"""

from __future__ import annotations

import logging

__all__ = ["emit_received"]

# A longer name is not searched for ancestors (a walk up a very long dotted
# name would cost time in proportion to its length squared): it goes to the
# root logger's handlers, with its name.
_ANCESTOR_SEARCH_LIMIT = 1024


def emit_received(name: str, level: int, message: str, source) -> None:
    """Log ``message`` at ``level`` as logger ``name`` would, with
    ``record.source`` set to ``source``; see the module documentation."""
    known = logging.root.manager.loggerDict.get(name) if name else logging.root
    if isinstance(known, logging.Logger):
        known.log(level, message, extra={"source": source})
        return
    ancestor = _nearest_logger(name)
    if logging.root.manager.disable >= level or level < ancestor.getEffectiveLevel():
        return
    record = ancestor.makeRecord(name, level, "(unknown file)", 0, message, (), None,
                                 extra={"source": source})
    ancestor.callHandlers(record)


def _nearest_logger(name: str) -> logging.Logger:
    """The existing logger a new logger ``name`` would have as its parent."""
    if len(name) > _ANCESTOR_SEARCH_LIMIT:
        return logging.root
    loggers = logging.root.manager.loggerDict
    end = name.rfind(".")
    while end > 0:
        found = loggers.get(name[:end])
        if isinstance(found, logging.Logger):
            return found
        end = name.rfind(".", 0, end)
    return logging.root
