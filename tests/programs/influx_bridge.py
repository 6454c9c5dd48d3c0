"""Shaped like an InfluxDB bridge (artiq_influxdb and friends): the usual
``main()`` makes a loop, sets it as the current loop, registers its cleanup
coroutines with ``atexit_register_coroutine`` before anything runs, follows
the master's datasets with a Subscriber, and runs until SIGTERM.

Usage: ``influx_bridge.py PORT``; prints ``ready``, one ``wrote KEY=VALUE``
line per dataset change, and ``writer stopped`` from its exit cleanup."""

import asyncio
import atexit
import sys

from sipyco.asyncio_tools import SignalHandler, TaskObject, atexit_register_coroutine
from sipyco.sync_struct import Subscriber


class Writer(TaskObject):
    """Stands in for the database writer: a task draining a queue."""

    def __init__(self):
        self.queue = asyncio.Queue()

    async def _do(self):
        while True:
            key, value = await self.queue.get()
            print(f"wrote {key}={value}", flush=True)

    async def stop(self):
        await super().stop()
        print("writer stopped", flush=True)


def main():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    atexit.register(loop.close)

    writer = Writer()
    writer.start()
    atexit_register_coroutine(writer.stop)

    def on_mod(mod):
        if mod["action"] == "setitem":
            writer.queue.put_nowait((mod["key"], mod["value"]))

    subscriber = Subscriber("datasets", lambda init: init, on_mod)
    loop.run_until_complete(subscriber.connect("127.0.0.1", int(sys.argv[1])))
    atexit_register_coroutine(subscriber.close)

    signal_handler = SignalHandler()
    signal_handler.setup()
    atexit.register(signal_handler.teardown)
    print("ready", flush=True)
    loop.run_until_complete(signal_handler.wait_terminate())


if __name__ == "__main__":
    main()
