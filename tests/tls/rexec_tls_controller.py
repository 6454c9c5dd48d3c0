"""A controller with remote execution over mutual TLS, run as a subprocess by
test_rexec_tls.py: ``python rexec_tls_controller.py PORT CERT KEY PEER``.
It serves a small driver as ``dev`` and remote execution as ``dev_rexec`` on
127.0.0.1; the log lines of refused handshakes go to stderr."""

import sys

from sipyco.asyncio_tools import SimpleSSLConfig
from sipyco.remote_exec import simple_rexec_server_loop


class Driver:
    def __init__(self):
        self.setting = 0

    def set_setting(self, value):
        self.setting = value

    def get_setting(self):
        return self.setting


def main():
    port, cert, key, peer = sys.argv[1:5]
    simple_rexec_server_loop("dev", Driver(), "127.0.0.1", int(port),
                             "driver with remote execution over TLS",
                             SimpleSSLConfig(cert, key, peer))
    print("rexec controller stopped", flush=True)


if __name__ == "__main__":
    main()
