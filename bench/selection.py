"""Choosing rows (or shapes) of a benchmark by name, for its ``--row`` or
``--shape`` option."""

from __future__ import annotations


def select(names: list[str], patterns: list[str] | None, what: str = "row") -> list[str]:
    """The ``names`` chosen by ``patterns``, in their own order: a pattern
    that is a whole name chooses that one alone (``hash-dict-v1``, not also
    ``stall-hash-dict-v1``); any other, every name holding it.  No pattern:
    all of them.  A pattern that chooses nothing ends the program, naming
    what there is."""
    if not patterns:
        return list(names)

    def matches(pattern: str, name: str) -> bool:
        return pattern == name if pattern in names else pattern in name

    chosen = [n for n in names if any(matches(p, n) for p in patterns)]
    unknown = [p for p in patterns if not any(matches(p, n) for n in names)]
    if unknown:
        raise SystemExit(f"no {what} matches {unknown}; {what}s: {', '.join(names)}")
    return chosen
