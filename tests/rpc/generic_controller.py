"""A controller for the GenericRPCCase tests, run as ``python SCRIPT --port N
[--mode MODE]``; it imports only the standard library and sipyco.

Modes: ``normal`` is an ordinary controller (simple_server_loop: stops on
the built-in ``terminate()`` or SIGTERM); ``no-terminate`` offers no
``terminate()`` (SIGTERM still ends it); ``stubborn`` offers no
``terminate()`` and ignores SIGTERM, so only SIGKILL ends it.
"""

import argparse
import asyncio
import os
import signal

from sipyco.common_args import bind_address_from_args, simple_network_args
from sipyco.pc_rpc import Server, simple_server_loop


class Adder:
    def add(self, a, b):
        return a + b

    def pid(self):
        return os.getpid()


async def serve_forever(host, port):
    server = Server({"adder": Adder()}, "test controller", builtin_terminate=False)
    await server.start(host, port)
    await asyncio.Event().wait()


def main():
    parser = argparse.ArgumentParser()
    simple_network_args(parser, 3249)
    parser.add_argument("--mode", choices=["normal", "no-terminate", "stubborn"],
                        default="normal")
    args = parser.parse_args()
    host = bind_address_from_args(args)
    if args.mode == "normal":
        simple_server_loop({"adder": Adder()}, host, args.port, "test controller")
        print("controller stopped cleanly", flush=True)
        return
    if args.mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    asyncio.run(serve_forever(host, args.port))


if __name__ == "__main__":
    main()
