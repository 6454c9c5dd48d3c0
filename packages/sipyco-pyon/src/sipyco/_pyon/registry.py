"""Application-defined types: how they are named on the wire and rebuilt."""

from __future__ import annotations

import keyword
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .specials import RESERVED_NAMES

__all__ = ["CustomType", "Registry"]


@dataclass(frozen=True)
class CustomType:
    """One registered type: ``to_args(obj)`` gives the constructor arguments,
    ``from_args(*args)`` rebuilds the object from them."""

    cls: type
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
        self._by_name: dict[str, CustomType] = {}
        self.version = 0

    def register(
        self,
        cls: type,
        *,
        name: str | None = None,
        to_args: Callable[[Any], tuple | list],
        from_args: Callable[..., Any] | None = None,
    ) -> type:
        """Teach the codec a new type; returns ``cls``.

        Raises ``ValueError`` for a name that is not an identifier, is one of
        PYON's own, or is already taken by another type, and ``TypeError``
        when ``cls`` is not a class or ``to_args`` is not callable.
        """
        if not isinstance(cls, type):
            raise TypeError(f"register() needs a class, got {cls!r}")
        if not callable(to_args):
            raise TypeError("register() needs a callable to_args")
        if name is None:
            name = cls.__name__
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) \
                or not name.isascii():
            raise ValueError(f"type name {name!r} is not an ASCII Python identifier")
        if name in RESERVED_NAMES:  # PYON's own names (see specials.py)
            raise ValueError(f"type name {name!r} is reserved by PYON")
        taken = self._by_name.get(name)
        if taken is not None and taken.cls is not cls:
            raise ValueError(f"type name {name!r} is already registered for {taken.cls!r}")
        old = self._by_type.get(cls)
        if old is not None and old.name != name:
            del self._by_name[old.name]
        entry = CustomType(cls, name, to_args, cls if from_args is None else from_args)
        self._by_type[cls] = entry
        self._by_name[name] = entry
        self.version += 1
        return cls

    def unregister(self, cls: type) -> None:
        """Forget ``cls``; ``KeyError`` if it was not registered."""
        entry = self._by_type.pop(cls)
        del self._by_name[entry.name]
        self.version += 1

    def by_type(self) -> dict[type, CustomType]:
        return dict(self._by_type)

    def by_name(self) -> dict[str, CustomType]:
        return dict(self._by_name)
