"""Application-defined types: how they are named on the wire and rebuilt.

Two ways to register, told apart by the keywords used:

* this library's: ``register(cls, *, name=None, to_args, from_args=None)``,
  one class per call; registering the same class again replaces its entry;
* sipyco 1.10's: ``register(types, *, name, encode, decode)``, any number of
  classes (an iterable, or one class) written under one name; a type or a
  name that is already taken is refused.

``deregister(types, name)`` (1.10) and ``unregister(cls)`` remove entries.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import AlreadyRegistered, NotRegistered
from .specials import RESERVED_NAMES

__all__ = ["CustomType", "Registry", "v1_name_ok"]

_UNSET: Any = object()


def v1_name_ok(name: object) -> bool:
    """Whether PYON v1 can write and read ``name(...)``: an ASCII Python
    identifier that is not a keyword."""
    return isinstance(name, str) and name.isascii() and name.isidentifier() \
        and not keyword.iskeyword(name)


@dataclass(frozen=True)
class CustomType:
    """One registered type: ``to_args(obj)`` gives the constructor arguments,
    ``from_args(*args)`` rebuilds the object from them.  ``cls`` is ``None``
    for a name registered (1.10 style) with no type: it is read, never written."""

    cls: type | None
    name: str
    to_args: Callable[[Any], tuple | list]
    from_args: Callable[..., Any]


class Registry:
    """A set of application types known to a :class:`~sipyco.pyon.Codec`.

    ``version`` changes on every registration, so codecs can rebuild their
    dispatch tables lazily.
    """

    def __init__(self) -> None:
        self._by_type: dict[type, CustomType] = {}
        self._by_name: dict[str, CustomType] = {}  # what the readers rebuild
        self.version = 0

    # ------------------------------------------------------------ register --

    def register(self, cls: Any = _UNSET, *, name: str | None = None,
                 to_args: Callable[[Any], tuple | list] | None = None,
                 from_args: Callable[..., Any] | None = None,
                 encode: Callable[[Any], tuple | list] | None = None,
                 decode: Callable[..., Any] | None = None,
                 types: Any = _UNSET) -> Any:
        """Teach the codec application types.  Two forms:

        ``register(cls, *, name=None, to_args, from_args=None)``: ``to_args(obj)``
        returns the encodable arguments describing ``obj``, ``from_args(*args)``
        (default: ``cls``) rebuilds it, ``name`` (default: the class name) must
        be an ASCII Python identifier.  Registering ``cls`` again replaces its
        entry.  Returns ``cls``.

        ``register(types, *, name, encode, decode)`` (sipyco 1.10's form):
        ``types`` is an iterable of classes (or one class), all written under
        ``name``; ``encode(obj)`` returns the list of arguments and
        ``decode(*args)`` rebuilds the value.  ``name`` may be any string; one
        that is not an identifier can only be written as PYON v2 (v1 refuses
        the value with an ``EncodeError``).  Returns ``None``.

        A name or type that is already taken, or a name PYON reserves for
        itself, raises :class:`~sipyco.errors.AlreadyRegistered` (a
        ``ValueError`` and an ``AssertionError``), and nothing changes.  In
        the first form a name that is not an identifier is a ``ValueError``;
        a ``cls`` that is not a class or a function that is not callable is a
        ``TypeError``.
        """
        if types is not _UNSET:
            if cls is not _UNSET:
                raise TypeError("register() got both a positional type and types=")
            cls = types
        if cls is _UNSET:
            raise TypeError("register() needs the type(s) to register")
        if encode is not None or decode is not None:
            if to_args is not None or from_args is not None:
                raise TypeError("register() takes either to_args/from_args or "
                                "encode/decode (sipyco 1.10's form), not both")
            if encode is None or decode is None or name is None:
                raise TypeError("register(types, *, name, encode, decode) needs "
                                "all of name, encode and decode")
            self._register_many(cls, name, encode, decode)
            return None
        if to_args is None:
            raise TypeError("register() needs to_args (or sipyco 1.10's encode and decode)")
        return self._register_one(cls, name, to_args, from_args)

    def _register_one(self, cls, name, to_args, from_args) -> type:
        if not isinstance(cls, type):
            raise TypeError(f"register() needs a class, got {cls!r}")
        if not callable(to_args):
            raise TypeError("register() needs a callable to_args")
        if name is None:
            name = cls.__name__
        if not v1_name_ok(name):
            raise ValueError(f"type name {name!r} is not an ASCII Python identifier")
        self._check_not_reserved(name)
        if name in self._by_name and self._users(name) != [cls]:
            others = [c for c in self._users(name) if c is not cls]
            whom = repr(others[0]) if others else "decoding only"
            raise AlreadyRegistered(f"type name {name!r} is already registered for {whom}")
        old = self._by_type.get(cls)
        entry = CustomType(cls, name, to_args, cls if from_args is None else from_args)
        if old is not None and old.name != name:
            self._drop_type(cls)
        self._by_type[cls] = entry
        self._by_name[name] = entry
        self.version += 1
        return cls

    def _register_many(self, types, name, encode, decode) -> None:
        classes = self._classes(types, "register")
        if not isinstance(name, str):
            raise TypeError(f"type name must be a str, not {type(name).__name__}")
        if not callable(encode) or not callable(decode):
            raise TypeError("register() needs callable encode and decode")
        self._check_not_reserved(name)
        if name in self._by_name:
            raise AlreadyRegistered(f"type name {name!r} is already registered")
        seen: set[type] = set()
        for cls in classes:
            if cls in self._by_type:
                raise AlreadyRegistered(f"type {cls!r} is already registered "
                                        f"(as {self._by_type[cls].name!r})")
            if cls in seen:
                raise AlreadyRegistered(f"type {cls!r} is listed twice")
            seen.add(cls)
        reader = CustomType(classes[0] if classes else None, name, encode, decode)
        for cls in classes:
            self._by_type[cls] = CustomType(cls, name, encode, decode)
        self._by_name[name] = reader
        self.version += 1

    @staticmethod
    def _check_not_reserved(name: str) -> None:
        if name in RESERVED_NAMES:  # PYON's own names (see specials.py)
            raise AlreadyRegistered(f"type name {name!r} is reserved by PYON")

    @staticmethod
    def _classes(types, what: str) -> list[type]:
        if isinstance(types, type):
            return [types]
        try:
            classes = list(types)
        except TypeError:
            raise TypeError(f"{what}() needs a class or an iterable of classes, "
                            f"got {types!r}") from None
        for cls in classes:
            if not isinstance(cls, type):
                raise TypeError(f"{what}() needs classes, got {cls!r}")
        return classes

    # ---------------------------------------------------------- deregister --

    def unregister(self, cls: type) -> None:
        """Forget ``cls``; :class:`~sipyco.errors.NotRegistered` (a
        ``KeyError``) if it was not registered.  Its name stops being read
        once no registered type uses it."""
        if cls not in self._by_type:
            raise NotRegistered(f"type {cls!r} is not registered")
        self._drop_type(cls)
        self.version += 1

    def deregister(self, types: Any, name: str) -> None:
        """sipyco 1.10's removal: forget ``types`` (an iterable of classes, or
        one class) and the name ``name`` they were registered under.

        Raises :class:`~sipyco.errors.NotRegistered` (a ``KeyError``), and
        changes nothing, when ``name`` is not registered or one of ``types``
        is not registered under it.  Types still registered under ``name``
        but not listed keep it (and it stays readable).
        """
        classes = self._classes(types, "deregister")
        if not isinstance(name, str) or name not in self._by_name:
            raise NotRegistered(f"type name {name!r} is not registered")
        for cls in classes:
            entry = self._by_type.get(cls)
            if entry is None or entry.name != name:
                raise NotRegistered(f"type {cls!r} is not registered as {name!r}")
        for cls in classes:
            self._drop_type(cls)
        if name in self._by_name and not self._users(name):
            del self._by_name[name]  # a name registered with no type
        self.version += 1

    def _drop_type(self, cls: type) -> None:
        """Remove ``cls``'s entry; its name goes with the last type using it."""
        entry = self._by_type.pop(cls)
        reader = self._by_name.get(entry.name)
        if reader is None or reader.cls is not cls:
            return
        remaining = self._users(entry.name)
        if remaining:
            self._by_name[entry.name] = self._by_type[remaining[0]]
        else:
            del self._by_name[entry.name]

    def _users(self, name: str) -> list[type]:
        return [c for c, e in self._by_type.items() if e.name == name]

    # -------------------------------------------------------------- tables --

    def by_type(self) -> dict[type, CustomType]:
        """A copy of the table of registered classes: class -> its entry."""
        return dict(self._by_type)

    def by_name(self) -> dict[str, CustomType]:
        """A copy of the table of registered names: wire name -> its entry."""
        return dict(self._by_name)
