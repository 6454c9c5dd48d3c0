"""Publisher process for the sync_struct benchmark.

``python sync_peers.py MODE PORT COUNT``: MODE ``v1``/``v2`` runs a sync_struct
Publisher; ``raw`` accepts the same handshake and sends pre-encoded lines
with no Notifier or PYON work (the baseline).  Prints ``ready``, waits for
``go`` on stdin, makes COUNT mixed setitem/append changes, then a final
``done`` setitem.
"""

from __future__ import annotations

import asyncio
import sys


def mods(count: int):
    for i in range(count):
        if i % 2:
            yield ("setitem", f"k{i % 100}", float(i))
        else:
            yield ("append", None, i)


async def run_publisher(port: int, count: int, version: int) -> None:
    from sipyco.sync_struct import Notifier, Publisher
    notifier = Notifier({"values": {}, "log": [], "done": False})
    publisher = Publisher({"bench": notifier}, pyon_version=version)
    await publisher.start("127.0.0.1", port)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    values, log = notifier["values"], notifier["log"]
    for n, (action, key, value) in enumerate(mods(count)):
        if action == "setitem":
            values[key] = value
        else:
            log.append(value)
        if n % 200 == 199:
            await asyncio.sleep(0)  # let the event loop move bytes
    notifier["done"] = True
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


async def run_raw(port: int, count: int) -> None:
    writers = []

    async def accept(reader, writer):
        await reader.readline()
        await reader.readline()
        writer.write(b'{"action": "init", "struct": {"values": {}, "log": [], "done": false}}\n')
        writers.append(writer)
        await reader.read()

    server = await asyncio.start_server(accept, "127.0.0.1", port)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for n, (action, key, value) in enumerate(mods(count)):
        if action == "setitem":
            line = f'{{"action": "setitem", "path": ["values"], "key": "{key}", ' \
                   f'"value": {value!r}}}\n'.encode()
        else:
            line = f'{{"action": "append", "path": ["log"], "x": {value}}}\n'.encode()
        for w in writers:
            w.write(line)
        if n % 200 == 199:
            await asyncio.sleep(0)
    for w in writers:
        w.write(b'{"action": "setitem", "path": [], "key": "done", "value": true}\n')
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    server.close()


if __name__ == "__main__":
    mode, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if mode == "raw":
        asyncio.run(run_raw(port, count))
    else:
        asyncio.run(run_publisher(port, count, 2 if mode == "v2" else 1))
