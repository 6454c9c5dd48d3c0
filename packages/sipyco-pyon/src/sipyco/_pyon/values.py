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
from collections import OrderedDict
from fractions import Fraction

import numpy

from .b64 import decode_writable

__all__ = [
    "guard_hash_collisions",
    "dtype_to_wire",
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


# Hash flooding: CPython's int (and tuple) hashes are not randomized, so a
# peer can send thousands of distinct keys with one hash value and make
# building the dict or set quadratic.  Large containers are checked first.
_COLLISION_CHECK_OVER = 1024
_MAX_SHARED_HASH = 64


def guard_hash_collisions(keys: list) -> None:
    """Refuse (ValueError) a container whose keys were made to collide:
    more than 64 *unequal* keys sharing one hash.  Cheap for normal data."""
    n = len(keys)
    if n <= _COLLISION_CHECK_OVER:
        return
    hashes = list(map(hash, keys))
    if len(set(hashes)) * 2 >= n:
        return
    counts: dict = {}
    for h in hashes:
        counts[h] = counts.get(h, 0) + 1
    for h, count in counts.items():
        if count <= _MAX_SHARED_HASH:
            continue
        members = [k for k, kh in zip(keys, hashes, strict=True) if kh == h]
        first = members[0]
        unequal = sum(1 for k in members if not k == first)
        if unequal > _MAX_SHARED_HASH:
            raise ValueError(f"{unequal + 1} different keys share one hash value "
                             "(a hash-collision attack?)")


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
    if dtype.hasobject:
        raise ValueError("object dtypes cannot be sent (they hold memory addresses)")
    return dtype


def _payload(data) -> bytearray:
    if not isinstance(data, (bytes, str, memoryview)):
        raise ValueError("array data must be base64 text")
    try:
        return decode_writable(data)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"array data is not valid base64: {exc}") from None


def array_from_wire(shape, dtype, data) -> numpy.ndarray:
    """Rebuild an ndarray from ``(shape, dtype, base64 data)``."""
    shape = _checked_shape(shape)
    dtype = _checked_dtype(dtype)
    raw = _payload(data)
    count = math.prod(shape)
    expected = count * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(
            f"array data holds {len(raw)} bytes but shape {shape} of {dtype.str} needs {expected}")
    if dtype.itemsize == 0:
        return numpy.zeros(shape, dtype)
    return numpy.frombuffer(raw, dtype).reshape(shape)


def scalar_from_wire(dtype, data):
    """Rebuild a numpy scalar from ``(dtype, base64 data)``."""
    dtype = _checked_dtype(dtype)
    raw = _payload(data)
    if len(raw) != dtype.itemsize:
        raise ValueError(
            f"scalar data holds {len(raw)} bytes but {dtype.str} needs {dtype.itemsize}")
    if dtype.itemsize == 0:
        return numpy.zeros((), dtype)[()]
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
        guard_hash_collisions([pair[0] for pair in items])
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
    guard_hash_collisions(items)
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
