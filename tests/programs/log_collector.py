"""A log server in its own process (as a master runs one): prints every
record it receives as ``SOURCE|LOGGER|LEVEL|MESSAGE`` (newlines as ``\\n``).

Usage: ``log_collector.py PORT``; prints ``ready`` once it listens and
stops when its standard input closes."""

import asyncio
import logging
import sys

from sipyco.logging_tools import Server


class Printer(logging.Handler):
    def emit(self, record):
        message = record.getMessage().replace("\n", "\\n")
        print(f"{record.source}|{record.name}|{record.levelname}|{message}", flush=True)


async def main(port):
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    printer = Printer()
    printer.addFilter(lambda record: hasattr(record, "source"))  # received ones only
    root.addHandler(printer)
    server = Server()
    await server.start("127.0.0.1", port)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until stdin closes
    await server.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
