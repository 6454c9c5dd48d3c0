"""A cheap answer to "is this value large to write?", without writing it.

An asyncio server writes small replies on its event loop and hands large
ones to a thread, so that writing one does not hold other clients up.  The
question must cost almost nothing for the small values that most replies
are, and little for large ones: :func:`heavier_than` walks a value only
until it has seen more than its limit, counting one unit per value and one
per :data:`UNIT_BYTES` of a string, bytes or array.  A unit is about the
time the writer spends on one small value, in Python; bytes are written by
C code (base64, the JSON string writer), about a thousand times faster.
"""

from __future__ import annotations

from itertools import compress
from operator import not_
from typing import Any

__all__ = ["heavier_than", "UNIT_BYTES"]

#: Bytes of a str, bytes or array counted as one unit of weight: writing a
#: KiB of them takes about as long as writing one small value.
UNIT_BYTES = 1024

_LIGHT = frozenset({type(None), bool, int, float, complex})
_SIZED = (str, bytes, bytearray)
_CONTAINERS = (list, tuple, set, frozenset)
_STR = {str}
_all_light = _LIGHT.issuperset  # of an iterable of types: stops at the first other one
_is_light = _LIGHT.__contains__


def _members(values) -> tuple[int, Any]:
    """The weight of the members of ``values`` that need no visit (light
    ones, and strings when all are strings), and an iterable of the others;
    selected without a Python-level loop (a list of a million floats, or of
    names, is common)."""
    types = set(map(type, values))
    if _all_light(types):
        return 0, ()
    if types == _STR:
        return sum(map(len, values)) // UNIT_BYTES, ()
    return 0, compress(values, map(not_, map(_is_light, map(type, values))))


def heavier_than(value: Any, limit: int) -> bool:
    """Whether ``value`` weighs more than ``limit`` units (see the module).

    It never raises: a value whose size cannot be told (a length or an
    ``nbytes`` that raises) is taken as heavy, and left to the writer.

    A container's length counts for its members of light types (None,
    bool, numbers), which are not visited.  Arrays and memoryviews weigh
    their ``nbytes``.  Values of other kinds (numpy scalars, registered
    application types, slices, fractions) count one unit each, their insides
    unseen: what they write is up to them.  A structure holding itself is
    not a problem: the walk stops once it has counted past ``limit``.
    """
    if type(value) in _LIGHT:
        return limit < 1
    try:
        return _heavier(value, limit)
    except Exception:  # noqa: BLE001 - an odd value: let the writer judge it
        return True


def _heavier(value: Any, limit: int) -> bool:
    weight = 0
    pending = [value]
    pop, extend = pending.pop, pending.extend
    while pending:
        x = pop()
        weight += 1
        if isinstance(x, _SIZED):
            weight += len(x) // UNIT_BYTES
        elif isinstance(x, dict):
            weight += len(x)
            if weight > limit:
                return True
            for members in (x.keys(), x.values()):
                more, visit = _members(members)
                weight += more
                extend(visit)
        elif isinstance(x, _CONTAINERS):
            weight += len(x)
            if weight > limit:
                return True
            more, visit = _members(x)
            weight += more
            extend(visit)
        else:
            nbytes = getattr(x, "nbytes", None)  # numpy arrays, memoryviews
            if type(nbytes) is int:
                weight += nbytes // UNIT_BYTES
        if weight > limit:
            return True
    return False
