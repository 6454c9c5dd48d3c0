"""Publisher and Subscribers on real sockets: replication, callbacks, late
joiners, encoding at the moment of the change, refused changes."""

from __future__ import annotations

import asyncio
import copy
import random

import numpy
import pytest
from support.net import eventually
from support.sync import Recorder, apply_random_change, capture, done

from sipyco import pyon
from sipyco.errors import EncodeError
from sipyco.sync_struct import Notifier, Publisher, process_mod


def initial_state():
    return {"lists": [[], [1], [2, 3]], "dicts": {"a": {}, "b": {"x": 1}}, "n": 0,
            "arr": numpy.arange(4), "t": (1, "two", b"3")}


def assert_equal_state(actual, expected):
    assert set(actual) == set(expected)
    for key in expected:
        if isinstance(expected[key], numpy.ndarray):
            assert type(actual[key]) is numpy.ndarray
            assert actual[key].dtype == expected[key].dtype
            assert (actual[key] == expected[key]).all()
        else:
            assert actual[key] == expected[key], key
            assert type(actual[key]) is type(expected[key]), key


@pytest.mark.asyncio
async def test_round_trip_of_every_action(publish, subscribe, pyon_version):
    n = Notifier({"l": [1, 2, 3], "d": {"k": "v"}, "t": (1, 2)})
    publisher = await publish({"s": n}, pyon_version=pyon_version)
    sub = await subscribe(publisher.port, "s")
    assert sub.target == {"l": [1, 2, 3], "d": {"k": "v"}, "t": (1, 2)}
    assert type(sub.target["t"]) is tuple
    n["l"].append((4, 5))
    n["l"].insert(0, {1, 2})
    n["l"].pop(1)
    n["d"][(1, 2)] = 3j
    del n["d"]["k"]
    n["sentinel"] = "done"
    await eventually(done(sub))
    assert sub.target == {"l": [{1, 2}, 2, 3, (4, 5)], "d": {(1, 2): 3j}, "t": (1, 2),
                          "sentinel": "done"}
    assert sub.target == n.raw_view


@pytest.mark.asyncio
async def test_many_subscribers_follow_hundreds_of_mixed_mods(publish, subscribe,
                                                              pyon_version):
    n = Notifier(initial_state())
    published = capture(n)
    publisher = await publish({"state": n}, pyon_version=pyon_version)
    recorders = [Recorder() for _ in range(5)]
    subs = [await subscribe(publisher.port, "state", notify_cb=rec) for rec in recorders]
    rng = random.Random(42)
    for step in range(400):
        apply_random_change(n, rng, step)
        if step % 50 == 0:
            n["arr"] = numpy.arange(step, step + 4)
            await asyncio.sleep(0)
    n["sentinel"] = "done"
    for sub in subs:
        await eventually(done(sub))
    for sub, rec in zip(subs, recorders, strict=True):
        assert_equal_state(sub.target, n.raw_view)
        assert rec.mods[0]["action"] == "init"
        # after the init: exactly the published mods, in order
        received = rec.mods[1:]
        assert len(received) == len(published)
        for got, sent in zip(received, published, strict=True):
            assert pyon.encode(got) == pyon.encode(sent)


@pytest.mark.asyncio
async def test_notify_cb_as_callable_and_as_list(publish, subscribe):
    n = Notifier({"x": 0, "l": []})
    publisher = await publish({"s": n})
    single = Recorder()
    first, second = Recorder(), Recorder()
    order = []
    sub1 = await subscribe(publisher.port, "s", notify_cb=single)
    sub2 = await subscribe(publisher.port, "s", notify_cb=[
        first, lambda mod: order.append(("a", mod["action"])),
        second, lambda mod: order.append(("b", mod["action"]))])
    n["x"] = 1
    n["l"].append("y")
    n["sentinel"] = "done"
    await eventually(done(sub1))
    await eventually(done(sub2))
    expected = [
        {"action": "init", "struct": {"x": 0, "l": []}},
        {"action": "setitem", "path": [], "key": "x", "value": 1},
        {"action": "append", "path": ["l"], "x": "y"},
        {"action": "setitem", "path": [], "key": "sentinel", "value": "done"},
    ]
    assert single.mods == expected
    assert first.mods == expected
    assert second.mods == expected
    assert order == [(who, m["action"]) for m in expected for who in "ab"]


