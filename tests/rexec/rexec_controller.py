"""A controller with remote execution, run as a subprocess by the tests:
``python rexec_controller.py PORT``.  It serves a small driver as ``dev`` and
remote execution as ``dev_rexec`` on 127.0.0.1."""

import os
import sys

from sipyco.remote_exec import simple_rexec_server_loop


class Driver:
    """A pretend instrument whose state the tests can see from both targets."""

    def __init__(self):
        self.setting = 0

    def set_setting(self, value):
        self.setting = value

    def get_setting(self):
        return self.setting

    def scaled(self, factor):
        return self.setting * factor

    def pid(self):
        return os.getpid()


def main():
    port = int(sys.argv[1])
    simple_rexec_server_loop("dev", Driver(), "127.0.0.1", port,
                             description="driver with remote execution")
    print("rexec controller stopped", flush=True)


if __name__ == "__main__":
    main()
