"""Every name PYON itself gives a meaning to, in one table.

A name is one of:

* a **constant**: a bare name the v1 reader turns into a value (``null``,
  ``inf``, ...);
* a **call**: ``NAME(ARGS...)`` in v1 and ``{"__jsonclass__": [NAME, [ARGS...]]}``
  in v2, rebuilt by a builder from :mod:`.values`.  A call exists in a
  version when the entry has a builder for it: ``tuple`` is only a v2 name,
  since v1 has a literal for tuples;
* **reserved** only: no version uses it, but application types may not take
  it either.

The readers' tables, the types each writer writes as a call, and the names
:class:`~.registry.Registry` refuses are all derived from :data:`SPECIALS`
below.  Adding a type to PYON means one entry here, one builder in
:mod:`.values`, and one text function in each writer that writes it
(the writers find theirs by the entry's name).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy

from .values import (
    array_from_wire,
    bytes_from_wire,
    complex_from_wire,
    dict_from_wire,
    fraction_from_wire,
    ordereddict_from_wire,
    scalar_from_wire,
    set_from_wire,
    slice_from_wire,
    tuple_from_wire,
)

__all__ = [
    "VERSIONS", "Special", "SPECIALS", "RESERVED_NAMES", "V1_CONSTANTS", "V1_CALLS",
    "V2_CLASSES", "TAKES_VIEWS", "WRITTEN_AS_CALLS", "NPSCALAR_NAMES",
]

VERSIONS = (1, 2)

_NOT_A_CONSTANT = object()


@dataclass(frozen=True, eq=False)
class Special:
    """One row of :data:`SPECIALS`.

    ``v1`` / ``v2``: the builder the reader of that version calls with the
    decoded arguments (``None``: not a call in that version).  ``writes``: the
    exact types whose writer function is the one named after this entry, in
    every version where it is a call (the function may still choose a plainer
    form: a v2 dict with only str keys is a JSON object).  ``views``: the v1
    reader may pass a long bytes literal as a ``memoryview`` (the builder copies
    what it keeps).  ``value``: what a constant stands for.
    """

    name: str
    v1: Callable[..., Any] | None = None
    v2: Callable[..., Any] | None = None
    writes: tuple[type, ...] = ()
    views: bool = False
    value: Any = _NOT_A_CONSTANT

    @property
    def is_constant(self) -> bool:
        return self.value is not _NOT_A_CONSTANT

    def builder(self, version: int) -> Callable[..., Any] | None:
        return self.v1 if version == 1 else self.v2

    @property
    def versions(self) -> tuple[int, ...]:
        """The versions in which the name means something."""
        if self.is_constant:
            return (1,)
        return tuple(v for v in VERSIONS if self.builder(v) is not None)


# Numpy scalars written as npscalar(...) by exact type; other numpy.generic
# values (datetimes, long doubles, ...) reach it through the writers' fallback.
_NUMPY_SCALARS = (
    numpy.int8, numpy.int16, numpy.int32, numpy.int64,
    numpy.uint8, numpy.uint16, numpy.uint32, numpy.uint64,
    numpy.float16, numpy.float32, numpy.float64,
    numpy.complex64, numpy.complex128,
)

SPECIALS: tuple[Special, ...] = (
    # v1 constants; the v1 writer spells None, True and False the JSON way.
    Special("null", value=None),
    Special("None", value=None),
    Special("true", value=True),
    Special("True", value=True),
    Special("false", value=False),
    Special("False", value=False),
    Special("inf", value=math.inf),
    Special("nan", value=math.nan),
    Special("infj", value=complex(0.0, math.inf)),
    Special("nanj", value=complex(0.0, math.nan)),
    #       name           v1 builder             v2 builder             writes
    # calls in both versions
    Special("slice", slice_from_wire, slice_from_wire, (slice,)),
    Special("Fraction", fraction_from_wire, fraction_from_wire, (Fraction,)),
    Special("OrderedDict", ordereddict_from_wire, ordereddict_from_wire, (OrderedDict,)),
    Special("nparray", array_from_wire, array_from_wire, (numpy.ndarray,), views=True),
    Special("npscalar", scalar_from_wire, scalar_from_wire, _NUMPY_SCALARS, views=True),
    # v2 only: v1 writes these types as literals
    Special("tuple", v2=tuple_from_wire, writes=(tuple,)),
    Special("set", v2=set_from_wire, writes=(set,)),
    Special("dict", v2=dict_from_wire, writes=(dict,)),
    Special("complex", v2=complex_from_wire, writes=(complex,)),
    Special("bytes", v2=bytes_from_wire, writes=(bytes,)),
    # reserved: the remaining names of Python types PYON writes
    Special("list"),
    Special("str"),
    Special("int"),
    Special("float"),
)

_seen: set = set()
for _s in SPECIALS:
    if _s.name in _seen or (_s.views and _s.v1 is None) or (_s.writes and not _s.versions) \
            or (_s.is_constant and (_s.v1 or _s.v2 or _s.writes)):
        raise RuntimeError(f"inconsistent PYON special {_s.name!r}")
    _seen.add(_s.name)
del _seen, _s

RESERVED_NAMES = frozenset(s.name for s in SPECIALS)
V1_CONSTANTS = {s.name: s.value for s in SPECIALS if s.is_constant}
V1_CALLS = {s.name: s.v1 for s in SPECIALS if s.v1 is not None}
V2_CLASSES = {s.name: s.v2 for s in SPECIALS if s.v2 is not None}
TAKES_VIEWS = frozenset(s.name for s in SPECIALS if s.views)
# version -> ((name, types), ...): what each writer must write as a call
WRITTEN_AS_CALLS = {
    v: tuple((s.name, s.writes) for s in SPECIALS if s.writes and s.builder(v) is not None)
    for v in VERSIONS
}
# The numpy attribute names of the scalar types written as npscalar(...) by
# exact type ("int8" ... "complex128"): dtype names, which numpy always
# exports under that name whatever the platform calls the C type.
NPSCALAR_NAMES = frozenset(
    numpy.dtype(t).name for s in SPECIALS if s.name == "npscalar" for t in s.writes)