@pytest.mark.asyncio
async def test_notify_cb_is_called_after_the_mod_was_applied(publish, subscribe):
    n = Notifier({"l": []})
    publisher = await publish({"s": n})
    seen = []
    holder = {}

    def cb(mod):
        if mod["action"] != "init":
            seen.append(copy.deepcopy(holder["sub"].target))

    holder["sub"] = sub = await subscribe(publisher.port, "s", notify_cb=cb)
    n["l"].append(1)
    n["sentinel"] = "done"
    await eventually(done(sub))
    assert seen == [{"l": [1]}, {"l": [1], "sentinel": "done"}]


@pytest.mark.asyncio
async def test_target_builder_gets_the_initial_struct(publish, subscribe):
    n = Notifier({"a": [1, 2]})
    publisher = await publish({"s": n})
    built = []

    class Mirror(dict):
        pass

    def builder(struct):
        built.append(copy.deepcopy(struct))
        return Mirror(struct)

    sub = await subscribe(publisher.port, "s", builder=builder)
    assert built == [{"a": [1, 2]}]
    assert type(sub.target) is Mirror
    n["a"].append(3)
    n["sentinel"] = "done"
    await eventually(done(sub))
    assert sub.target == {"a": [1, 2, 3], "sentinel": "done"}


@pytest.mark.asyncio
async def test_one_publisher_serves_several_notifiers(publish, subscribe):
    a, b = Notifier({"name": "a"}), Notifier(["b"])
    publisher = await publish({"first": a, "second": b})
    sub_a = await subscribe(publisher.port, "first")
    sub_b = await subscribe(publisher.port, "second")
    a["x"] = 1
    b.append("y")
    a["sentinel"] = "done"
    b.append("done")
    await eventually(done(sub_a))
    await eventually(lambda: sub_b.target[-1:] == ["done"])
    assert sub_a.target == {"name": "a", "x": 1, "sentinel": "done"}
    assert sub_b.target == ["b", "y", "done"]


@pytest.mark.asyncio
async def test_late_joiner_gets_the_current_state_then_exactly_the_later_mods(
        publish, subscribe, pyon_version):
    n = Notifier({"log": [], "count": 0})
    publisher = await publish({"s": n}, pyon_version=pyon_version)
    early_rec = Recorder()
    early = await subscribe(publisher.port, "s", notify_cb=early_rec)
    for i in range(10):
        n["log"].append(i)
        n["count"] = i
    snapshot = copy.deepcopy(n.raw_view)
    late_rec = Recorder()
    late = await subscribe(publisher.port, "s", notify_cb=late_rec)
    assert late_rec.mods == [{"action": "init", "struct": snapshot}]
    for i in range(10, 15):
        n["log"].append(i)
    n["log"].pop(0)
    n["sentinel"] = "done"
    await eventually(done(late))
    await eventually(done(early))
    assert late_rec.mods[1:] == [
        *({"action": "append", "path": ["log"], "x": i} for i in range(10, 15)),
        {"action": "pop", "path": ["log"], "i": 0},
        {"action": "setitem", "path": [], "key": "sentinel", "value": "done"},
    ]
    assert len(early_rec.mods) == 1 + 20 + 5 + 1 + 1
    assert late.target == early.target == n.raw_view


