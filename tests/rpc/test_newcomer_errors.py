"""Errors and log lines that name the user's own things: the argument of a
call, the return value of a method, the method a reply was for."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct

import pytest
from support.net import eventually, within

from sipyco.errors import EncodeError, RemoteError
from sipyco.pc_rpc import BestEffortClient, Server


class Waveform:
    """An application class nobody registered with sipyco.pyon."""


HINT = ("(a value of class Waveform: to send it, register it on both ends with "
        "sipyco.pyon.register, see the pyon README)")
WAVEFORM = f"{Waveform.__module__}.Waveform"


class Instrument:
    def load_waveform(self, *args, **kwargs):
        return len(args) + len(kwargs)

    def get_trace(self, nested=False):
        return {"k": Waveform()} if nested else Waveform()

    def echo(self, *args, **kwargs):
        return args


@pytest.fixture(params=[True, False], ids=["v2", "v1"])
def port(request, serve):
    return serve({"instrument": Instrument()}, advertise_v2=request.param).port


def test_an_unencodable_argument_is_named_as_the_caller_wrote_it(connect, port):
    c = connect(port)
    with pytest.raises(EncodeError) as info:
        c.load_waveform(1, Waveform())
    assert str(info.value) == (f"argument 2 of load_waveform(): cannot encode a value of "
                               f"type {WAVEFORM} {HINT}")
    assert isinstance(info.value, TypeError)
    assert info.value.subject == "argument 2 of load_waveform()"
    assert info.value.path == 'x["args"][1]' and info.value.type_name == WAVEFORM
    assert c.load_waveform(1, 2) == 2  # nothing was sent; the connection goes on


def test_an_unencodable_keyword_is_named_with_the_place_inside_it(connect, port):
    c = connect(port)
    with pytest.raises(EncodeError) as info:
        c.load_waveform(w=[1, {"a": object()}])
    # a builtin class gets no advice to register it
    assert str(info.value) == ("""element [1]["a"] of keyword 'w' of load_waveform(): """
                               "cannot encode a value of type object")


def test_an_unencodable_argument_names_its_type_when_the_reason_does_not(connect, port):
    numpy = pytest.importorskip("numpy")
    c = connect(port)
    with pytest.raises(EncodeError) as info:
        c.load_waveform(numpy.array([None]))
    assert str(info.value).startswith("argument 1 of load_waveform(), a value of type "
                                      "numpy.ndarray: numpy array not encoded: ")


def test_the_best_effort_client_names_the_argument_too(port):
    with BestEffortClient("127.0.0.1", port, "instrument", retry=3600) as c:
        with pytest.raises(EncodeError) as info:
            c.load_waveform(w=Waveform())
    assert str(info.value) == (f"keyword 'w' of load_waveform(): cannot encode a value of "
                               f"type {WAVEFORM} {HINT}")


def test_an_unencodable_return_value_is_named_by_the_method(connect, port):
    c = connect(port)
    with pytest.raises(RemoteError) as info:
        c.get_trace()
    assert isinstance(info.value, TypeError)
    assert str(info.value) == (f"the return value of get_trace(): cannot encode a value of "
                               f"type {WAVEFORM} {HINT}")
    with pytest.raises(RemoteError) as info:
        c.get_trace(nested=True)
    assert str(info.value) == ("""element ["k"] of the return value of get_trace(): """
                               f"cannot encode a value of type {WAVEFORM} {HINT}")


def test_a_reply_that_cannot_be_sent_is_one_warning_naming_the_method(connect, port, caplog):
    c = connect(port)
    caplog.set_level(logging.WARNING, logger="sipyco.pc_rpc")
    with pytest.raises(RemoteError):
        c.get_trace()
    assert c.echo(1) == (1,)  # a reply that could be sent: no warning
    records = [r for r in caplog.records if r.name == "sipyco.pc_rpc"]
    assert [r.levelno for r in records] == [logging.WARNING]
    message = records[0].getMessage()
    assert message.startswith("the reply to get_trace() for 127.0.0.1:")
    assert message.endswith(" could not be sent: the return value of get_trace(): cannot "
                            f"encode a value of type {WAVEFORM} {HINT}")


@pytest.mark.asyncio
async def test_a_reply_to_a_client_gone_meanwhile_is_one_warning(caplog):
    caplog.set_level(logging.WARNING, logger="sipyco.pc_rpc")
    entered, release = asyncio.Event(), asyncio.Event()
    writers = []

    class Slow:
        async def slow(self):
            entered.set()
            await release.wait()
            return 1

    class Recording(Server):
        async def _handle_connection_cr(self, reader, writer):
            writers.append(writer)
            await super()._handle_connection_cr(reader, writer)

    server = Recording({"slow": Slow()})
    await server.start("127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"ARTIQ pc_rpc\n")
        await within(reader.readline())
        writer.write(b"slow\n")
        await within(reader.readline())
        writer.write(b'{"action": "call", "name": "slow", "args": (), "kwargs": {}}\n')
        await within(entered.wait())
        # gone with a reset, while the call runs
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                                   struct.pack("ii", 1, 0))
        writer.transport.abort()
        await eventually(lambda: writers[0].transport.is_closing())
        release.set()
        await eventually(lambda: any(r.name == "sipyco.pc_rpc" for r in caplog.records))
    finally:
        await server.stop()
    messages = [r.getMessage() for r in caplog.records if r.name == "sipyco.pc_rpc"]
    assert len(messages) == 1
    assert messages[0].startswith("the reply to slow() for 127.0.0.1:")
    assert messages[0].endswith(" could not be sent: the connection was closed before it "
                                "was written")
    assert [r.levelno for r in caplog.records if r.name == "sipyco.pc_rpc"] == [logging.WARNING]


def test_at_debug_each_call_is_logged_with_its_arguments_cut_short(connect, port, caplog):
    c = connect(port)
    caplog.set_level(logging.DEBUG, logger="sipyco.pc_rpc")
    c.echo("a" * 300, 2, w=[1] * 3)
    c.echo()
    lines = [r.getMessage() for r in caplog.records
             if r.name == "sipyco.pc_rpc" and r.levelno == logging.DEBUG]
    assert lines == [
        "calling echo(" + repr("a" * 300)[:100] + "..., 2, w=[1, 1, 1])",
        "calling echo()",
    ]


def test_without_debug_no_call_is_logged(connect, port, caplog):
    c = connect(port)
    caplog.set_level(logging.INFO, logger="sipyco.pc_rpc")
    c.echo(1)
    assert [r for r in caplog.records if r.name == "sipyco.pc_rpc"] == []


def test_a_subscriber_hello_is_answered_with_the_identification_then_closed(serve):
    port = serve({"instrument": Instrument()}, description="a rig").port
    with socket.create_connection(("127.0.0.1", port), 10) as s, s.makefile("rwb", 0) as f:
        f.write(b"ARTIQ sync_struct\nstatus\n")
        assert f.readline() == b'{"targets": ["instrument"], "description": "a rig", ' \
                               b'"features": ["pyon_v2"]}\n'
        assert f.readline() == b""
    # any other wrong hello: closed without a word
    with socket.create_connection(("127.0.0.1", port), 10) as s, s.makefile("rwb", 0) as f:
        f.write(b"ARTIQ logging\n")
        assert f.readline() == b""
