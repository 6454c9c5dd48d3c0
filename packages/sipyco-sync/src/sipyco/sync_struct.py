"""Keeping copies of a live Python structure in sync across processes.

A :class:`Notifier` wraps a structure of nested lists and dicts owned by one
process; every change made through it becomes a *mod* (see
:class:`ModAction`).  A :class:`Publisher` sends each :class:`Subscriber`
the whole structure once, then the mods, so the subscriber's copy follows
the original::

    notifier = Notifier({"temperature": 20.0, "log": []})
    publisher = Publisher({"status": notifier})
    await publisher.start("127.0.0.1", 3250)
    notifier["temperature"] = 21.5          # every subscriber gets this change

    subscriber = Subscriber("status", lambda struct: struct)
    await subscriber.connect("127.0.0.1", 3250)
    subscriber.target                        # {"temperature": 21.5, "log": []}

The wire format is sipyco's: upstream 1.8 and 1.10 subscribers can follow
our publishers (v1 by default; ``Publisher(..., pyon_version=2)`` for v2)
and our subscribers follow publishers of either version.
"""

from __future__ import annotations

# Re-exported, not part of __all__: sipyco 1.10 programs import it from here.
from sipyco.asyncio_tools import AsyncioServer  # noqa: F401

from ._sync.mods import ModAction, Notifier, process_mod, update_from_dict
from ._sync.publisher import Publisher
from ._sync.subscriber import Subscriber

__all__ = ["ModAction", "Notifier", "Publisher", "Subscriber", "process_mod",
           "update_from_dict"]
