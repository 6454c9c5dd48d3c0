"""Which PYON version a Broadcaster and a Publisher write when none is
chosen: sipyco.pyon.DEFAULT_VERSION, which the environment variable
SIPYCO_PYON_VERSION sets when sipyco.pyon is imported; so each case runs
in a fresh interpreter.  An explicit ``pyon_version`` always wins."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sipyco import pyon
from sipyco.broadcast import Broadcaster
from sipyco.sync_struct import Notifier, Publisher

# Prints the versions chosen, then the first line a bare TCP receiver or
# subscriber gets from a Broadcaster and a Publisher, default and explicit.
PROBE = r'''
import asyncio
from sipyco.broadcast import Broadcaster
from sipyco.sync_struct import Notifier, Publisher

async def first_line(server, request, act=None):
    await server.start("127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(request)
    line = asyncio.ensure_future(reader.readline())
    while act is not None and not line.done():  # until the receiver has joined
        act()
        await asyncio.sleep(0.01)
    text = await asyncio.wait_for(line, 30)
    writer.close()
    await server.stop()
    return text

async def main():
    print("versions", Broadcaster().pyon_version,
          Publisher({"s": Notifier({})}).pyon_version)
    for options in ({}, {"pyon_version": 1}, {"pyon_version": 2}):
        b = Broadcaster(**options)
        line = await first_line(b, b"ARTIQ broadcast\nch\n",
                                lambda: b.broadcast("ch", {"t": (1, 2)}))
        print("broadcast", line)
    for options in ({}, {"pyon_version": 1}, {"pyon_version": 2}):
        p = Publisher({"s": Notifier({"t": (1, 2)})}, **options)
        print("sync_struct", await first_line(p, b"ARTIQ sync_struct\ns\n"))
        p.release()

asyncio.run(main())
'''

V1_VALUE = b'{"t": (1, 2)}\n'
V2_VALUE = b'{"t":{"__jsonclass__":["tuple",[[1,2]]]}}\n'
V1_INIT = b'{"action": "init", "struct": {"t": (1, 2)}}\n'
V2_INIT = b'{"action":"init","struct":{"t":{"__jsonclass__":["tuple",[[1,2]]]}}}\n'


def run_probe(tmp_path, setting: str | None) -> list[str]:
    env = dict(os.environ)
    env.pop("SIPYCO_PYON_VERSION", None)
    if setting is not None:
        env["SIPYCO_PYON_VERSION"] = setting
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.mark.parametrize("setting, default", [(None, 1), ("1", 1), ("2", 2)],
                         ids=["unset", "1", "2"])
def test_the_environment_chooses_the_default_and_explicit_choices_win(tmp_path, setting,
                                                                      default):
    out = run_probe(tmp_path, setting)
    default_value, default_init = (V1_VALUE, V1_INIT) if default == 1 else (V2_VALUE, V2_INIT)
    assert out == [
        f"versions {default} {default}",
        f"broadcast {default_value!r}", f"broadcast {V1_VALUE!r}", f"broadcast {V2_VALUE!r}",
        f"sync_struct {default_init!r}", f"sync_struct {V1_INIT!r}",
        f"sync_struct {V2_INIT!r}",
    ]


def test_in_this_process_the_default_is_pyon_default_version():
    assert Broadcaster().pyon_version == pyon.DEFAULT_VERSION
    publisher = Publisher({"s": Notifier({})})
    assert publisher.pyon_version == pyon.DEFAULT_VERSION
    publisher.release()
    assert Publisher({"s": Notifier({})}, pyon_version=2).pyon_version == 2
    with pytest.raises(ValueError):
        Publisher({"s": Notifier({})}, pyon_version=0)
