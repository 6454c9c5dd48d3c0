"""Fixtures for the sync_struct tests: real Publishers on 127.0.0.1 (port 0),
real Subscribers, and hand-written raw peers, all on the test's event loop
and all torn down after the test."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
from support.net import within
from support.sync import HELLO, RawPublisher

from sipyco.sync_struct import Publisher, Subscriber


def identity(struct):
    return struct


@pytest.fixture(params=[1, 2], ids=["v1", "v2"])
def pyon_version(request):
    return request.param


@pytest_asyncio.fixture
async def publish():
    """``await publish(notifiers, **options)`` -> a started Publisher."""
    started = []

    async def start(notifiers, **options):
        publisher = Publisher(notifiers, **options)
        await publisher.start("127.0.0.1", 0)
        started.append(publisher)
        return publisher

    yield start
    for publisher in started:
        await publisher.stop()
        publisher.release()


@pytest_asyncio.fixture
async def subscribe():
    """``await subscribe(port, name, builder=identity, notify_cb=None,
    disconnect_cb=None, **options)`` -> a connected Subscriber."""
    made = []

    async def connect(port, name, builder=identity, notify_cb=None, disconnect_cb=None,
                      **options):
        subscriber = Subscriber(name, builder, notify_cb, disconnect_cb, **options)
        made.append(subscriber)
        await within(subscriber.connect("127.0.0.1", port))
        return subscriber

    yield connect
    for subscriber in made:
        await subscriber.close()


@pytest_asyncio.fixture
async def raw_publisher():
    """``await raw_publisher(lines, then="hold")`` -> a started RawPublisher."""
    started = []

    async def start(lines, then="hold"):
        raw = RawPublisher(lines, then)
        await raw.start()
        started.append(raw)
        return raw

    yield start
    for raw in started:
        await raw.stop()


@pytest_asyncio.fixture
async def raw_subscriber():
    """``await raw_subscriber(port, name)`` -> (reader, writer) of a bare TCP
    connection that has sent the handshake for ``name`` (``name=None``: none)."""
    writers = []

    async def connect(port, name=None, **options):
        reader, writer = await asyncio.open_connection("127.0.0.1", port, **options)
        writers.append(writer)
        if name is not None:
            writer.write(HELLO + name.encode() + b"\n")
            await writer.drain()
        return reader, writer

    yield connect
    for writer in writers:
        writer.transport.abort()