@pytest.mark.asyncio
async def test_subscribers_joining_during_a_burst_end_consistent(publish, subscribe,
                                                                 pyon_version):
    n = Notifier({"log": [], "count": -1})
    publisher = await publish({"s": n}, pyon_version=pyon_version)
    stop = asyncio.Event()

    async def mutate():
        i = 0
        while not stop.is_set():
            n["log"].append(i)
            n["count"] = i
            if i % 3 == 0:
                n["log"].pop(0)
            i += 1
            await asyncio.sleep(0)
        return i

    task = asyncio.ensure_future(mutate())
    recorders, subs = [], []
    try:
        for _ in range(6):
            rec = Recorder()
            subs.append(await subscribe(publisher.port, "s", notify_cb=rec))
            recorders.append(rec)
            await asyncio.sleep(0)
        last_join = recorders[-1].mods[0]["struct"]["count"]
        await eventually(lambda: n.raw_view["count"] > last_join + 20)
        assert not task.done()
        stop.set()
        total = await task
    finally:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)
    n["sentinel"] = "done"
    for sub in subs:
        await eventually(done(sub))
    joined_at = []
    for sub, rec in zip(subs, recorders, strict=True):
        assert sub.target == n.raw_view
        init = rec.mods[0]
        assert init["action"] == "init"
        joined_at.append(init["struct"]["count"])
        # no count update lost or repeated after the snapshot
        counts = [m["value"] for m in rec.mods[1:]
                  if m["action"] == "setitem" and m["key"] == "count"]
        assert counts == list(range(init["struct"]["count"] + 1, total))
    # they really joined while the structure was changing
    assert len(set(joined_at)) > 1
    assert max(joined_at) < total - 1


@pytest.mark.asyncio
async def test_each_mod_is_encoded_once_at_the_moment_of_the_change(publish, subscribe,
                                                                    pyon_version):
    n = Notifier({"l": []})
    publisher = await publish({"s": n}, pyon_version=pyon_version)
    subs = [await subscribe(publisher.port, "s") for _ in range(5)]

    encoded = []
    real_encode = publisher._encode_text

    def counting(value):
        encoded.append(value.get("action"))
        return real_encode(value)

    publisher._encode_text = counting
    lst = [1, 2]
    n["k"] = lst
    lst.append(3)              # outside the Notifier, after the change
    inner = {"x": 1}
    n["l"].append(inner)
    inner["x"] = 2
    n["sentinel"] = "done"
    assert encoded == ["setitem", "append", "setitem"]  # once each, not once per subscriber
    for sub in subs:
        await eventually(done(sub))
        assert sub.target["k"] == [1, 2]
        assert sub.target["l"] == [{"x": 1}]
    assert n.raw_view["k"] == [1, 2, 3]
    # a subscriber joining now gets the structure as it is now
    late = await subscribe(publisher.port, "s")
    assert late.target["k"] == [1, 2, 3]
    assert late.target["l"] == [{"x": 2}]


@pytest.mark.parametrize("change", [
    lambda n: n.__setitem__("bad", object()),
    lambda n: n["l"].append(object()),
    lambda n: n["l"].insert(0, {"deep": [1, object()]}),
    lambda n: n["d"].__setitem__(object(), 1),
    lambda n: n.__setitem__("arr", numpy.array([object()], dtype=object)),
], ids=["setitem", "append", "insert-nested", "key", "object-array"])
@pytest.mark.asyncio
async def test_an_unencodable_value_is_refused_and_nothing_is_sent(publish, subscribe,
                                                                   pyon_version, change):
    original = {"l": [1], "d": {}}
    n = Notifier(copy.deepcopy(original))
    published = capture(n)
    publisher = await publish({"s": n}, pyon_version=pyon_version)
    rec = Recorder()
    sub = await subscribe(publisher.port, "s", notify_cb=rec)
    with pytest.raises(TypeError) as info:
        change(n)
    assert isinstance(info.value, EncodeError)
    assert n.raw_view == original
    assert published == []
    n["sentinel"] = "done"
    await eventually(done(sub))
    assert rec.mods[1:] == [{"action": "setitem", "path": [], "key": "sentinel",
                             "value": "done"}]
    assert sub.target == {**original, "sentinel": "done"}


@pytest.mark.asyncio
async def test_failing_changes_send_nothing_to_subscribers(publish, subscribe):
    original = {"l": [1, 2], "d": {"k": 1}}
    n = Notifier(copy.deepcopy(original))
    publisher = await publish({"s": n})
    rec = Recorder()
    sub = await subscribe(publisher.port, "s", notify_cb=rec)
    with pytest.raises(IndexError):
        n["l"].pop(5)
    with pytest.raises(AttributeError):
        n["d"].insert(0, 1)
    with pytest.raises(KeyError):
        del n["d"]["missing"]
    with pytest.raises(IndexError):
        n["l"][9] = 0
    assert n.raw_view == original
    n["sentinel"] = "done"
    await eventually(done(sub))
    assert [m["action"] for m in rec.mods] == ["init", "setitem"]
    assert sub.target == {**original, "sentinel": "done"}


