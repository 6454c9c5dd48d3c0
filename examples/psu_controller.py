"""A simulated two-channel power supply, served the way a lab controller is.

It exposes the driver over pc_rpc, publishes a live status dict with
sync_struct (port + 1) and, with ``--log-server HOST:PORT``, forwards its log
records to a logging_tools server.  Stop it with Ctrl-C, SIGTERM or a
client's ``terminate()``.

    python psu_controller.py -p 3249 --log-server 127.0.0.1:3248
"""

from __future__ import annotations

import argparse
import asyncio
import logging

import numpy

from sipyco.asyncio_tools import SignalHandler
from sipyco.common_args import (
    bind_address_from_args,
    init_logger_from_args,
    simple_network_args,
    verbosity_args,
)
from sipyco.logging_tools import LogForwarder, SourceFilter
from sipyco.pc_rpc import Server
from sipyco.sync_struct import Notifier, Publisher

logger = logging.getLogger("psu")


class PowerSupply:
    """Simulated two-channel bench supply (0 to 30 V per channel)."""

    MAX_VOLTS = 30.0

    def __init__(self, status: Notifier):
        self.status = status

    def _channel(self, channel: int) -> str:
        if channel not in (0, 1):
            raise ValueError(f"channel must be 0 or 1, not {channel!r}")
        return f"ch{channel}"

    def set_voltage(self, channel: int, volts: float) -> None:
        """Set a channel's output voltage at once."""
        if not 0.0 <= volts <= self.MAX_VOLTS:
            raise ValueError(f"{volts} V is outside 0..{self.MAX_VOLTS} V")
        self.status[self._channel(channel)]["voltage"] = float(volts)
        logger.info("channel %d set to %.3f V", channel, volts)

    def get_voltage(self, channel: int) -> float:
        """The channel's present output voltage."""
        return self.status.raw_view[self._channel(channel)]["voltage"]

    async def ramp(self, channel: int, volts: float, steps: int = 5,
                   step_time: float = 0.05) -> float:
        """Move a channel to ``volts`` in ``steps`` equal steps, logging progress."""
        name = self._channel(channel)
        start = self.get_voltage(channel)
        self.status[name]["ramping"] = True
        try:
            for i, v in enumerate(numpy.linspace(start, volts, steps + 1)[1:], 1):
                await asyncio.sleep(step_time)
                self.status[name]["voltage"] = round(float(v), 6)
                logger.info("ramp %s: step %d/%d, %.3f V", name, i, steps, v)
        finally:
            self.status[name]["ramping"] = False
        return self.get_voltage(channel)

    def read_waveform(self, channel: int, samples: int = 1000) -> numpy.ndarray:
        """A captured output waveform: the set voltage plus simulated ripple."""
        volts = self.get_voltage(channel)
        t = numpy.arange(samples) / samples
        return volts + 0.01 * numpy.sin(2 * numpy.pi * 50 * t)


async def serve(args) -> None:
    status = Notifier({f"ch{c}": {"voltage": 0.0, "ramping": False} for c in (0, 1)})
    driver = PowerSupply(status)
    hosts = bind_address_from_args(args)
    server = Server({"psu": driver}, "simulated 2-channel power supply",
                    builtin_terminate=True)
    publisher = Publisher({"psu_status": status})
    await server.start(hosts, args.port)
    await publisher.start(hosts, args.port + 1)
    forwarder = None
    if args.log_server:
        host, port = args.log_server.rsplit(":", 1)
        forwarder = LogForwarder(host, int(port), reconnect_timer=0.5, source="psu_controller")
        forwarder.addFilter(SourceFilter(logging.INFO, "psu_controller"))
        logging.getLogger().addHandler(forwarder)
        forwarder.start()
    signals = SignalHandler()
    signals.setup()
    logger.info("listening on port %d (status on %d)", args.port, args.port + 1)
    try:
        waits = [asyncio.ensure_future(server.wait_terminate()),
                 asyncio.ensure_future(signals.wait_terminate())]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for w in waits:
            w.cancel()
    finally:
        signals.teardown()
        logger.info("shutting down")
        await publisher.stop()
        await server.stop()
        if forwarder is not None:
            await asyncio.sleep(0.2)  # let the last records leave
            await forwarder.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="simulated power supply controller")
    simple_network_args(parser, 3249)
    verbosity_args(parser)
    parser.add_argument("--log-server", metavar="HOST:PORT",
                        help="forward log records to this logging_tools server")
    args = parser.parse_args()
    init_logger_from_args(args)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
