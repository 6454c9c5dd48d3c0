"""A first controller, written the way the READMEs teach: common options,
``-v`` for log lines, an optional LogForwarder started before
``simple_server_loop``.  Run as a subprocess by the tests."""

import argparse
import logging

from sipyco.common_args import (
    bind_address_from_args,
    init_logger_from_args,
    simple_network_args,
    verbosity_args,
)
from sipyco.logging_tools import LogForwarder
from sipyco.pc_rpc import simple_server_loop

logger = logging.getLogger("lamp")


class Lamp:
    """A pretend lamp."""

    def __init__(self):
        self.watts = 0.0

    def set_power(self, watts: float) -> None:
        logger.warning("power set to %s W", watts)
        self.watts = watts

    def get_power(self) -> float:
        return self.watts

    def echo(self, x):
        return x


def main():
    parser = argparse.ArgumentParser(description="lamp controller")
    simple_network_args(parser, 3251)
    verbosity_args(parser)
    parser.add_argument("--log-server-port", type=int, default=None)
    parser.add_argument("--max-message-size", type=int, default=None)
    args = parser.parse_args()
    init_logger_from_args(args)
    if args.log_server_port is not None:
        forwarder = LogForwarder("127.0.0.1", args.log_server_port, source="lamp_ctl",
                                 reconnect_timer=0.1)
        logging.getLogger().addHandler(forwarder)
        forwarder.start()
    options = {}
    if args.max_message_size is not None:
        options["max_message_size"] = args.max_message_size
    simple_server_loop({"lamp": Lamp()}, bind_address_from_args(args), args.port, **options)


if __name__ == "__main__":
    main()
