"""The fuzzed surfaces, each with the refusals its documentation names.

=================  =====================================================  ===================
target             what runs on each input                                documented refusals
=================  =====================================================  ===================
pyon-text          ``pyon.decode``, ``decode_v1``, ``decode_v2`` on any   DecodeError
                   text (str, UTF-8 bytes, or broken bytes)
pyon-v1-mutated    the same on valid v1 texts after 1-5 edits             DecodeError
pyon-v2-mutated    the same on valid v2 texts after 1-5 edits             DecodeError
pyon-pieces        ``pyon.decode_in_pieces`` (48-character pieces) on     DecodeError
                   mutated v1 and v2 texts: what ``decode`` reads, the
                   same value; what it refuses, refused
rpc-requests       a ServerConnection past its handshake (v1 or v2 codec) none: every line is
                   fed request lines in any chunking; ``next_event``      answered (a failed
                   until NEED_DATA, each request served as the server     reply when refused)
                   does and answered with ``reply()``
rpc-handshake      a fresh ServerConnection fed any bytes (mostly mangled HangUp
                   hellos and selections), driven as the server does
sync-mods          a structure (as an init mod builds it), then mod lines the 5 exceptions the
                   decoded and applied with ``process_mod`` (a Notifier   subscriber catches
                   or the plain structure)                                (see MOD_REFUSALS)
log-lines          ``parse_log_message`` and both assemblers' ``feed``    MalformedLine (feed);
                   (with ``drop_line``/``flush``; with and without        none (parse)
                   ``max_record_size``) on any lines
=================  =====================================================  ===================

Besides the exceptions, each target checks the properties its module
promises (a :class:`~.engine.Broken` when one fails): the pc_rpc server
answers every complete line with exactly one reply line, in order, that
fits ``max_message_size`` and that the client's reader accepts, refuses a
line for its size exactly when it exceeds the limit; the log assemblers
neither lose nor invent lines (a line dropped past ``max_record_size`` is
counted in the record's last line), and a record keeps at most
``max_record_size`` characters beyond its first line.
"""

from __future__ import annotations

import functools
import logging
import re
from collections import Counter
from typing import Any

from hypothesis import strategies as st

from sipyco import pyon
from sipyco._bounds import DEFAULT_MAX_MESSAGE_SIZE, SMALLEST_SERVER_LIMIT
from sipyco._logs.wire import (
    LEVELS,
    MAX_RECORD_LINES,
    MalformedLine,
    MessageAssembler,
    RecordAssembler,
    parse_log_message,
)
from sipyco._pyon import pieces, v1_fast
from sipyco._rpc import protocol as p
from sipyco._rpc.connection import (
    NEED_DATA,
    HangUp,
    HelloReceived,
    RequestReceived,
    SelectionRequested,
    ServerConnection,
)
from sipyco._rpc.introspect import method_list, public_callables
from sipyco._sync.mods import Notifier, process_mod
from sipyco.errors import DecodeError, NestingTooDeep, ProtocolViolation

from . import gen
from .engine import Broken, Target, attempt

__all__ = ["TARGETS", "MOD_REFUSALS"]


def _nbytes(x: str | bytes) -> int:
    return len(x) if isinstance(x, bytes) else len(x.encode("utf-8", "surrogatepass"))


# ------------------------------------------------------------------- pyon ---

_DECODERS = (("decode", pyon.decode), ("decode_v1", pyon.decode_v1),
             ("decode_v2", pyon.decode_v2))


def _run_decode(x: str | bytes, counts: Counter) -> None:
    for label, decode in _DECODERS:
        attempt(counts, label, (DecodeError,), decode, x)


def _run_pieces(x: str | bytes, counts: Counter) -> None:
    """``pyon.decode_in_pieces`` with pieces of 48 characters (so that short
    texts are read in many): it reads what ``pyon.decode`` reads, the same
    value, and refuses what it refuses, with a DecodeError."""
    with _small_pieces():
        ok, got = attempt(counts, "decode_in_pieces", (DecodeError,), pyon.decode_in_pieces, x)
    try:
        expected, whole = pyon.decode(x), True
    except DecodeError:
        expected, whole = None, False
    if ok != whole:
        raise Broken(f"decode_in_pieces {'read' if ok else 'refused'} a text decode "
                     f"{'refused' if ok else 'read'}")
    if ok and _compared(got) != _compared(expected):
        raise Broken("decode_in_pieces read a value other than decode's")


