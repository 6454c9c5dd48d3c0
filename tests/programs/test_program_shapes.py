"""Programs of the shapes labs run on sipyco, written in their idioms:
an InfluxDB bridge (cleanup registered before the loop runs, SIGTERM
ends it) and a controller manager (a device-table Subscriber starting a
controller, LogParser on its output, LogForwarder to a log server,
AsyncioClient pings, its own address from ``subscriber.writer``,
``subscriber.receive_task`` awaited, the ``addCleanup`` idiom)."""

from __future__ import annotations

import asyncio
import logging
import pathlib
import signal
import subprocess
import sys
import unittest

import pytest
from support.net import free_port, within

from sipyco.logging_tools import LogForwarder, LogParser
from sipyco.pc_rpc import AsyncioClient
from sipyco.sync_struct import Notifier, Publisher, Subscriber

HERE = pathlib.Path(__file__).resolve().parent
CONTROLLER = HERE.parent / "rpc" / "controller.py"


async def _line(stream) -> str:
    return (await within(stream.readline())).decode().rstrip("\n")


@pytest.mark.asyncio
async def test_influx_bridge_shape_cleans_up_at_exit_and_ends_0_on_sigterm():
    datasets = Notifier({})
    publisher = Publisher({"datasets": datasets})
    await publisher.start("127.0.0.1", 0)
    bridge = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "influx_bridge.py"), str(publisher.port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert await _line(bridge.stdout) == "ready"
        datasets["x"] = 1
        datasets["y"] = 2.5
        assert await _line(bridge.stdout) == "wrote x=1"
        assert await _line(bridge.stdout) == "wrote y=2.5"
        bridge.send_signal(signal.SIGTERM)
        out, err = await within(bridge.communicate())
        assert bridge.returncode == 0, err.decode()
        assert out.decode().splitlines() == ["writer stopped"]  # its atexit coroutine ran
    finally:
        if bridge.returncode is None:
            bridge.kill()
            await bridge.wait()
        await publisher.stop()


class ControllerManagerShape(unittest.TestCase):
    """A controller manager, written as such programs and their tests are."""

    def setUp(self):
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.addCleanup(self.loop.close)
        run = self.loop.run_until_complete

        # the master's side: the device table, and a log server process
        self.devices = Notifier({})
        self.publisher = Publisher({"devices": self.devices})
        run(self.publisher.start("127.0.0.1", 0))
        self.addCleanup(run, self.publisher.stop())
        self.log_port = free_port()
        self.collector = subprocess.Popen(
            [sys.executable, str(HERE / "log_collector.py"), str(self.log_port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(self.collector.wait, 30)
        self.addCleanup(self.collector.stdin.close)
        self.assertEqual(self.collector.stdout.readline().strip(), "ready")

        # the manager forwards the records its controllers print
        self.forwarder = LogForwarder("127.0.0.1", self.log_port, 0.1, 1000, None,
                                      source="ctlmgr")
        self.forwarder.addFilter(lambda record: record.name == "controller")
        logging.getLogger().addHandler(self.forwarder)
        self.addCleanup(logging.getLogger().removeHandler, self.forwarder)
        logging.getLogger("controller").setLevel(logging.INFO)
        self.forwarder.start()
        self.addCleanup(run, self.forwarder.stop())

    def test_it_runs_pings_forwards_and_stops_a_controller(self):
        run = self.loop.run_until_complete
        port = free_port()
        started = {}

        def devices_changed(mod):
            for name, desc in subscriber.target.items():
                if name not in started:
                    started[name] = self.loop.create_task(self.start_controller(name, desc))

        subscriber = Subscriber("devices", lambda init: init, devices_changed)
        run(subscriber.connect("127.0.0.1", self.publisher.port))
        self.addCleanup(run, subscriber.close())
        own_address = subscriber.writer.get_extra_info("socket").getsockname()[0]
        self.assertEqual(own_address, "127.0.0.1")

        self.devices["thermo"] = {"type": "controller", "host": own_address, "port": port,
                                  "command": [sys.executable, str(CONTROLLER),
                                              "-p", str(port), "-v"]}
        process = run(within(self.until_started("thermo", started)))

        remote = run(within(self.ping(own_address, port)))
        self.addCleanup(run, remote.close_rpc())  # made now, awaited at cleanup
        run(remote.calibrate(1.5))
        self.assertEqual(run(remote.read(2)), 23.5)  # still usable after the idiom

        record = run(within(self.loop.run_in_executor(None, self.collector.stdout.readline)))
        self.assertEqual(record.strip(), "thermo|controller|INFO|calibrating by 1.5")

        run(remote.terminate())
        self.assertEqual(run(within(process.wait())), 0)
        run(within(started["thermo"]))

        run(self.publisher.stop())  # the master goes away ...
        run(within(asyncio.wait_for(subscriber.receive_task, None)))  # ... and we learn it

    async def start_controller(self, name, desc):
        process = await asyncio.create_subprocess_exec(
            *desc["command"], stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
        self.processes = getattr(self, "processes", {})
        self.processes[name] = process
        await LogParser(lambda: name).stream_task(process.stderr)

    async def until_started(self, name, started):
        while not getattr(self, "processes", {}).get(name):
            await asyncio.sleep(0.01)
        return self.processes[name]

    async def ping(self, host, port):
        while True:
            remote = AsyncioClient()
            try:
                await remote.connect_rpc(host, port, "thermometer")
                return remote
            except ConnectionRefusedError:
                await asyncio.sleep(0.05)