@pytest.mark.asyncio
async def test_a_subscriber_that_republishes_through_a_notifier(publish, subscribe):
    """The ARTIQ pattern: a subscriber's target is itself a Notifier served by
    a second publisher; changes flow through two hops."""
    n = Notifier({"v": 0})
    first = await publish({"s": n})
    relay = None

    def builder(struct):
        nonlocal relay
        relay = Notifier(struct)
        return relay

    hop = await subscribe(first.port, "s", builder=builder)
    second = await publish({"relayed": relay})
    far = await subscribe(second.port, "relayed")
    n["v"] = 1
    n["sentinel"] = "done"
    await eventually(lambda: far.target.get("sentinel") == "done")
    assert far.target == {"v": 1, "sentinel": "done"}
    assert hop.target is relay


def test_publisher_arguments_are_checked():
    n = Notifier({})
    with pytest.raises(ValueError):
        Publisher({"s": n}, pyon_version=3)
    with pytest.raises(ValueError):
        Publisher({"s": n}, max_backlog_bytes=0)
    with pytest.raises(TypeError):
        Publisher({"s": {"not": "a notifier"}})
    with pytest.raises(ValueError):
        Publisher({"s": Notifier({"x": {}})["x"]})
    assert n.publisher_hooks is None


def test_a_notifier_has_at_most_one_publisher():
    n = Notifier({})
    first = Publisher({"s": n})
    with pytest.raises(ValueError):
        Publisher({"again": n})
    first.release()
    Publisher({"s": n}).release()


def test_a_refused_publisher_leaves_the_notifiers_free():
    """Publisher() validates notifier by notifier; when a later entry is
    refused the earlier notifiers must not stay attached to the publisher
    that was never made."""
    good = Notifier({"x": 1})
    with pytest.raises(TypeError):
        Publisher({"good": good, "bad": "not a notifier"})
    assert good.publisher_hooks is None
    Publisher({"good": good}).release()


@pytest.mark.asyncio
async def test_process_mod_on_received_mods_matches(publish, subscribe):
    """A notify_cb sees mods that, replayed on the init struct, give the target."""
    n = Notifier({"l": [], "d": {}})
    publisher = await publish({"s": n})
    rec = Recorder()
    sub = await subscribe(publisher.port, "s", notify_cb=rec)
    rng = random.Random(7)
    for i in range(100):
        if rng.random() < 0.5 or not n.raw_view["l"]:
            n["l"].insert(rng.randint(0, 3), i)
        else:
            n["l"].pop(rng.randrange(len(n.raw_view["l"])))
        n["d"][i % 7] = (i,)
    n["sentinel"] = "done"
    await eventually(done(sub))
    state = copy.deepcopy(rec.mods[0]["struct"])
    for mod in rec.mods[1:]:
        process_mod(state, mod)
    assert state == sub.target == n.raw_view


@pytest.mark.asyncio
async def test_the_same_subscriber_reconnects(publish, subscribe):
    n = Notifier({"x": 0})
    publisher = await publish({"s": n})
    port = publisher.port
    calls = []
    sub = await subscribe(port, "s", disconnect_cb=lambda: calls.append("gone"))
    await publisher.stop()
    await eventually(lambda: calls == ["gone"])
    n["x"] = 1
    await publisher.start("127.0.0.1", port)
    await sub.connect("127.0.0.1", port)
    assert sub.target == {"x": 1}
    n["x"] = 2
    await eventually(lambda: sub.target == {"x": 2})
    await sub.close()
    await sub.connect("127.0.0.1", port)
    n["x"] = 3
    await eventually(lambda: sub.target == {"x": 3})
    await publisher.stop()
    await eventually(lambda: calls == ["gone", "gone"])
