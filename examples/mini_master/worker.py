"""The miniature master's worker: runs experiments it is sent over the
pipes whose address is its first argument (``sipyco.pipe_ipc``), answering
with log lines, datasets and a final ``done``, one PYON value per line."""

import sys

import numpy

from sipyco import pyon
from sipyco.pipe_ipc import ChildComm


def send(comm, message):
    comm.write((pyon.encode(message) + "\n").encode())


def run(comm, rid, expid):
    points = expid["points"]
    send(comm, {"action": "log", "text": f"run {rid}: scanning {points} points"})
    scan = numpy.linspace(0.0, 1.0, points) ** 2
    send(comm, {"action": "dataset", "key": f"scan_{rid}", "value": scan})
    send(comm, {"action": "log", "text": f"run {rid}: finished"})
    send(comm, {"action": "done"})


def main():
    comm = ChildComm(sys.argv[1])
    try:
        while True:
            line = comm.readline()
            if not line:
                return
            message = pyon.decode(line.decode())
            if message["action"] == "quit":
                return
            run(comm, message["rid"], message["expid"])
    finally:
        comm.close()


if __name__ == "__main__":
    main()
