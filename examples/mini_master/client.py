"""A client of the miniature master, using its three services as ARTIQ's
dashboard and tools do: submits an experiment over pc_rpc, follows the
datasets with a sync_struct Subscriber and the log broadcast with a
Receiver, prints what it saw, then asks the master to terminate.

Run: ``python client.py PORT_RPC PORT_NOTIFY PORT_BROADCAST POINTS``.
"""

import asyncio
import sys

from sipyco.broadcast import Receiver
from sipyco.pc_rpc import AsyncioClient
from sipyco.sync_struct import Subscriber


async def main(port_rpc, port_notify, port_broadcast, points):
    logs = []
    dataset_ready = asyncio.Event()
    log_done = asyncio.Event()

    def on_log(entry):
        logs.append(entry)
        if entry[1].endswith("finished"):
            log_done.set()

    def on_mod(mod):
        if mod["action"] == "setitem" and mod["key"] == "scan_0":
            dataset_ready.set()

    receiver = Receiver("log", on_log)
    await receiver.connect("127.0.0.1", port_broadcast)
    datasets = Subscriber("datasets", lambda init: init, on_mod)
    await datasets.connect("127.0.0.1", port_notify)
    remote = AsyncioClient()
    await remote.connect_rpc("127.0.0.1", port_rpc, "master_schedule")
    try:
        rid = await remote.submit({"file": "scan.py", "points": points})
        await asyncio.wait_for(dataset_ready.wait(), 60)
        await asyncio.wait_for(log_done.wait(), 60)
        scan = datasets.target[f"scan_{rid}"]
        status = await remote.get_status()
        print(f"run {rid}: {status[rid]['status']}, {len(scan)} points, "
              f"last {scan[-1]:.3f}")
        for entry in logs:
            print(f"log {entry[0]}: {entry[1]}")
        await remote.terminate()
    finally:
        remote.close_rpc()
        await datasets.close()
        await receiver.close()


if __name__ == "__main__":
    asyncio.run(main(*(int(a) for a in sys.argv[1:5])))
