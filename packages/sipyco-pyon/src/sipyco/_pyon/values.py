"""Building PYON's special values from already-decoded arguments.

Both readers (v1 and v2) hand the arguments they parsed to these functions,
which check every argument strictly before anything is allocated.  Problems
are reported as ``ValueError`` with a short reason; the readers add where in
the text it happened.
"""

from __future__ import annotations

import functools
import math
import re
import sys
from collections import Counter, OrderedDict
from fractions import Fraction

import numpy

from .b64 import decode_writable

__all__ = [
    "MAX_SHARED_HASH",
    "guard_hash_collisions",
    "dtype_to_wire",
    "dtype_refusal",
    "array_from_wire",
    "scalar_from_wire",
    "fraction_from_wire",
    "slice_from_wire",
    "ordereddict_from_wire",
    "tuple_from_wire",
    "set_from_wire",
    "dict_from_wire",
    "complex_from_wire",
    "bytes_from_wire",
]

# What ``dtype.str`` looks like for every non-object dtype: byte order, kind,
# item size, and for datetimes a unit such as ``[ns]`` or ``[25s]``.
_DTYPE_STR = re.compile(r"[<>|=]?[a-zA-Z?][0-9]{0,12}(?:\[[0-9]{0,6}[a-zA-Z]{1,3}\])?")
_MAX_FIELDS = 4096
_MAX_DTYPE_DEPTH = 8


# Hash flooding.  Building a dict or a set costs one comparison per member
# that shares the new member's hash value and is already in it, so a peer
# who sends n different keys of one hash value makes the reader do n*n/2
# comparisons.  Python randomizes the hashes of str and bytes per process,
# but not those of ints, floats or tuples: ints hash to themselves modulo
# 2**61 - 1, so k * (2**61 - 1) + c hashes to c for every k.  Every dict and
# set built from peer data is therefore checked first, in linear time: more
# than MAX_SHARED_HASH *different* members of one hash value are refused
# (honest data has a handful at most).  Equal members (a key written twice,
# or 1, 1.0 and True) cost one comparison each and are not counted.
MAX_SHARED_HASH = 64
# Ints strictly between -M and M hash to themselves (bar -1, which hashes as
# -2 does): different ones cannot pile up on one hash value.
_HASH_MODULUS = sys.hash_info.modulus
# Exact types whose members need no hash census: small ints (above), and
# str and bytes unless hash randomization is off (PYTHONHASHSEED=0).
_CENSUS_FREE = frozenset({int, str, bytes} if sys.flags.hash_randomization else {int})


def guard_hash_collisions(keys: list, what: str = "dict") -> None:
    """Raise ValueError if more than 64 different members of ``keys`` share
    one hash value.  ``what`` names the container in the message.

    Linear in ``len(keys)`` whatever the keys, and cheap for honest data:
    members that are all exact str, bytes or small ints, whose hashes cannot
    be made to pile up, skip the hash census.  Raises TypeError, from
    ``hash``, for an unhashable member.
    """
    n = len(keys)
    if n <= MAX_SHARED_HASH:
        return
    first = type(keys[0])
    if first in _CENSUS_FREE and list(map(type, keys)).count(first) == n:
        # one exact type throughout (bool and other int or str subclasses
        # may hash as they like, so they are counted below)
        if first is not int:
            return  # str or bytes, hashed with the per-process key
        # (min and max, not numpy.fromiter: called for every small dict of
        # a long text read in a worker thread, the numpy calls kept the
        # event loop's thread from getting the interpreter lock for 200 ms
        # at a time; the builtins do not, at about the same cost)
        if -_HASH_MODULUS < min(keys) and max(keys) < _HASH_MODULUS:
            return
    if n - len(set(map(hash, keys))) < MAX_SHARED_HASH:
        return  # no hash value can be shared by more than 64 members
    # Some hash value is shared by more than 64 members: count the different
    # ones among them, comparing each with at most 64 others.
    crowded = {h for h, count in Counter(map(hash, keys)).items() if count > MAX_SHARED_HASH}
    different: dict = {}
    for key in keys:
        h = hash(key)
        if h not in crowded:
            continue
        seen = different.setdefault(h, [])
        if key not in seen:  # identity or equality, as dicts and sets decide
            seen.append(key)
            if len(seen) > MAX_SHARED_HASH:
                member = "keys" if what in ("dict", "OrderedDict") else "members"
                raise ValueError(f"more than {MAX_SHARED_HASH} different {member} of one "
                                 f"{what} share a hash value (hash flooding)")


