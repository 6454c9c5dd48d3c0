"""A second, plain RPC server for the connect_global_rpc tests:
``python echo_server.py PORT`` serves ``echo`` on 127.0.0.1.  The target is a
factory, so every connection is counted."""

import os
import sys

from sipyco.pc_rpc import simple_server_loop

connections = 0


class Echo:
    def __init__(self, number):
        self.number = number

    def echo(self, value):
        return value

    def pid(self):
        return os.getpid()

    def connection_number(self):
        """1 for the first connection this server accepted, 2 for the next..."""
        return self.number

    def connections_so_far(self):
        return connections


def new_echo():
    global connections
    connections += 1
    return Echo(connections)


def main():
    simple_server_loop({"echo": new_echo}, "127.0.0.1", int(sys.argv[1]))


if __name__ == "__main__":
    main()
