"""Fixtures for the remote-logging tests: a log Server on 127.0.0.1 (port 0),
forwarders that are stopped afterwards, and a handler collecting the records
a Server re-emits.

The Server re-emits every record through the logger of the received name, so
a forwarder attached to that logger would send it again, for ever.  Two rules
keep the tests out of that loop: every forwarder made here first rejects
records that already carry a ``source`` (only re-emitted records do when
they reach it), and records are collected by :class:`SourcedRecords`, which
takes only records carrying a ``source``.  The sending logger does not
propagate, and its collector runs before its forwarder (a SourceFilter on
the forwarder adds ``source`` to local records).
"""

from __future__ import annotations

import itertools
import logging

import pytest
import pytest_asyncio
from support.logging_records import SourcedRecords, not_yet_sourced

from sipyco.logging_tools import LogForwarder, Server

_names = itertools.count()


@pytest.fixture
def captured():
    """A SourcedRecords on the root logger, with the root level opened up to
    everything (restored afterwards)."""
    handler = SourcedRecords()
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(1)
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.fixture
def sender(captured):
    """A fresh, non-propagating logger at level 1 for a test to log through;
    re-emitted records of its name are collected by ``captured``."""
    log = logging.getLogger(f"logtest{next(_names)}")
    log.setLevel(1)
    log.propagate = False
    log.addHandler(captured)
    yield log
    for h in list(log.handlers):
        log.removeHandler(h)
    log.setLevel(logging.NOTSET)
    log.propagate = True


@pytest_asyncio.fixture
async def log_server():
    server = Server()
    await server.start("127.0.0.1", 0)
    yield server
    await server.stop()


@pytest_asyncio.fixture
async def make_forwarder():
    """``make_forwarder(port, logger=None, start=True, filters=(), guard=True,
    **options)``: a LogForwarder to 127.0.0.1 retrying every 50 ms, refusing
    re-emitted records (unless ``guard=False``, only for a forwarder attached
    to no logger), then ``filters``; attached to ``logger`` if given.
    Stopped, detached and closed afterwards."""
    made = []

    def make(port, logger=None, start=True, filters=(), guard=True, **options):
        options.setdefault("reconnect_timer", 0.05)
        fwd = LogForwarder("127.0.0.1", port, **options)
        if guard:
            fwd.addFilter(not_yet_sourced)
        for f in filters:
            fwd.addFilter(f)
        if logger is not None:
            logger.addHandler(fwd)
        made.append((fwd, logger))
        if start:
            fwd.start()
        return fwd

    yield make
    for fwd, logger in made:
        if logger is not None:
            logger.removeHandler(fwd)
        await fwd.stop()
        fwd.close()