def _compared(value) -> Any:
    """:func:`_written`, or for a value nested past the comparison's own
    recursion, its v1 text (or the writer's refusal)."""
    try:
        return _written(value)
    except RecursionError:
        try:
            return pyon.encode_v1(value)
        except Exception as exc:  # noqa: BLE001 - compared by the failure then
            return f"unwritable: {type(exc).__name__}"


class _small_pieces:
    """Pieces of 48 characters, and the v1 in-place path's too, meanwhile."""

    def __enter__(self):
        self.saved = pieces.PIECE, v1_fast._PIECE, v1_fast._IN_PIECES_OVER
        pieces.PIECE, v1_fast._PIECE, v1_fast._IN_PIECES_OVER = 48, 48, 96

    def __exit__(self, *exc):
        pieces.PIECE, v1_fast._PIECE, v1_fast._IN_PIECES_OVER = self.saved


def _written(value) -> Any:
    """What a value is, for comparing two readings of one text: types
    count, NaN equals NaN, and a set's members are compared whatever their
    order (a set of NaNs iterates in an order of its own each time)."""
    if isinstance(value, (set, frozenset)):
        return type(value).__name__, sorted(map(repr, map(_written, value)))
    if isinstance(value, dict):
        return type(value).__name__, [(_written(k), _written(v)) for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return type(value).__name__, [_written(v) for v in value]
    if isinstance(value, float) and value != value:
        return "nan"
    try:
        return type(value).__name__, pyon.encode_v1(value)
    except Exception as exc:  # noqa: BLE001 - compared by the failure then
        return f"unwritable: {type(exc).__name__}"


def _reproduce_pieces(x: str | bytes) -> str:
    return ("from sipyco import pyon\n"
            "from sipyco._pyon import pieces, v1_fast\n"
            "pieces.PIECE, v1_fast._PIECE, v1_fast._IN_PIECES_OVER = 48, 48, 96\n"
            f"x = {x!r}\n"
            "print(pyon.decode_in_pieces(x))\n"
            "print(pyon.decode(x))\n")


def _reproduce_decode(x: str | bytes) -> str:
    return ("from sipyco import pyon\n"
            f"x = {x!r}\n"
            "for decode in (pyon.decode, pyon.decode_v1, pyon.decode_v2):\n"
            "    try:\n"
            "        decode(x)\n"
            "    except pyon.DecodeError:\n"
            "        pass\n")


def _on_the_wire(texts: st.SearchStrategy[str]) -> st.SearchStrategy[str | bytes]:
    @st.composite
    def build(draw):
        return draw(gen.as_wire(draw(texts)))
    return build()


# ----------------------------------------------------------------- pc_rpc ---

class Echo:
    """The served target: methods that return what they were given (so
    every decoded value is encoded back in a reply), fail, return more than
    a reply may carry, or return what PYON cannot write."""

    attribute = 5  # not callable

    def echo(self, *args, **kwargs):
        return [args, kwargs]

    def fail(self, *args, **kwargs):
        raise ValueError(f"failing as asked: {args!r:.100}")

    def big(self, n):
        return "x" * max(0, min(int(n), 200_000))

    def unencodable(self):
        return object()

    def nested(self, depth):
        value: list = []
        for _ in range(max(0, min(int(depth), 300))):
            value = [value]
        return value


_METHOD_NAMES = ["echo", "fail", "big", "unencodable", "nested", "attribute", "missing",
                 "_private", "__class__", "__init__", "echo ", ""]
_LIMITS = [SMALLEST_SERVER_LIMIT, 1100, 4096, 65536, DEFAULT_MAX_MESSAGE_SIZE]


def _serve(target, request) -> dict:
    """The reply the pc_rpc server makes for ``request`` (its ``_process``,
    without the asyncio lock and builtin_terminate)."""
    if isinstance(request, p.MethodListRequest):
        try:
            return p.ok_reply(method_list(target))
        except Exception as exc:  # noqa: BLE001 - as the server does
            return p.failed_reply(exc)
    name = request.name
    if name.startswith("_"):
        return p.failed_reply(AttributeError(f"'{name}' is private"))
    try:
        method = getattr(target, name)
    except AttributeError:
        return p.failed_reply(AttributeError(f"target has no method '{name}'"))
    if not callable(method):
        return p.failed_reply(AttributeError(f"'{name}' is not a method"))
    try:
        ret = method(*request.args, **request.kwargs)
    except Exception as exc:  # noqa: BLE001 - as the server does
        return p.failed_reply(exc)
    return p.ok_reply(ret)


def _answer(conn: ServerConnection, target, event: RequestReceived, counts: Counter) -> bytes:
    """Serve one request event and check the reply line."""
    if event.request is None:
        counts["request: refused with a failed reply"] += 1
        reply = event.refusal
    else:
        counts[f"request: {type(event.request).__name__}"] += 1
        reply = _serve(target, event.request)
    line = conn.reply(reply)
    if not isinstance(line, bytes) or not line.endswith(b"\n") or line.count(b"\n") != 1:
        raise Broken(f"reply() gave {line[:80]!r}, not one line")
    if len(line) - 1 > conn.max_message_size:
        raise Broken(f"a reply of {len(line) - 1} bytes exceeds "
                     f"max_message_size={conn.max_message_size}")
    try:
        ok, _ = p.reply_outcome(conn.codec.decode(line[:-1]))
    except NestingTooDeep:
        # an echo of a request nested nearly max_depth deep: the client
        # fails that call with NestingTooDeep and keeps the connection
        counts["reply: deeper than the client reads"] += 1
        return line
    except (DecodeError, ProtocolViolation) as exc:
        raise Broken(f"the client cannot read the server's reply: {exc!r:.200}") from None
    counts["reply: ok" if ok else "reply: failed"] += 1
    return line


def _drain(conn: ServerConnection, target, counts: Counter, log: list) -> None:
    """``next_event`` until NEED_DATA, answering every request."""
    while True:
        event = conn.next_event()
        if event is NEED_DATA:
            return
        if not isinstance(event, RequestReceived):
            raise Broken(f"{event!r} after the handshake")
        log.append(event)
        _answer(conn, target, event, counts)


def _too_large(event: RequestReceived) -> bool:
    if event.request is not None:
        return False
    message = str(event.refusal["exception"].get("message", ""))
    return message.startswith("request of ") and "max_message_size=" in message


def _run_requests(x, counts: Counter) -> None:
    version, limit, data, cuts = x
    target = Echo()
    conn = ServerConnection({"t": target}, [p.FEATURE_PYON_V2], max_message_size=limit)
    conn.receive_data(p.HELLO + (b"t pyon_v2\n" if version == 2 else b"t\n"))
    if not isinstance(conn.next_event(), HelloReceived):
        raise Broken("no HelloReceived for a valid hello")
    conn.identify()
    selection = conn.next_event()
    if not isinstance(selection, SelectionRequested):
        raise Broken(f"{selection!r} for a valid selection")
    conn.accept(selection, public_callables(target))
    if conn.codec.version != version:
        raise Broken(f"codec v{conn.codec.version} after selecting v{version}")
    log: list = []
    for chunk in gen.chunked(data, cuts):
        conn.receive_data(chunk)
        _drain(conn, target, counts, log)
    lines = data.split(b"\n")[:-1]  # the complete lines; what follows the last \n waits
    if len(log) != len(lines):
        raise Broken(f"{len(lines)} request lines made {len(log)} events: out of step")
    for i, (line, event) in enumerate(zip(lines, log, strict=True)):
        if _too_large(event) != (len(line) > limit):
            raise Broken(f"line {i} of {len(line)} bytes (max_message_size={limit}) was "
                         f"{'' if _too_large(event) else 'not '}refused as too large")
    counts["inputs: all lines answered in step"] += 1


_DEEP = ["list", "tuple", "dict", "set"]


def _nested(kind: str, depth: int):
    """``depth`` containers of ``kind`` around 1 (a set holds nested tuples)."""
    value = 1
    for level in range(depth):
        if kind == "list":
            value = [value]
        elif kind == "dict":
            value = {"a": value}
        elif kind == "set" and level == depth - 1:
            value = {value}
        else:
            value = (value,)
    return value


@functools.cache
def _request_line(version: int, limit: int) -> st.SearchStrategy[bytes]:
    """One request line's bytes (no newline added)."""
    encode = pyon.encode_v2 if version == 2 else pyon.encode_v1
    other = pyon.encode_v1 if version == 2 else pyon.encode_v2
    names = st.one_of(st.sampled_from(_METHOD_NAMES), st.text(max_size=8))
    args = st.lists(gen.values(max_leaves=5), max_size=3)
    kwargs = st.dictionaries(st.one_of(st.sampled_from(["n", "depth", "x"]), st.text(max_size=4)),
                             gen.values(max_leaves=4), max_size=2)
    calls = st.builds(p.call_request, names, args, kwargs)
    sized = st.builds(lambda name, n: p.call_request(name, (n,), {}),
                      st.sampled_from(["big", "echo"]),
                      st.one_of(st.integers(0, 6000),
                                st.sampled_from([limit - 40, limit - 30, limit, limit + 10])))
    others = st.one_of(gen.values(max_leaves=6),
                       st.dictionaries(st.sampled_from(["action", "name", "args", "kwargs"]),
                                       gen.values(max_leaves=3), max_size=4))
    requests = st.one_of(calls, calls, sized, st.just(p.METHOD_LIST_REQUEST), others)
    texts = st.one_of(st.builds(encode, requests), st.builds(encode, requests),
                      st.builds(other, requests))
    mutated = gen.mutated_text(texts, max_edits=3)

    if version == 1:
        head, end = b'{"action": "call", "name": "echo", "args": ["', b'"], "kwargs": {}}'
    else:
        head, end = b'{"action":"call","name":"echo","args":["', b'"],"kwargs":{}}'

    def padded(pad: int) -> bytes:  # an echo call of exactly limit + pad bytes
        return head + b"a" * max(0, limit + pad - len(head) - len(end)) + end

    # an echo of arguments nested about as deep as the reader accepts (the
    # reply adds three levels to what the request carried)
    deep = st.builds(lambda pair, depth, method: encode(p.call_request(
        method, (_nested(pair, depth),), {})).encode("ascii"),
        st.sampled_from(_DEEP), st.integers(248, 258), st.sampled_from(["echo", "fail"]))
    lines = [
        texts.map(lambda t: t.encode("ascii")),
        texts.map(lambda t: t.encode("ascii")),
        mutated.map(lambda t: t.encode("utf-8", "surrogatepass")),
        mutated.map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.binary(max_size=64).map(lambda b: b.replace(b"\n", b"")),
        deep,
    ]
    if limit < 1 << 20:
        lines.append(st.sampled_from([-1, 0, 1, 2, 5000]).map(padded))
    return st.one_of(lines)


@st.composite
def _requests_input(draw):
    version = draw(st.sampled_from([1, 2]))
    limit = draw(st.sampled_from(_LIMITS))
    lines = draw(st.lists(_request_line(version, limit), max_size=6))
    data = b"".join(line + b"\n" for line in lines)
    tail = draw(st.one_of(st.just(b""),
                          st.binary(max_size=20).map(lambda b: b.replace(b"\n", b""))))
    cuts = draw(st.lists(st.integers(0, 1 << 20), max_size=8))
    return version, limit, data + tail, cuts


_RPC_PREAMBLE = '''\
from sipyco._rpc import protocol as p
from sipyco._rpc.connection import NEED_DATA, HangUp, SelectionRequested, ServerConnection
from sipyco._rpc.introspect import public_callables

class Echo:  # the fuzzed target (fuzz/targets.py)
    attribute = 5
    def echo(self, *args, **kwargs): return [args, kwargs]
    def fail(self, *args, **kwargs): raise ValueError(f"failing as asked: {args!r:.100}")
    def big(self, n): return "x" * max(0, min(int(n), 200_000))
    def unencodable(self): return object()
    def nested(self, depth):
        value = []
        for _ in range(max(0, min(int(depth), 300))): value = [value]
        return value

def serve(target, request):  # what the server's _process does
    if isinstance(request, p.MethodListRequest):
        from sipyco._rpc.introspect import method_list
        return p.ok_reply(method_list(target))
    if request.name.startswith("_"):
        return p.failed_reply(AttributeError("private"))
    method = getattr(target, request.name, None)
    if not callable(method):
        return p.failed_reply(AttributeError("no such method"))
    try:
        return p.ok_reply(method(*request.args, **request.kwargs))
    except Exception as exc:
        return p.failed_reply(exc)
'''


def _reproduce_requests(x) -> str:
    version, limit, data, cuts = x
    return (_RPC_PREAMBLE
            + f"\ntarget = Echo()\n"
            f"conn = ServerConnection({{'t': target}}, ['pyon_v2'], max_message_size={limit})\n"
            f"conn.receive_data(p.HELLO + {b't pyon_v2' if version == 2 else b't'!r} + b'\\n')\n"
            "conn.next_event(); conn.identify()\n"
            "conn.accept(conn.next_event(), public_callables(target))\n"
            f"for chunk in {gen.chunked(data, cuts)!r}:\n"
            "    conn.receive_data(chunk)\n"
            "    while (event := conn.next_event()) is not NEED_DATA:\n"
            "        reply = (event.refusal if event.request is None\n"
            "                 else serve(target, event.request))\n"
            "        line = conn.reply(reply)\n"
            "        print(event, line[:200])\n"
            "        # as a client reads it:\n"
            "        print(p.reply_outcome(conn.codec.decode(line[:-1])))\n")


def _run_handshake(x, counts: Counter) -> None:
    features, data, cuts = x
    target = Echo()
    conn = ServerConnection({"t": target, "other": target}, features,
                            max_message_size=SMALLEST_SERVER_LIMIT)
    step = "hello"
    for chunk in gen.chunked(data, cuts):
        conn.receive_data(chunk)
        while True:
            try:
                event = conn.next_event()
            except HangUp:
                counts["handshake: refused HangUp"] += 1
                return
            if event is NEED_DATA:
                break
            if isinstance(event, HelloReceived) and step == "hello":
                counts["handshake: HelloReceived"] += 1
                p.parse_identification(conn.identify())
                step = "selection"
            elif isinstance(event, SelectionRequested) and step == "selection":
                counts["handshake: SelectionRequested"] += 1
                line = conn.accept(event, public_callables(target))
                p.parse_method_names(conn.codec.decode(line[:-1]))
                step = "requests"
            elif isinstance(event, RequestReceived) and step == "requests":
                _answer(conn, target, event, counts)
            else:
                raise Broken(f"{event!r} while waiting for the {step}")
    counts[f"handshake: waiting for data at the {step}"] += 1


_SELECTIONS = ["t", "t pyon_v2", "other", "other pyon_v2", "t pyon_v2 pyon_v2", "t pyon_v3",
               "nope", "", " t", "t\tpyon_v2", "t\r", "T", "t pyon_v2 extra", "\xe9", "t\x00"]


@st.composite
def _handshake_input(draw):
    features = draw(st.sampled_from([[], [p.FEATURE_PYON_V2]]))
    hello = draw(st.sampled_from(["ARTIQ pc_rpc\n", "ARTIQ pc_rpc\r\n", "ARTIQ pc_rpc \n",
                                  "artiq pc_rpc\n", "ARTIQ sync_struct\n", "\n", ""]))
    selection = draw(st.one_of(st.sampled_from(_SELECTIONS), st.text(max_size=10)))
    request = draw(st.sampled_from(['{"action": "get_rpc_method_list"}\n',
                                    '{"action":"call","name":"echo","args":[1],"kwargs":{}}\n',
                                    "", "garbage\n"]))
    shaped = hello + selection + "\n" + request
    kind = draw(st.sampled_from(["shaped", "mutated", "mutated", "bytes", "long"]))
    if kind == "shaped":
        data = shaped.encode("utf-8", "surrogatepass")
    elif kind == "mutated":
        text = draw(gen.mutated_text(st.just(shaped), max_edits=4))
        data = text.encode("utf-8", "surrogatepass")
    elif kind == "bytes":
        data = draw(st.binary(max_size=200))
    else:  # a handshake line around the 64 kB handshake limit
        size = draw(st.sampled_from([65535, 65536, 65537, 70000]))
        end = draw(st.sampled_from([b"\n", b""]))
        data = hello.encode() + b"t" * size + end
    cuts = draw(st.lists(st.integers(0, 1 << 20), max_size=8))
    return features, data, cuts


def _reproduce_handshake(x) -> str:
    features, data, cuts = x
    return (_RPC_PREAMBLE
            + "\ntarget = Echo()\n"
            f"conn = ServerConnection({{'t': target, 'other': target}}, {features!r}, "
            "max_message_size=1024)\n"
            f"for chunk in {gen.chunked(data, cuts)!r}:\n"
            "    conn.receive_data(chunk)\n"
            "    while (event := conn.next_event()) is not NEED_DATA:  # HangUp is documented\n"
            "        if isinstance(event, SelectionRequested):\n"
            "            conn.accept(event, public_callables(target))\n"
            "        elif event.__class__.__name__ == 'HelloReceived':\n"
            "            conn.identify()\n"
            "        else:\n"
            "            reply = event.refusal if event.request is None "
            "else serve(target, event.request)\n"
            "            line = conn.reply(reply)\n"
            "            print(event, line[:200])\n"
            "            # as a client reads it:\n"
            "            print(p.reply_outcome(conn.codec.decode(line[:-1])))\n")


# ------------------------------------------------------------ sync_struct ---

#: What the subscriber (``Subscriber._follow``) catches from process_mod and
#: turns into ProtocolViolation: process_mod's docstring names ValueError and
#: "whatever the structure raises for a bad path, index or key".
MOD_REFUSALS = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)

