"""How many values a PYON text may make its reader build (``max_items``).

A short text can describe many small objects: ``[[],[],...]`` costs three
characters per list in the text and over sixty bytes per list once read.
Before a text is parsed, :func:`check_items` bounds the number of values it
can hold, from counts of its punctuation made at C speed, and refuses it
when that is over the limit: the reader never starts on it, so a refused
text costs no more than its own bytes.

The bound: every value but the outermost either follows a ``,`` or a ``:``
or is the first thing inside a non-empty bracket, so a text holds at most
``1 + commas + colons + opening brackets - empty pairs`` values.  An array
is one value (its payload is a bytes or base64 literal: its memory is the
size of the text).  Punctuation inside string literals is not counted; that
is only worked out when the quick count, which includes it, is over the
limit.  A text no longer than the limit needs no count at all: each value
takes at least one character.
"""

from __future__ import annotations

import re

from ..errors import TooManyItems

__all__ = ["DEFAULT_MAX_ITEMS", "check_items", "check_max_items"]

#: Values one text may hold unless told otherwise: 2**22, so that the
#: cheapest shape (empty lists, 64 bytes each in memory) stays within 256 MiB.
#: Any text of up to 4 MiB (upstream's whole message limit) is within it.
DEFAULT_MAX_ITEMS = 1 << 22

# String literals of either quote (v2 uses only the double one), found to
# take them out of the count; an unterminated one stays in (counted: the
# bound only grows).
_LITERALS = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"|' r"'[^'\\\n]*(?:\\.[^'\\\n]*)*'")


def check_max_items(max_items: int) -> int:
    if type(max_items) is not int or max_items < 1:
        raise ValueError(f"max_items must be a positive int, not {max_items!r}")
    return max_items


def _bound(text: str) -> int:
    count = text.count
    return (1 + count(",") + count(":") + count("[") + count("{") + count("(")
            - count("[]") - count("{}") - count("()"))


def check_items(text: str, max_items: int) -> None:
    """Raise :class:`~sipyco.errors.TooManyItems` if ``text`` may hold more
    than ``max_items`` values (see the module docstring)."""
    if len(text) <= max_items:
        return
    found = _bound(text)
    if found <= max_items:
        return
    if '"' in text or "'" in text:
        found = _bound(_LITERALS.sub('""', text))
    if found > max_items:
        raise TooManyItems(f"the text holds up to {found} values, more than "
                           f"max_items={max_items} (a reader may be given a higher max_items "
                           "to accept it)", limit=max_items, count=found)
