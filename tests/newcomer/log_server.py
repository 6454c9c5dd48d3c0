"""A log server in a process of its own: prints ``port N`` once listening,
then each record it receives on stdout as ``SOURCE:LEVEL:NAME:MESSAGE``."""

import asyncio
import logging
import sys

from sipyco.logging_tools import Server


class Printed(logging.Handler):
    def emit(self, record):
        print(f"{getattr(record, 'source', '?')}:{record.levelname}:{record.name}:"
              f"{record.getMessage()}", flush=True)


async def main():
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    root.addHandler(Printed())
    logging.getLogger("sipyco").propagate = False  # only what peers send
    server = Server()
    await server.start("127.0.0.1", 0)
    print(f"port {server.port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