_ACTIONS = ["append", "insert", "pop", "setitem", "delitem"]
_ODD_ACTIONS = ["init", "", "APPEND", "append ", "set", None, 1, True, ["append"], ("pop",),
                {"action": "pop"}]


@st.composite
def _mod_for(draw, struct):
    """A mod aimed at something that exists in ``struct`` (at generation time)."""
    path, node = [], struct
    while isinstance(node, (dict, list, tuple)) and node and draw(st.integers(0, 2)):
        if isinstance(node, dict):
            key = draw(st.sampled_from(list(node)))
        else:
            key = draw(st.integers(-len(node), len(node) - 1))
        path.append(key)
        node = node[key]
    small = gen.values(max_leaves=4)
    if isinstance(node, list):
        action = draw(st.sampled_from(_ACTIONS))
    elif isinstance(node, dict):
        action = draw(st.sampled_from(["setitem", "delitem"]))
    else:
        action = draw(st.sampled_from(_ACTIONS))
    try:
        length = len(node)
    except TypeError:  # no length (0-d arrays have __len__ but refuse it)
        length = 0
    index = draw(st.one_of(st.integers(-length - 1, length + 1), gen.ints))
    if isinstance(node, dict) and node and draw(st.booleans()):
        key = draw(st.sampled_from(list(node)))
    else:
        key = draw(st.one_of(st.integers(-length - 1, length + 1), gen.hashables()))
    mod = {"action": action, "path": path}
    if action == "append":
        mod["x"] = draw(small)
    elif action == "insert":
        mod.update(i=index, x=draw(small))
    elif action == "pop":
        mod["i"] = index
    elif action == "setitem":
        mod.update(key=key, value=draw(small))
    else:
        mod["key"] = key
    return mod


