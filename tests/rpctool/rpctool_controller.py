"""Controllers the sipyco_rpctool tests run as subprocesses.

``rpctool_controller.py`` serves one target, ``psu``; with ``--two`` it
serves ``psu`` and ``meter``.  With ``--sync-publisher`` it is instead a
sync_struct Publisher (notifier ``state``), with ``--log-server`` a remote
logging server: servers that are not pc_rpc servers.  It listens on
127.0.0.1, on a port the system chooses, and prints that port as its first
line of output.
"""

import asyncio
import sys

import numpy as np

from sipyco.pc_rpc import Server


class InstrumentError(Exception):
    pass


class PowerSupply:
    """A pretend power supply with two channels."""

    def __init__(self):
        self.voltages = {0: 0.0, 1: 0.0}

    def set_voltage(self, channel: int, volts: float) -> None:
        """Set the output voltage of one channel."""
        self.voltages[channel] = volts

    def get_voltage(self, channel: int) -> float:
        """The voltage last set on a channel."""
        return self.voltages[channel]

    def add(self, a: int, b: int = 2, *rest, scale: float = 1.0, **extra) -> float:
        """Add numbers and scale the sum.

        Every extra positional argument is added too.
        """
        return (a + b + sum(rest)) * scale

    def configure(self, name, mode="fast", *, retries=3, verbose: bool = False) -> dict:
        return {"name": name, "mode": mode, "retries": retries, "verbose": verbose}

    def fail(self, text):
        raise ValueError(text)

    def fail_custom(self):
        raise InstrumentError("the instrument is on fire")

    def samples(self, n: int = 4):
        """n samples as a numpy array."""
        return np.arange(n, dtype=float) / 2

    def status(self):
        """A dictionary too wide for one line."""
        return {f"channel_{i}": {"voltage": 1.5 * i, "current": 0.25 * i,
                                 "enabled": i % 2 == 0, "label": f"output number {i}"}
                for i in range(6)}

    def echo(self, x):
        return x

    async def sleep(self, seconds: float) -> float:
        """Wait, then return the number of seconds."""
        await asyncio.sleep(seconds)
        return seconds


class Meter:
    """A pretend multimeter."""

    def read(self) -> float:
        return 1.25


async def serve(targets, description):
    # allow_parallel: a slow call left behind by a timed-out client must not
    # hold up the next test's calls
    server = Server(targets, description, builtin_terminate=True, allow_parallel=True)
    await server.start("127.0.0.1", 0)
    print(server.port, flush=True)
    try:
        await server.wait_terminate()
    finally:
        await server.stop()


async def serve_other(kind):
    if kind == "--sync-publisher":
        from sipyco.sync_struct import Notifier, Publisher
        server = Publisher({"state": Notifier({"x": 1})})
    else:
        from sipyco.logging_tools import Server as LogServer
        server = LogServer()
    await server.start("127.0.0.1", 0)
    print(server.port, flush=True)
    try:
        await asyncio.Event().wait()  # until terminated
    finally:
        await server.stop()


def main():
    for kind in ("--sync-publisher", "--log-server"):
        if kind in sys.argv[1:]:
            asyncio.run(serve_other(kind))
            return
    targets = {"psu": PowerSupply()}
    description = "pretend bench supply"
    if "--two" in sys.argv[1:]:
        targets["meter"] = Meter()
        description = None
    asyncio.run(serve(targets, description))


if __name__ == "__main__":
    main()
