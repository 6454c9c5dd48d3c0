"""Helpers of the sync_struct tests: hand-written peers speaking the wire
protocol, recorders of mods and disconnections, and a walk that finds
undecoded v2 markers.  Bounded waiting is :mod:`support.net`'s."""

from __future__ import annotations

import asyncio
import copy

from sipyco.sync_struct import Notifier

__all__ = ["HELLO", "Counter", "RawPublisher", "Recorder", "apply_random_change", "capture",
           "done", "find_jsonclass", "settle"]

HELLO = b"ARTIQ sync_struct\n"


async def settle(rounds: int = 20) -> None:
    """Give the event loop a few turns (lets pending I/O callbacks run)."""
    for _ in range(rounds):
        await asyncio.sleep(0.001)


def done(subscriber, token="done"):
    """A predicate: ``subscriber`` has seen ``sentinel`` set to ``token``."""
    return lambda: subscriber.target.get("sentinel") == token


def capture(notifier: Notifier) -> list[dict]:
    """Every mod the root of ``notifier`` publishes, as it was at that moment."""
    mods: list[dict] = []
    notifier.publish = lambda mod: mods.append(copy.deepcopy(mod))
    return mods


class Counter:
    """A disconnect_cb that counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1


class Recorder:
    """A notify_cb that keeps a deep copy of every mod it is given (the mods
    a Subscriber passes share objects with its live target)."""

    def __init__(self):
        self.mods: list[dict] = []

    def __call__(self, mod: dict) -> None:
        self.mods.append(copy.deepcopy(mod))

    @property
    def last(self):
        return self.mods[-1] if self.mods else None


def find_jsonclass(value, path: str = "x") -> list[str]:
    """Paths of every dict inside ``value`` that still carries a
    ``__jsonclass__`` key (a v2 marker the reader failed to turn into a value)."""
    found = []
    if isinstance(value, dict):
        if "__jsonclass__" in value:
            found.append(path)
        for k, v in value.items():
            found.extend(find_jsonclass(k, f"{path}.key({k!r})"))
            found.extend(find_jsonclass(v, f"{path}[{k!r}]"))
    elif isinstance(value, (list, tuple, set, frozenset)):
        for i, v in enumerate(value):
            found.extend(find_jsonclass(v, f"{path}[{i}]"))
    return found


class RawPublisher:
    """A hand-written publisher: a plain asyncio server that reads the
    subscriber's two handshake lines, records them, writes ``lines`` verbatim
    and then does ``then``: ``"hold"`` (keep the connection open until
    :meth:`stop`), ``"close"`` (clean FIN) or ``"abort"`` (reset)."""

    def __init__(self, lines: list[bytes], then: str = "hold"):
        assert then in ("hold", "close", "abort")
        self.lines = list(lines)
        self.then = then
        self.handshakes: list[tuple[bytes, bytes]] = []
        self.peer_eof = asyncio.Event()  # the subscriber closed its side
        self._server = None
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self.port

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1]

    def _accept(self, reader, writer):
        task = asyncio.ensure_future(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader, writer):
        self._writers.append(writer)
        hello = await reader.readline()
        name = await reader.readline()
        self.handshakes.append((hello, name))
        for line in self.lines:
            writer.write(line)
        await writer.drain()
        if self.then == "close":
            writer.close()
        elif self.then == "abort":
            writer.transport.abort()
        # Whatever was done, notice when the subscriber hangs up.
        try:
            while await reader.read(1 << 16):
                pass
        except OSError:
            pass
        self.peer_eof.set()

    async def stop(self):
        if self._server is None:
            return
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None


def apply_random_change(n, rng, step: int) -> None:
    """One valid change picked at random among all kinds of mod."""
    state = n.raw_view
    choice = rng.randrange(8)
    li = rng.randrange(len(state["lists"]))
    lst = state["lists"][li]
    if choice == 0:
        n["lists"][li].append(step)
    elif choice == 1:
        n["lists"][li].insert(rng.randint(-2, len(lst) + 1), (step, "t"))
    elif choice == 2 and lst:
        n["lists"][li].pop(rng.randrange(-len(lst), len(lst)))
    elif choice == 3:
        key = rng.choice(["a", "b", "c"])
        if key in state["dicts"]:
            n["dicts"][key][rng.randrange(4)] = step
        else:
            n["dicts"][key] = {"made": step}
    elif choice == 4 and len(state["dicts"]) > 1:
        del n["dicts"][rng.choice(sorted(state["dicts"]))]
    elif choice == 5 and lst:
        n["lists"][li][rng.randrange(len(lst))] = [step]
    elif choice == 6:
        n["n"] = step
    else:
        n["lists"].append([step])