@st.composite
def _damaged(draw, mod: dict):
    """``mod`` with one field made wrong in value (still encodable)."""
    mod = dict(mod)
    what = draw(st.sampled_from(["action", "path", "path item", "drop", "add", "index", "key"]))
    if what == "action":
        mod["action"] = draw(st.one_of(st.sampled_from(_ODD_ACTIONS), st.text(max_size=6)))
    elif what == "path":
        mod["path"] = draw(st.one_of(st.none(), st.text(max_size=4), st.integers(),
                                     gen.values(max_leaves=3)))
    elif what == "path item" and mod["path"]:
        path = list(mod["path"])
        path[draw(st.integers(0, len(path) - 1))] = draw(gen.values(max_leaves=2))
        mod["path"] = path
    elif what == "drop":
        mod.pop(draw(st.sampled_from(sorted(mod))))
    elif what == "add":
        mod[draw(st.sampled_from(["struct", "x", "i", "key", "value", "extra"]))] = \
            draw(gen.values(max_leaves=3))
    elif what == "index":
        mod["i"] = draw(st.one_of(gen.ints, gen.values(max_leaves=1)))
    else:
        mod["key"] = draw(gen.values(max_leaves=3))  # unhashable ones too
    return mod


@st.composite
def _sync_input(draw):
    version = draw(st.sampled_from([1, 2]))
    encode = pyon.encode_v2 if version == 2 else pyon.encode_v1
    struct = draw(st.one_of(
        st.dictionaries(st.text(max_size=4), gen.values(max_leaves=4), max_size=4),
        st.lists(gen.values(max_leaves=4), max_size=4),
        gen.values(max_leaves=6)))
    lines = []
    for kind in draw(st.lists(st.sampled_from(
            ["valid", "valid", "damaged", "damaged", "mutated", "value", "text"]), max_size=5)):
        if kind in ("valid", "damaged", "mutated"):
            mod = draw(_mod_for(struct))
            if kind == "damaged":
                mod = draw(_damaged(mod))
            text = encode(mod)
            if kind == "mutated":
                text = draw(gen.mutated_text(st.just(text), max_edits=3))
        elif kind == "value":
            text = encode(draw(gen.values(max_leaves=6)))
        else:
            text = draw(gen.arbitrary_text())
        lines.append(text.encode("utf-8", "surrogatepass"))
    return version, encode(struct).encode("ascii"), draw(st.booleans()), lines


