"""A lab-controller script of the usual shape, run as a subprocess by the
tests (and installed into a bare venv to prove sipyco-rpc is enough)."""

import argparse
import logging

from sipyco.common_args import (
    bind_address_from_args,
    init_logger_from_args,
    simple_network_args,
    verbosity_args,
)
from sipyco.pc_rpc import simple_server_loop

logger = logging.getLogger("controller")


class Thermometer:
    """A pretend instrument."""

    def __init__(self):
        self.offset = 0.0

    def read(self, channel: int) -> float:
        return 20.0 + channel + self.offset

    def calibrate(self, offset: float) -> None:
        logger.info("calibrating by %s", offset)
        self.offset = offset


def main():
    parser = argparse.ArgumentParser(description="thermometer controller")
    simple_network_args(parser, 3249)
    verbosity_args(parser)
    args = parser.parse_args()
    init_logger_from_args(args)
    simple_server_loop({"thermometer": Thermometer()}, bind_address_from_args(args), args.port,
                       description="pretend thermometer")
    print("controller stopped", flush=True)


if __name__ == "__main__":
    main()
