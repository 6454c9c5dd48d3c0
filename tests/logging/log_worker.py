"""A program shaped like an experiment worker, run as a subprocess by the
tests: ``python log_worker.py {multiline_log_config|init_logger_from_args}``.

It sets up console logging the way such programs do, logs a line, fails in
the middle of its work with a chained TypeError, logs that with
``logger.exception`` (a traceback of many lines, with blank ones, colons and
header-looking text in it), prints one plain line and exits with status 1.
Everything goes to stderr, which the parent reads with a LogParser."""

import argparse
import logging
import sys

from sipyco.common_args import init_logger_from_args
from sipyco.logging_tools import multiline_log_config

logger = logging.getLogger("worker")


def run_experiment(params):
    try:
        return params["scan"]
    except KeyError as exc:
        # the message's second line looks like a record header of its own
        raise TypeError("no 'scan' in params\nERROR:forged:not a record") from exc


def main(how):
    if how == "multiline_log_config":
        multiline_log_config(logging.DEBUG)
    else:
        init_logger_from_args(argparse.Namespace(verbose=2, quiet=0))
    logger.info("running the experiment")
    try:
        run_experiment({})
    except Exception as exc:
        logger.exception("Terminating with exception (%s)", type(exc).__name__)
        print("worker gone", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