def _run_sync(x, counts: Counter) -> None:
    _, struct_text, notifier, lines = x
    struct = pyon.decode(struct_text)
    target = Notifier(struct) if notifier else struct
    for line in lines:
        ok, mod = attempt(counts, "decode", (DecodeError,), pyon.decode, line)
        if not ok:
            continue
        if not isinstance(mod, dict) or "action" not in mod:
            counts["(the subscriber would refuse: not a dict with an action)"] += 1
        attempt(counts, "process_mod", MOD_REFUSALS, process_mod, target, mod)


def _reproduce_sync(x) -> str:
    _, struct_text, notifier, lines = x
    return ("from sipyco import pyon\n"
            "from sipyco._sync.mods import Notifier, process_mod\n"
            f"struct = pyon.decode({struct_text!r})\n"
            f"target = {'Notifier(struct)' if notifier else 'struct'}\n"
            f"for line in {lines!r}:\n"
            "    try:\n"
            "        mod = pyon.decode(line)\n"
            "    except pyon.DecodeError:\n"
            "        continue\n"
            "    try:  # what Subscriber._follow catches\n"
            "        process_mod(target, mod)\n"
            "    except (ValueError, TypeError, KeyError, IndexError, AttributeError,\n"
            "            OverflowError):\n"
            "        pass\n")


