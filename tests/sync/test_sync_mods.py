"""Mods without any network: the Notifier's mods, process_mod and
update_from_dict."""

from __future__ import annotations

import copy
import random

import numpy
import pytest
from support.sync import apply_random_change, capture

from sipyco.sync_struct import ModAction, Notifier, process_mod, update_from_dict


def replay(original, mods):
    state = copy.deepcopy(original)
    for mod in mods:
        process_mod(state, copy.deepcopy(mod))
    return state


# --- ModAction -------------------------------------------------------------

def test_mod_actions_are_their_strings():
    expected = ["init", "append", "insert", "pop", "setitem", "delitem"]
    assert [m.value for m in ModAction] == expected
    for name in expected:
        member = ModAction(name)
        assert member is getattr(ModAction, name)
        assert member == name
        assert name == member
        assert isinstance(member, str)
        assert hash(member) == hash(name)
        assert {name: 1}[member] == 1
    assert ModAction.append != "pop"


def test_process_mod_accepts_modaction_members_as_actions():
    target = {"l": [1]}
    process_mod(target, {"action": ModAction.append, "path": ["l"], "x": 2})
    process_mod(target, {"action": ModAction.setitem, "path": [], "key": "k", "value": 3})
    assert target == {"l": [1, 2], "k": 3}


# --- Notifier mods on nested paths ------------------------------------------

ORIGINAL = {
    "a": [{"b": 0, "lst": [1]}],
    "top": [10, 20, 30, 40],
    "d": {"k": "v", "keep": 1},
}


def test_every_action_on_nested_paths_has_the_wire_shape():
    state = copy.deepcopy(ORIGINAL)
    n = Notifier(state)
    mods = capture(n)

    n["a"][0]["b"] = 1
    n["a"][0]["lst"].append("x")
    n["a"][0]["lst"].insert(0, (1, 2))
    assert n["top"].pop(1) == 20
    assert n["top"].pop() == 40
    del n["d"]["k"]
    n["a"].append({"new": []})
    n["a"][1]["new"].append(5)
    n["d"][(1, 2)] = b"bytes"
    n["top"][0] = 99
    n["a"][0]["lst"].insert(-1, None)
    del n["top"][-1]

    assert mods == [
        {"action": "setitem", "path": ["a", 0], "key": "b", "value": 1},
        {"action": "append", "path": ["a", 0, "lst"], "x": "x"},
        {"action": "insert", "path": ["a", 0, "lst"], "i": 0, "x": (1, 2)},
        {"action": "pop", "path": ["top"], "i": 1},
        {"action": "pop", "path": ["top"], "i": -1},
        {"action": "delitem", "path": ["d"], "key": "k"},
        {"action": "append", "path": ["a"], "x": {"new": []}},
        {"action": "append", "path": ["a", 1, "new"], "x": 5},
        {"action": "setitem", "path": ["d"], "key": (1, 2), "value": b"bytes"},
        {"action": "setitem", "path": ["top"], "key": 0, "value": 99},
        {"action": "insert", "path": ["a", 0, "lst"], "i": -1, "x": None},
        {"action": "delitem", "path": ["top"], "key": -1},
    ]
    # exactly these keys, nothing more (no stray fields on the wire)
    for mod in mods:
        assert list(mod)[:2] == ["action", "path"]
        assert type(mod["path"]) is list

    final = {
        "a": [{"b": 1, "lst": [(1, 2), 1, None, "x"]}, {"new": [5]}],
        "top": [99],
        "d": {"keep": 1, (1, 2): b"bytes"},
    }
    assert n.raw_view is state
    assert state == final
    assert replay(ORIGINAL, mods) == final


def test_root_mods_have_an_empty_path():
    n = Notifier([])
    mods = capture(n)
    n.append([])
    n[0].append(42)
    n.insert(0, "first")
    n.pop(0)
    assert n.raw_view == [[42]]
    assert mods == [
        {"action": "append", "path": [], "x": []},
        {"action": "append", "path": [0], "x": 42},
        {"action": "insert", "path": [], "i": 0, "x": "first"},
        {"action": "pop", "path": [], "i": 0},
    ]


