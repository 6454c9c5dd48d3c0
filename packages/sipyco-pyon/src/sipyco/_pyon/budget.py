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
limit.  A text shorter than twice the limit needs no count at all: each
value takes two characters at least (itself and a separator, or a bracket
pair), bar one.  The counting holds no copy of the text longer than
:data:`_COUNT_CHUNK` characters: a refused text costs no more than its own
bytes, and an accepted one little beyond them.
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
# take them out of the count.  The closing quote is optional, so that an
# unterminated literal is one match to the end of its line (else each quote
# inside it would start a scan of its own: quadratic); what it hides from
# the count is text no reader builds values from.
_LITERALS = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"?|' r"'[^'\\\n]*(?:\\.[^'\\\n]*)*'?")


def check_max_items(max_items: int) -> int:
    if type(max_items) is not int or max_items < 1:
        raise ValueError(f"max_items must be a positive int, not {max_items!r}")
    return max_items


# Every byte but the punctuation that bounds the count of values.
_NOT_COUNTED = bytes(c for c in range(256) if c not in b",:[{(")
# Characters of the text encoded and filtered at a time.
_COUNT_CHUNK = 1 << 20


def _punctuation(text: str) -> int:
    """``1 +`` the count of ``, : [ { (`` in ``text``, in C passes over
    one slice of :data:`_COUNT_CHUNK` characters at a time."""
    kept = 0
    for start in range(0, len(text), _COUNT_CHUNK):
        piece = text[start:start + _COUNT_CHUNK].encode("utf-8", "surrogatepass")
        kept += len(piece.translate(None, _NOT_COUNTED))
    return 1 + kept


def _bound(text: str) -> int:
    count = text.count
    return (1 + count(",") + count(":") + count("[") + count("{") + count("(")
            - count("[]") - count("{}") - count("()"))


def check_items(text: str, max_items: int) -> None:
    """Raise :class:`~sipyco.errors.TooManyItems` if ``text`` may hold more
    than ``max_items`` values (see the module docstring)."""
    if len(text) < 2 * max_items:
        return  # each value but one takes two characters at least
    found = _punctuation(text)
    if found <= max_items:
        return
    found = _bound(text)  # exact about empty pairs, which need the text itself
    if found > max_items and ('"' in text or "'" in text):
        found = _bound(_LITERALS.sub('""', text))
    if found > max_items:
        _refuse(found, max_items)


def _refuse(found: int, max_items: int):
    raise TooManyItems(f"the text holds up to {found} values, more than "
                       f"max_items={max_items} (a reader may be given a higher max_items "
                       "to accept it)", limit=max_items, count=found)