# ---------------------------------------------------------------- logging ---

_COUNTS = ["", "<0>", "<1>", "<2>", "<3>", "<00>", "<01>", "<99999>", "<100000>", "<100001>",
           "<999999999>", "<1000000000>", "<-1>", "<>", "<x>", "< 2>", "<2", "2>"]


@st.composite
def _log_line(draw) -> str:
    kind = draw(st.sampled_from(["header", "header", "header", "text", "continuation"]))
    if kind == "text":
        return draw(st.one_of(st.text(max_size=30), gen.arbitrary_text()))
    if kind == "continuation":
        return draw(st.text(st.characters(codec="ascii"), max_size=20))
    level = draw(st.one_of(st.sampled_from(sorted(LEVELS)), st.sampled_from(
        ["warning", "Info", "FOO", "", "ERRORS", "TRACE "])))
    count = draw(st.one_of(st.sampled_from(_COUNTS),
                           st.integers(0, 12).map(lambda n: f"<{n}>")))
    name = draw(st.one_of(st.sampled_from(["a", "sipyco.pc_rpc", "", "print", "a:b"]),
                          st.text(max_size=8)))
    message = draw(st.one_of(st.text(max_size=20), st.sampled_from(["", ":", "x\ny", "\r"])))
    source = draw(st.sampled_from(["", "", "src:", "host:1234:", ":", "no colon here "]))
    return f"{source}{level}{count}:{name}:{message}"