def dtype_to_wire(dtype: numpy.dtype):
    """The dtype argument written for an array: ``dtype.str``, or for
    structured dtypes (whose ``str`` forgets the fields) the ``descr`` list."""
    if dtype.fields is not None:
        return dtype.descr
    return dtype.str


def _checked_descr(spec, depth: int):
    """Validate a structured-dtype description made of decoded values."""
    if depth > _MAX_DTYPE_DEPTH:
        raise ValueError("structured dtype nests too deeply")
    if isinstance(spec, str):
        if not _DTYPE_STR.fullmatch(spec):
            raise ValueError(f"malformed dtype string {spec[:40]!r}")
        return spec
    if not isinstance(spec, (list, tuple)) or not spec or len(spec) > _MAX_FIELDS:
        raise ValueError("dtype must be a dtype string or a list of fields")
    fields = []
    for field in spec:
        if not isinstance(field, (list, tuple)) or len(field) not in (2, 3):
            raise ValueError("each dtype field must be (name, type) or (name, type, shape)")
        name = field[0]
        if isinstance(name, (list, tuple)) and len(name) == 2 \
                and all(isinstance(n, str) for n in name):
            name = tuple(name)
        elif not isinstance(name, str):
            raise ValueError("dtype field names must be strings")
        checked = [name, _checked_descr(field[1], depth + 1)]
        if len(field) == 3:
            shape = field[2]
            if isinstance(shape, list):
                shape = tuple(shape)
            if isinstance(shape, int) and not isinstance(shape, bool):
                shape = (shape,)
            _checked_shape(shape)
            checked.append(shape)
        fields.append(tuple(checked))
    return fields


def _checked_shape(shape) -> tuple:
    if not isinstance(shape, (tuple, list)) or len(shape) > 64:
        raise ValueError("array shape must be a tuple of at most 64 sizes")
    for n in shape:
        if type(n) is not int or n < 0:
            raise ValueError(f"array shape entries must be non-negative ints, got {n!r}")
    return tuple(shape)


@functools.lru_cache(maxsize=256)
def _dtype_from_str(spec: str) -> numpy.dtype:
    return _build_dtype(spec)


def _checked_dtype(spec) -> numpy.dtype:
    if type(spec) is str:  # the common case, and the same few strings again and again
        return _dtype_from_str(spec)
    return _build_dtype(spec)


def _build_dtype(spec) -> numpy.dtype:
    try:
        dtype = numpy.dtype(_checked_descr(spec, 0))
    except ValueError:
        raise
    except TypeError as exc:  # numpy's word for an unknown type code
        raise ValueError(f"unknown dtype {spec!r:.60}: {exc}") from None
    refusal = dtype_refusal(dtype)
    if refusal is not None:
        raise ValueError(refusal)
    return dtype


def dtype_refusal(dtype: numpy.dtype) -> str | None:
    """Why arrays and scalars of ``dtype`` cannot be sent, or ``None``.

    The one rule both readers and both writers apply.  Refused: object
    dtypes (their buffer holds memory addresses) and any dtype with a part
    of size 0 anywhere (an item, a field, a subarray: ``|S0``, ``<U0``,
    ``|V0``, ``[("a", "<i4", (0,))]``...).  numpy cannot hold such items
    faithfully (it turns ``|S0`` into ``|S1``) and an array of them carries
    no data, so its shape, which the payload must account for, could claim
    any number of elements.
    """
    if dtype.hasobject:
        return "object dtypes cannot be sent (they hold memory addresses)"
    if dtype.itemsize and dtype.names is None and dtype.subdtype is None:
        return None  # the common case: a plain dtype of items with a size
    todo = [(None, dtype)]
    while todo:
        field, part = todo.pop()
        if part.itemsize == 0:
            where = "" if field is None else f"field {field} of "
            return (f"{where}dtype {dtype_to_wire(dtype)!r:.80} has size 0: "
                    "zero-size items and fields cannot be sent")
        if part.subdtype is not None:
            todo.append((field, part.subdtype[0]))
        elif part.names:
            for name in reversed(part.names):
                path = repr(name) if field is None else f"{field}[{name!r}]"
                todo.append((path, part.fields[name][0]))
    return None


