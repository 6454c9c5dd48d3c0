"""A sync_struct peer in its own process, driven by the process tests.

``python sync_peer.py publish [VERSION]``
    serves ``{"x": 0, "log": []}`` as notifier ``s`` on 127.0.0.1 (a free
    port), prints ``port PORT``, then applies commands read from stdin, one a
    line: ``set KEY VALUE`` or ``append VALUE`` (to ``log``); ``stop`` (or
    the end of stdin) stops the publisher and exits 0.

``python sync_peer.py subscribe PORT``
    follows notifier ``s`` and prints ``mod TEXT`` (the mod as PYON) for the
    init and each later mod, then ``disconnected`` when the publisher goes
    away, and exits 0.
"""

from __future__ import annotations

import asyncio
import sys

from sipyco import pyon
from sipyco.sync_struct import Notifier, Publisher, Subscriber


def say(*words):
    print(*words, flush=True)


async def publish(version: int) -> None:
    n = Notifier({"x": 0, "log": []})
    publisher = Publisher({"s": n}, pyon_version=version)
    await publisher.start("127.0.0.1", 0)
    say("port", publisher.port)
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            words = line.split()
            if not words or words[0] == "stop":
                break
            if words[0] == "set":
                n[words[1]] = int(words[2])
            elif words[0] == "append":
                n["log"].append(int(words[1]))
            say("ok", words[0])
    finally:
        await publisher.stop()
    say("stopped")


async def subscribe(port: int) -> None:
    gone = asyncio.Event()
    subscriber = Subscriber("s", lambda s: s, lambda mod: say("mod", pyon.encode(mod)),
                            gone.set)
    await subscriber.connect("127.0.0.1", port)
    await gone.wait()
    say("disconnected")
    await subscriber.close()


if __name__ == "__main__":
    if sys.argv[1] == "publish":
        asyncio.run(publish(int(sys.argv[2]) if len(sys.argv) > 2 else 1))
    else:
        asyncio.run(subscribe(int(sys.argv[2])))