_log_ops = st.one_of(_log_line().map(lambda line: ("feed", line)),
                     st.sampled_from([("drop",), ("flush",)]))


def _check_record(record, source_expected: bool) -> None:
    if not isinstance(record.message, str) or not record.lines \
            or not isinstance(record.name, str) or not isinstance(record.level, int):
        raise Broken(f"a malformed record: {record.source!r}, {record.level!r}, "
                     f"{record.name!r}, {record.lines!r:.200}")
    if source_expected != isinstance(record.source, str):
        raise Broken(f"a record with source {record.source!r}")


# The line a record cut at max_record_size ends with (wire.py's wording; a
# change there shows here as lines lost or invented).
_CUT = re.compile(r"<(\d+) more lines? dropped")


def _lines_in(record, limit: int | None) -> int:
    """How many fed lines ``record`` stands for (kept, or counted as dropped);
    checks that a cut record keeps at most ``limit`` characters."""
    lines = record.lines
    if limit is None:
        return len(lines)
    m = _CUT.match(lines[-1]) if len(lines) > 1 else None
    kept = lines[:-1] if m else lines
    size = sum(map(len, kept)) + len(kept) - 1
    if size > max(limit, len(kept[0])):
        raise Broken(f"a record of {size} characters kept (max_record_size={limit})")
    return len(kept) + (int(m.group(1)) if m else 0)


def _run_log(x, counts: Counter) -> None:
    limit, ops = x
    valid_levels = set(LEVELS.values()) | {logging.INFO}
    for op in ops:
        if op[0] == "feed":
            result = parse_log_message(op[1])
            further, level, name, message = result
            if not (isinstance(further, int) and 0 <= further and level in valid_levels
                    and isinstance(name, str) and isinstance(message, str)):
                raise Broken(f"parse_log_message gave {result!r:.200}")
            counts["parse_log_message: multi-line header" if further
                   else "parse_log_message: one line"] += 1
    assemblers = ((MessageAssembler(), RecordAssembler()) if limit is None else
                  (MessageAssembler(max_record_size=limit),
                   RecordAssembler(max_record_size=limit)))
    for assembler in assemblers:
        label = type(assembler).__name__
        taken = accounted = 0
        for op in ops + [("flush",)]:  # the input ends: flush what is pending
            if op[0] == "feed":
                ok, record = attempt(counts, f"{label}.feed", (MalformedLine,),
                                     assembler.feed, op[1])
                taken += ok
            elif op[0] == "drop":
                inside = assembler.pending() is not None
                record = assembler.drop_line()
                taken += inside
                if record is not None and not inside:
                    raise Broken("drop_line() between records returned a record")
            else:
                record = assembler.flush()
            if op[0] != "feed" or ok:
                if record is not None:
                    _check_record(record, isinstance(assembler, RecordAssembler))
                    accounted += _lines_in(record, limit)
                    if len(record.lines) > MAX_RECORD_LINES + 1:
                        raise Broken(f"a record of {len(record.lines)} lines")
        if assembler.pending() is not None:
            raise Broken("a record is still pending after flush()")
        if taken != accounted:
            raise Broken(f"{label}: {taken} lines taken, {accounted} in the records")