def _payload(data) -> bytearray:
    if not isinstance(data, (bytes, str, memoryview)):
        raise ValueError("array data must be base64 text")
    try:
        return decode_writable(data)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"array data is not valid base64: {exc}") from None


def _check_size(what: str, shape: tuple, dtype: numpy.dtype, nbytes: int) -> None:
    """The payload must hold exactly ``prod(shape)`` items of ``dtype``:
    counted with Python ints, which do not overflow however large the shape.
    (``dtype`` has passed :func:`dtype_refusal`: its items are not empty.)"""
    expected = math.prod(shape) * dtype.itemsize
    if nbytes != expected:
        raise ValueError(f"{what} data holds {nbytes} bytes but shape {shape} of "
                         f"{dtype.str} needs {expected}")


def array_from_wire(shape, dtype, data) -> numpy.ndarray:
    """Rebuild an ndarray from ``(shape, dtype, base64 data)``."""
    shape = _checked_shape(shape)
    dtype = _checked_dtype(dtype)
    raw = _payload(data)
    _check_size("array", shape, dtype, len(raw))
    return numpy.frombuffer(raw, dtype).reshape(shape)


def scalar_from_wire(dtype, data):
    """Rebuild a numpy scalar from ``(dtype, base64 data)``."""
    dtype = _checked_dtype(dtype)
    raw = _payload(data)
    _check_size("scalar", (), dtype, len(raw))
    return numpy.frombuffer(raw, dtype)[0]


def fraction_from_wire(numerator, denominator=1) -> Fraction:
    for part in (numerator, denominator):
        if type(part) is not int:
            raise ValueError(f"Fraction takes two ints, got {part!r:.40}")
    if denominator == 0:
        raise ValueError("Fraction with a zero denominator")
    return Fraction(numerator, denominator)


def slice_from_wire(*args) -> slice:
    if not 1 <= len(args) <= 3:
        raise ValueError(f"slice takes 1 to 3 arguments, got {len(args)}")
    return slice(*args)


def ordereddict_from_wire(items=()) -> OrderedDict:
    if not isinstance(items, (list, tuple)):
        raise ValueError("OrderedDict takes a list of (key, value) pairs")
    for pair in items:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ValueError("OrderedDict items must be (key, value) pairs")
    try:
        guard_hash_collisions([pair[0] for pair in items], "OrderedDict")
    except TypeError:
        pass  # an unhashable key: reported below
    result = OrderedDict()
    for key, value in items:
        try:
            result[key] = value
        except TypeError:
            raise ValueError(f"unhashable OrderedDict key of type {type(key).__name__}") \
                from None
    return result


# The types below have literals in v1, so only v2 names them, as
# ``{"__jsonclass__": [NAME, ARGS]}``; their arguments are JSON values.

def _one_list(args, what):
    if len(args) != 1 or not isinstance(args[0], list):
        raise ValueError(f"{what} takes one list")
    return args[0]


def tuple_from_wire(*args) -> tuple:
    return tuple(_one_list(args, "tuple"))


def set_from_wire(*args) -> set:
    items = _one_list(args, "set")
    guard_hash_collisions(items, "set")
    return set(items)


def dict_from_wire(*args) -> dict:
    pairs = _one_list(args, "dict")
    for pair in pairs:
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError("dict items must be [key, value] pairs")
    guard_hash_collisions([pair[0] for pair in pairs])
    return dict(pairs)


def complex_from_wire(*args) -> complex:
    if len(args) != 2 or any(type(part) not in (int, float) for part in args):
        raise ValueError("complex takes two numbers")
    return complex(*args)


def bytes_from_wire(*args) -> bytes:
    if len(args) != 1 or not isinstance(args[0], str):
        raise ValueError("bytes takes one base64 string")
    return bytes(decode_writable(args[0]))
