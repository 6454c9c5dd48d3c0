"""A target module using postponed annotations (strings at runtime)."""

from __future__ import annotations


class Postponed:
    def method(self, x: SomeUndefinedType, y: list[int] | None = None) -> Whatever:  # noqa: F821
        """Annotations here are never evaluated."""
        return x
