"""Modifications ("mods") of a structure, and the Notifier that makes them.

Pure data handling, no I/O: a Notifier applies each change to its backing
structure and hands the mod describing it to a publish callback.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

import numpy

from sipyco import pyon

__all__ = ["ModAction", "Notifier", "process_mod", "update_from_dict"]


class ModAction(str, enum.Enum):
    """The kinds of mod; a mod is a dict whose ``"action"`` is one of these
    values (plain strings on the wire, and equal to these members)."""

    #: A full copy of the structure in ``struct``; no path.
    init = "init"
    #: Append ``x`` to the list at ``path``.
    append = "append"
    #: Insert ``x`` at index ``i`` of the list at ``path``.
    insert = "insert"
    #: Remove index ``i`` from the list at ``path``.
    pop = "pop"
    #: Set ``key`` of the container at ``path`` to ``value``.
    setitem = "setitem"
    #: Remove ``key`` from the container at ``path``.
    delitem = "delitem"


class Notifier:
    """Wraps a structure of nested lists and dicts so that every change made
    through it is published as a mod.

    Change the structure only through the Notifier (``append``, ``insert``,
    ``pop``, ``n[key] = value``, ``del n[key]``); ``n[key]`` gives a Notifier
    for a nested container, so ``n["a"][0].append(x)`` publishes the right
    path.  Read through :attr:`raw_view`.  A change that fails (bad index,
    missing key) raises here and publishes nothing.  At most one Publisher
    can serve a Notifier.

    ``backing_struct`` is the structure to wrap; it is changed in place, not
    copied.  ``root`` and ``path`` (both default None) are set by
    ``n[key]`` for the nested Notifiers it returns: the top-level Notifier
    whose publisher gets the mods, and the keys leading from it to this
    container.  A program makes only top-level Notifiers and leaves them out.
    """

    def __init__(self, backing_struct: Any, root: Notifier | None = None,
                 path: list | None = None):
        self._backing_struct = backing_struct
        self.root = self if root is None else root
        self._path = [] if path is None else list(path)
        if root is None:
            #: Called with each mod after the change (for custom uses).
            self.publish: Callable[[dict], None] | None = None
            # Set by a Publisher: encode(mod) -> line, raising if the mod
            # cannot be sent, and send(line).  Encoding happens before the
            # change is applied, so a value that cannot be published is
            # refused without touching the structure.
            self.publisher_hooks: tuple[Callable, Callable] | None = None

    @property
    def raw_view(self) -> Any:
        """The wrapped structure itself, for reading only."""
        return self._backing_struct

    def _change(self, mod: dict, apply: Callable[[], Any]) -> Any:
        root = self.root
        hooks = root.publisher_hooks
        line = None if hooks is None else hooks[0](mod)  # encoded now, before the change
        result = apply()  # a failing change raises here: nothing is published
        if hooks is not None:
            hooks[1](line)
        if root.publish is not None:
            root.publish(mod)
        return result

    def _mod(self, action: ModAction, **fields: Any) -> dict:
        # the key order is the wire order: action, path, then the fields
        return {"action": action.value, "path": self._path, **fields}

    def append(self, x: Any) -> None:
        """Append ``x`` to a list.

        A value a Publisher cannot encode raises
        :class:`~sipyco.errors.EncodeError` and leaves the list unchanged."""
        self._change(self._mod(ModAction.append, x=x),
                     lambda: self._backing_struct.append(x))

    def insert(self, i: int, x: Any) -> None:
        """Insert ``x`` into a list before index ``i``, as ``list.insert`` does.

        A value a Publisher cannot encode raises
        :class:`~sipyco.errors.EncodeError` and leaves the list unchanged."""
        self._change(self._mod(ModAction.insert, i=i, x=x),
                     lambda: self._backing_struct.insert(i, x))

    def pop(self, i: int = -1) -> Any:
        """Remove and return the element at index ``i`` of a list (default -1,
        the last; no longer tracked).  An index out of range raises
        ``IndexError`` and publishes nothing."""
        return self._change(self._mod(ModAction.pop, i=i),
                            lambda: self._backing_struct.pop(i))

    def __setitem__(self, key: Any, value: Any) -> None:
        self._change(self._mod(ModAction.setitem, key=key, value=value),
                     lambda: self._backing_struct.__setitem__(key, value))

    def __delitem__(self, key: Any) -> None:
        self._change(self._mod(ModAction.delitem, key=key),
                     lambda: self._backing_struct.__delitem__(key))

    def __getitem__(self, key: Any) -> Notifier:
        return Notifier(self._backing_struct[key], self.root, self._path + [key])

    def __repr__(self) -> str:
        return f"<Notifier path={self._path!r} of {type(self._backing_struct).__name__}>"


def _follow(target: Any, path) -> Any:
    for key in path:
        target = target[key]
    return target


def _set(target: Any, mod: dict) -> None:
    target[mod["key"]] = mod["value"]


def _delete(target: Any, mod: dict) -> None:
    del target[mod["key"]]


# How each action changes the container at the mod's path (an init mod
# replaces the whole structure instead, which only its owner can do).
_APPLY: dict[ModAction, Callable[[Any, dict], Any]] = {
    ModAction.append: lambda target, mod: target.append(mod["x"]),
    ModAction.insert: lambda target, mod: target.insert(mod["i"], mod["x"]),
    ModAction.pop: lambda target, mod: target.pop(mod["i"]),
    ModAction.setitem: _set,
    ModAction.delitem: _delete,
}


def process_mod(target: Any, mod: dict) -> None:
    """Apply ``mod`` to ``target`` (a structure or a Notifier), mutating it.

    Raises ValueError for an ``init`` mod (it replaces the whole structure,
    which only the caller can do) or an unknown action, and whatever the
    structure raises for a bad path, index or key (KeyError, IndexError,
    TypeError, AttributeError, OverflowError for an index too large).
    """
    action = mod["action"]
    try:
        apply = _APPLY[action]  # ModAction members hash and compare as their strings
    except (KeyError, TypeError):
        if action == ModAction.init:
            raise ValueError("an init mod replaces the structure; use mod['struct']") from None
        raise ValueError(f"unknown mod action {action!r:.60}") from None
    apply(_follow(target, mod["path"]), mod)


def _same(a: Any, b: Any) -> bool:
    """Whether replacing ``a`` by ``b`` would change nothing a subscriber sees."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return a == b or (a != a and b != b)  # nan is unchanged too
    if isinstance(a, (numpy.ndarray, numpy.generic)):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    try:
        equal = a == b
        if type(equal) is bool:
            return equal
    except (ValueError, TypeError):
        pass
    # containers holding arrays, or odd __eq__: compare what would be sent
    try:
        return pyon.encode(a) == pyon.encode(b)
    except (TypeError, ValueError):
        return False


def update_from_dict(target: Notifier, source: dict) -> None:
    """Make the dict behind ``target`` equal to ``source`` with as few mods
    as possible: keys missing from ``source`` are deleted, new or changed
    keys are set, unchanged keys are not written.  (Changes are made at the
    top level only: a changed nested value is set as a whole.)"""
    current = target.raw_view
    for key in [k for k in current if k not in source]:
        del target[key]
    for key, value in source.items():
        if key not in current or not _same(current[key], value):
            target[key] = value
