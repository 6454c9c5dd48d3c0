"""The child process of test_pipe_ipc.py (standard library and sipyco only).

    python pipe_child.py {async|blocking} ADDRESS [MAX_MESSAGE_SIZE]

``async`` talks through AsyncioChildComm, ``blocking`` through ChildComm.
It reads one PYON command per line and answers with PYON lines:

    {"op": "echo", "value": v}        -> {"echo": v}
    {"op": "burst", "count": n}       -> the lines 0, 1, ... n-1
    {"op": "collect", "count": n}     reads n more lines -> [their values]
    {"op": "recv_big"}                reads one raw line -> {"size", "sha256"}
    {"op": "send_big", "size": s}     -> one raw line of s bytes (PATTERN)
    {"op": "long_line", "size": s}    -> s bytes of "y" as a line, then "after"
    {"op": "read", "sizes": [n...]}   read(n) for each -> [the bytes read]
    {"op": "send_raw", "data": b}     -> the bytes b, as they are
    {"op": "spawn_holder"}            starts a grandchild that inherits both
                                      pipes -> {"pid": its pid}, then exits
    {"op": "close_and_sleep"}         closes the comm, then sleeps
    {"op": "sleep"}                   sleeps (to be killed)
    {"op": "exit", "code": c}         exits with that status

A line over the limit is answered with {"error": "MessageTooLarge", "size",
"limit"}; at the end of its input the child exits with status 0.
"""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
import time

from sipyco import pyon
from sipyco.errors import MessageTooLarge
from sipyco.pipe_ipc import AsyncioChildComm, ChildComm

#: What a big line is made of (no newline in it).
PATTERN = b"0123456789abcdef"


def big_line(size: int) -> bytes:
    return (PATTERN * (size // len(PATTERN) + 1))[:size] + b"\n"


def line_of(value) -> bytes:
    return pyon.encode(value).encode() + b"\n"


def spawn_holder(address: str) -> int:
    fds = tuple(int(fd) for fd in address.split(","))
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                              pass_fds=fds)
    return holder.pid


def serve_blocking(address: str, limit: int) -> int:
    comm = ChildComm(address, max_message_size=limit)
    while True:
        try:
            line = comm.readline()
        except MessageTooLarge as exc:
            comm.write(line_of({"error": "MessageTooLarge", "size": exc.size,
                                "limit": exc.limit}))
            continue
        if not line:
            return 0
        command = pyon.decode(line.decode())
        op = command["op"]
        if op == "echo":
            comm.write(line_of({"echo": command["value"]}))
        elif op == "burst":
            for i in range(command["count"]):
                comm.write(line_of(i))
        elif op == "collect":
            values = [pyon.decode(comm.readline().decode()) for _ in range(command["count"])]
            comm.write(line_of(values))
        elif op == "recv_big":
            big = comm.readline()
            comm.write(line_of({"size": len(big), "sha256": hashlib.sha256(big).hexdigest()}))
        elif op == "send_big":
            comm.write(big_line(command["size"]))
        elif op == "long_line":
            comm.write(b"y" * command["size"] + b"\n" + line_of("after"))
        elif op == "read":
            comm.write(line_of([comm.read(n) for n in command["sizes"]]))
        elif op == "send_raw":
            comm.write(command["data"])
        elif op == "spawn_holder":
            comm.write(line_of({"pid": spawn_holder(address)}))
            return 0
        elif op == "close_and_sleep":
            comm.close()
            time.sleep(60)
        elif op == "sleep":
            time.sleep(60)
        elif op == "exit":
            return command["code"]


async def serve_async(address: str, limit: int) -> int:
    comm = AsyncioChildComm(address, max_message_size=limit)
    await comm.connect()

    async def send(data: bytes) -> None:
        comm.write(data)
        await comm.drain()

    while True:
        try:
            line = await comm.readline()
        except MessageTooLarge as exc:
            await send(line_of({"error": "MessageTooLarge", "size": exc.size,
                                "limit": exc.limit}))
            continue
        if not line:
            comm.close()
            return 0
        command = pyon.decode(line.decode())
        op = command["op"]
        if op == "echo":
            await send(line_of({"echo": command["value"]}))
        elif op == "burst":
            for i in range(command["count"]):
                comm.write(line_of(i))
            await comm.drain()
        elif op == "collect":
            values = [pyon.decode((await comm.readline()).decode())
                      for _ in range(command["count"])]
            await send(line_of(values))
        elif op == "recv_big":
            big = await comm.readline()
            await send(line_of({"size": len(big), "sha256": hashlib.sha256(big).hexdigest()}))
        elif op == "send_big":
            await send(big_line(command["size"]))
        elif op == "long_line":
            await send(b"y" * command["size"] + b"\n" + line_of("after"))
        elif op == "read":
            await send(line_of([await comm.read(n) for n in command["sizes"]]))
        elif op == "send_raw":
            await send(command["data"])
        elif op == "spawn_holder":
            await send(line_of({"pid": spawn_holder(address)}))
            comm.close()
            return 0
        elif op == "close_and_sleep":
            comm.close()
            await asyncio.sleep(60)
        elif op == "sleep":
            await asyncio.sleep(60)
        elif op == "exit":
            return command["code"]


def main() -> int:
    kind, address = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 30
    if kind == "blocking":
        return serve_blocking(address, limit)
    return asyncio.run(serve_async(address, limit))


if __name__ == "__main__":
    sys.exit(main())
