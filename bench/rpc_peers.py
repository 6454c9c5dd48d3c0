"""Server processes for the RPC benchmark (run as ``python rpc_peers.py KIND PORT``).

``raw``: a blocking-socket line echo server, the baseline every RPC figure is
divided by.  ``rpc``: a pc_rpc Server with an echo target (``rpc-v1`` offers
only PYON v1, as a sipyco 1.8 server would).
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading


def raw_echo(port: int) -> None:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(16)
    print("ready", flush=True)

    def serve(conn):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = conn.makefile("rb")
        with conn, f:
            while line := f.readline():
                conn.sendall(line)

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


class Echo:
    def echo(self, x):
        return x

    async def aecho(self, x):
        return x


def rpc_echo(port: int, v2: bool) -> None:
    from sipyco.pc_rpc import Server

    async def main():
        server = Server({"echo": Echo()}, advertise_v2=v2)
        await server.start("127.0.0.1", port)
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


if __name__ == "__main__":
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "raw":
        raw_echo(port)
    else:
        rpc_echo(port, v2=(kind == "rpc"))