def test_nested_notifier_reports_to_the_root_only():
    n = Notifier({"inner": {"x": []}})
    mods = capture(n)
    inner = n["inner"]
    deeper = inner["x"]
    deeper.append(1)
    inner["y"] = 2
    assert mods == [{"action": "append", "path": ["inner", "x"], "x": 1},
                    {"action": "setitem", "path": ["inner"], "key": "y", "value": 2}]
    assert deeper.root is n and inner.root is n


def test_replay_of_a_long_random_sequence_reproduces_the_state():
    rng = random.Random(1234)
    original = {"lists": [[], [1], [2, 3]], "dicts": {"a": {}, "b": {"x": 1}}, "n": 0}
    state = copy.deepcopy(original)
    n = Notifier(state)
    mods = capture(n)
    for step in range(500):
        apply_random_change(n, rng, step)
    assert replay(original, mods) == state


# --- process_mod refusals -----------------------------------------------------

@pytest.mark.parametrize("mod", [
    {"action": "init", "struct": {"x": 1}},
    {"action": ModAction.init, "struct": {}},
    {"action": "frobnicate", "path": [], "key": "x"},
    {"action": "APPEND", "path": ["l"], "x": 1},
    {"action": None, "path": []},
])
def test_process_mod_refuses_init_and_unknown_actions(mod):
    target = {"x": 0, "l": []}
    with pytest.raises(ValueError):
        process_mod(target, mod)
    assert target == {"x": 0, "l": []}


# --- failing changes ------------------------------------------------------------

FAILURES = [
    ("pop past the end", lambda n: n["lst"].pop(10), IndexError),
    ("pop from empty", lambda n: n["empty"].pop(), IndexError),
    ("insert into a dict", lambda n: n["d"].insert(0, 1), AttributeError),
    ("append to a dict", lambda n: n["d"].append(1), AttributeError),
    ("delitem missing key", lambda n: n["d"].__delitem__("missing"), KeyError),
    ("delitem bad index", lambda n: n["lst"].__delitem__(7), IndexError),
    ("setitem bad index", lambda n: n["lst"].__setitem__(7, 1), IndexError),
    ("setitem unhashable key", lambda n: n["d"].__setitem__([1], 1), TypeError),
    ("path through a missing key", lambda n: n["nope"].__setitem__("x", 1), KeyError),
    ("setitem on a tuple", lambda n: n["t"].__setitem__(0, 1), (TypeError, AttributeError)),
]


@pytest.mark.parametrize("change, exc", [f[1:] for f in FAILURES],
                         ids=[f[0] for f in FAILURES])
def test_a_failing_change_raises_and_publishes_nothing(change, exc):
    original = {"lst": [1, 2, 3], "empty": [], "d": {"k": 1}, "t": (1, 2)}
    n = Notifier(copy.deepcopy(original))
    mods = capture(n)
    with pytest.raises(exc):
        change(n)
    assert mods == []
    assert n.raw_view == original


# --- update_from_dict ---------------------------------------------------------------

def test_update_from_dict_writes_only_what_changed():
    n = Notifier({"same": 1, "list": [1, 2], "changed": "x", "gone": 0, "nested": {"a": [1]}})
    mods = capture(n)
    source = {"same": 1, "list": [1, 2], "changed": "y", "nested": {"a": [1]}, "new": 3}
    update_from_dict(n, source)
    assert sorted(mods, key=lambda m: (m["action"], m["key"])) == [
        {"action": "delitem", "path": [], "key": "gone"},
        {"action": "setitem", "path": [], "key": "changed", "value": "y"},
        {"action": "setitem", "path": [], "key": "new", "value": 3},
    ]
    assert n.raw_view == source
    mods.clear()
    update_from_dict(n, copy.deepcopy(source))
    assert mods == []


