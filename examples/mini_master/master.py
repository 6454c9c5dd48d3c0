"""A miniature ARTIQ-style master, written only against sipyco's public
names (the documented API and the undocumented modules ARTIQ uses), so that
it runs on upstream sipyco as well as on these packages.

It does what an ARTIQ master does, in small:

* serves a scheduler over pc_rpc (target ``master_schedule``: ``submit``,
  ``get_status``, and the built-in ``terminate``);
* runs each submitted experiment in a worker process it talks to over
  ``sipyco.pipe_ipc``, one PYON value per line;
* publishes the schedule and the datasets with ``sipyco.sync_struct``;
* broadcasts the worker's log lines on channel ``log`` with
  ``sipyco.broadcast``.

Run: ``python master.py PORT_RPC PORT_NOTIFY PORT_BROADCAST``; it prints
``ready`` once it listens, and exits when a client calls ``terminate()``.
"""

import asyncio
import os
import sys

from sipyco import pyon
from sipyco.broadcast import Broadcaster
from sipyco.pc_rpc import Server
from sipyco.pipe_ipc import AsyncioParentComm
from sipyco.sync_struct import Notifier, Publisher

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")


class Worker:
    """The worker process: PYON lines to it, PYON lines back."""

    async def start(self):
        self.comm = AsyncioParentComm()
        self.process = await self.comm.create_subprocess(sys.executable, WORKER,
                                                         self.comm.get_address())

    async def send(self, message):
        self.comm.write((pyon.encode(message) + "\n").encode())
        await self.comm.drain()

    async def receive(self):
        line = await self.comm.readline()
        if not line:
            raise EOFError("the worker exited")
        return pyon.decode(line.decode())

    async def stop(self):
        await self.send({"action": "quit"})
        await self.process.wait()
        self.comm.close()


class Scheduler:
    """The RPC target: experiments are queued by ``submit`` and run in order."""

    def __init__(self, schedule):
        self.schedule = schedule
        self.queue = asyncio.Queue()
        self.next_rid = 0

    def submit(self, expid):
        """Queue an experiment; returns its run id."""
        rid = self.next_rid
        self.next_rid += 1
        self.schedule[rid] = {"expid": expid, "status": "pending"}
        self.queue.put_nowait(rid)
        return rid

    def get_status(self):
        """The whole schedule: run id -> expid and status."""
        return self.schedule.raw_view


async def run_experiments(scheduler, worker, datasets, broadcaster):
    while True:
        rid = await scheduler.queue.get()
        scheduler.schedule[rid]["status"] = "running"
        await worker.send({"action": "run", "rid": rid,
                           "expid": scheduler.schedule.raw_view[rid]["expid"]})
        while True:
            message = await worker.receive()
            if message["action"] == "log":
                broadcaster.broadcast("log", (rid, message["text"]))
            elif message["action"] == "dataset":
                datasets[message["key"]] = message["value"]
            elif message["action"] == "done":
                scheduler.schedule[rid]["status"] = "done"
                break


async def main(port_rpc, port_notify, port_broadcast):
    schedule = Notifier({})
    datasets = Notifier({})
    scheduler = Scheduler(schedule)
    worker = Worker()
    await worker.start()

    rpc = Server({"master_schedule": scheduler}, "miniature master", builtin_terminate=True)
    publisher = Publisher({"schedule": schedule, "datasets": datasets})
    broadcaster = Broadcaster()
    await rpc.start("127.0.0.1", port_rpc)
    await publisher.start("127.0.0.1", port_notify)
    await broadcaster.start("127.0.0.1", port_broadcast)
    print("ready", flush=True)

    running = asyncio.ensure_future(run_experiments(scheduler, worker, datasets, broadcaster))
    try:
        await rpc.wait_terminate()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await worker.stop()
        for server in (rpc, publisher, broadcaster):
            await server.stop()


if __name__ == "__main__":
    asyncio.run(main(*(int(p) for p in sys.argv[1:4])))