def _log_size(x) -> int:
    ops = x[1]
    return sum(_nbytes(op[1]) + 16 for op in ops if op[0] == "feed") + 16 * len(ops)


def _reproduce_log(x) -> str:
    limit, ops = x
    made = "" if limit is None else f"max_record_size={limit}"
    return ("from sipyco._logs.wire import (MalformedLine, MessageAssembler, RecordAssembler,\n"
            "                               parse_log_message)\n"
            f"ops = {ops!r}\n"
            "for op in ops:\n"
            "    if op[0] == 'feed':\n"
            "        parse_log_message(op[1])\n"
            f"for assembler in (MessageAssembler({made}), RecordAssembler({made})):\n"
            "    for op in ops + [('flush',)]:\n"
            "        if op[0] == 'feed':\n"
            "            try:\n"
            "                print(assembler.feed(op[1]))\n"
            "            except MalformedLine:\n"
            "                pass\n"
            "        elif op[0] == 'drop':\n"
            "            print(assembler.drop_line())\n"
            "        else:\n"
            "            print(assembler.flush())\n")


_log_input = st.tuples(st.sampled_from([None, None, None, 0, 1, 10, 40, 200]),
                       st.lists(_log_ops, max_size=30))


# ---------------------------------------------------------------- the list ---

TARGETS: dict[str, Target] = {t.name: t for t in [
    Target("pyon-text", "pyon.decode/decode_v1/decode_v2 on arbitrary text; documented: "
           "DecodeError",
           lambda: _on_the_wire(gen.arbitrary_text()), _run_decode, _nbytes, _reproduce_decode),
    Target("pyon-v1-mutated", "pyon.decode/decode_v1/decode_v2 on mutated valid PYON v1; "
           "documented: DecodeError",
           lambda: _on_the_wire(gen.mutated_text(st.one_of(gen.valid_text(1),
                                                           gen.hostile_text(1)))),
           _run_decode, _nbytes,
           _reproduce_decode),
    Target("pyon-v2-mutated", "pyon.decode/decode_v1/decode_v2 on mutated valid PYON v2; "
           "documented: DecodeError",
           lambda: _on_the_wire(gen.mutated_text(st.one_of(gen.valid_text(2),
                                                           gen.hostile_text(2)))),
           _run_decode, _nbytes,
           _reproduce_decode),
    Target("pyon-pieces", "pyon.decode_in_pieces (48-character pieces) on mutated valid PYON "
           "v1 and v2, beside pyon.decode; documented: DecodeError",
           lambda: _on_the_wire(gen.mutated_text(st.one_of(
               gen.valid_text(1), gen.valid_text(2), gen.hostile_text(1), gen.hostile_text(2)))),
           _run_pieces, _nbytes, _reproduce_pieces),
    Target("rpc-requests", "pc_rpc ServerConnection after the handshake (v1, v2): request "
           "lines in any chunking, each served and answered; documented: nothing raises",
           _requests_input, _run_requests, lambda x: len(x[2]) + 64, _reproduce_requests),
    Target("rpc-handshake", "pc_rpc ServerConnection from its first byte, driven as the server "
           "does; documented: HangUp", _handshake_input, _run_handshake,
           lambda x: len(x[1]) + 64, _reproduce_handshake),
    Target("sync-mods", "process_mod on decoded mod lines (valid, damaged, mutated, arbitrary) "
           "against a structure or its Notifier; documented: " +
           ", ".join(e.__name__ for e in MOD_REFUSALS) + " (what the subscriber catches), "
           "DecodeError (decoding)",
           _sync_input, _run_sync, lambda x: len(x[1]) + sum(map(len, x[3])), _reproduce_sync),
    Target("log-lines", "parse_log_message and MessageAssembler/RecordAssembler feed/drop_line/"
           "flush on arbitrary lines (with and without max_record_size); documented: "
           "MalformedLine (feed)",
           lambda: _log_input, _run_log, _log_size, _reproduce_log),
]}