def test_update_from_dict_replaces_changed_nested_values_whole():
    n = Notifier({"nested": {"a": [1, 2], "b": 0}})
    mods = capture(n)
    update_from_dict(n, {"nested": {"a": [1, 3], "b": 0}})
    assert mods == [{"action": "setitem", "path": [], "key": "nested",
                     "value": {"a": [1, 3], "b": 0}}]


def test_update_from_dict_on_a_nested_notifier():
    n = Notifier({"cfg": {"x": 1, "y": 2}})
    mods = capture(n)
    update_from_dict(n["cfg"], {"x": 1, "z": 3})
    assert n.raw_view == {"cfg": {"x": 1, "z": 3}}
    assert sorted(mods, key=lambda m: m["action"]) == [
        {"action": "delitem", "path": ["cfg"], "key": "y"},
        {"action": "setitem", "path": ["cfg"], "key": "z", "value": 3},
    ]


@pytest.mark.parametrize("old, new", [(1, 1.0), (1, True), (0, False), ((1,), [1]),
                                      ("1", b"1")])
def test_update_from_dict_sees_a_change_of_type(old, new):
    n = Notifier({"v": old})
    mods = capture(n)
    update_from_dict(n, {"v": new})
    assert len(mods) == 1
    assert type(n.raw_view["v"]) is type(new)


def test_update_from_dict_with_numpy_arrays():
    n = Notifier({"arr": numpy.arange(6), "grid": numpy.zeros((2, 3)),
                  "in_list": [numpy.ones(3)], "nan": numpy.array([numpy.nan, 1.0])})
    mods = capture(n)
    # equal copies: nothing to write
    update_from_dict(n, {"arr": numpy.arange(6), "grid": numpy.zeros((2, 3)),
                         "in_list": [numpy.ones(3)], "nan": numpy.array([numpy.nan, 1.0])})
    assert mods == []
    # one array changed: one setitem carrying the new array
    changed = numpy.arange(6)
    changed[3] = 100
    update_from_dict(n, {"arr": changed, "grid": numpy.zeros((2, 3)),
                         "in_list": [numpy.ones(3)], "nan": numpy.array([numpy.nan, 1.0])})
    assert len(mods) == 1
    assert mods[0]["action"] == "setitem" and mods[0]["key"] == "arr"
    assert (mods[0]["value"] == changed).all()
    assert n.raw_view["arr"] is changed


@pytest.mark.parametrize("old, new", [
    (numpy.zeros((2, 3)), numpy.zeros((3, 2))),          # shape
    (numpy.arange(4), numpy.arange(4.0)),                 # dtype
    (numpy.arange(4), numpy.arange(4).reshape(1, 4)),     # broadcastable shape
    ([numpy.ones(3)], [numpy.ones(4)]),                   # inside a list
])
def test_update_from_dict_sees_array_shape_and_dtype_changes(old, new):
    n = Notifier({"a": old})
    mods = capture(n)
    update_from_dict(n, {"a": new})
    assert len(mods) == 1


@pytest.mark.parametrize("old, new", [
    (numpy.array([5]), numpy.array([[5]])),       # shape (1,) -> (1, 1)
    (numpy.array([5]), numpy.array(5)),           # shape (1,) -> ()
    (numpy.array([1]), numpy.array([1.0])),       # dtype int64 -> float64
    (numpy.array([1], dtype=numpy.int8), numpy.array([1], dtype=numpy.int64)),
], ids=["1-to-1x1", "1-to-0d", "int-to-float", "int8-to-int64"])
def test_update_from_dict_sees_changes_of_one_element_arrays(old, new):
    """A one-element array compares to another one-element array with a
    truthy ``==`` whatever the shapes and dtypes, so such a change must not
    be mistaken for "unchanged" (the subscribers would keep the old shape or
    dtype while the source says otherwise)."""
    n = Notifier({"a": old})
    mods = capture(n)
    update_from_dict(n, {"a": new})
    assert len(mods) == 1, "the change of shape/dtype was not written"
    assert n.raw_view["a"].shape == new.shape
    assert n.raw_view["a"].dtype == new.dtype
