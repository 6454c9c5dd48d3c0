"""A program that forwards its log records, run as a subprocess by the tests
(and from a venv holding only the sipyco-pyon and sipyco-logging wheels):
``python log_sender.py PORT SOURCE``.  It logs a fixed set of records through
a LogForwarder on its root logger and exits once they have been sent."""

import asyncio
import logging
import sys

from sipyco.logging_tools import LogForwarder, SourceFilter


async def main(port, source):
    fwd = LogForwarder("127.0.0.1", port, reconnect_timer=0.05)
    fwd.addFilter(SourceFilter(logging.INFO, source))
    root = logging.getLogger()
    root.setLevel(1)
    root.addHandler(fwd)
    fwd.start()
    log = logging.getLogger("sender.sub")
    log.debug("below the SourceFilter level")
    log.info("plain")
    log.warning("with %s and %d", "args", 7)
    logging.getLogger("sender").error("two\nlines")
    logging.getLogger("sender").critical("colons: a:b")
    while not fwd.connected or fwd.queued:
        await asyncio.sleep(0.01)
    await fwd.stop()
    print("sent", flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
