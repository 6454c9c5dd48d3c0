"""One-to-many push of values by channel name.

A :class:`Broadcaster` (a server) sends each value given to
:meth:`Broadcaster.broadcast` to every :class:`Receiver` connected on that
channel; receivers only listen.  ARTIQ uses it for log records and
client-side control messages::

    broadcaster = Broadcaster()
    await broadcaster.start("127.0.0.1", 1067)
    receiver = Receiver("log", print)
    await receiver.connect("127.0.0.1", 1067)
    broadcaster.broadcast("log", ("info", "ramp done"))   # the receiver prints it

A receiver gets the values broadcast after the broadcaster has read its
request (a moment after :meth:`Receiver.connect` returns), not earlier ones.
On the wire a receiver sends ``ARTIQ broadcast``, then the channel name,
each on a line; from then on the broadcaster writes one PYON line per value
and reads nothing.  It is sipyco's protocol: our Broadcaster writes v1 for
sipyco 1.8 receivers (or v2, as 1.10 does, with ``pyon_version=2`` or
``SIPYCO_PYON_VERSION=2``) and our Receiver reads both.

A slow receiver never holds up :meth:`Broadcaster.broadcast` or the other
receivers: each has a bounded queue, and a receiver whose queue is full
misses values.  ``broadcast`` never logs, so it may be called from a logging
handler.
"""

from __future__ import annotations

from ._sync.broadcaster import DEFAULT_QUEUE_LIMIT, Broadcaster
from ._sync.receiver import Receiver

__all__ = ["Broadcaster", "Receiver", "DEFAULT_QUEUE_LIMIT"]
