"""PYON v2 writer: JSON, with ``{"__jsonclass__": [NAME, ARGS]}`` for the
types JSON lacks, identical to upstream sipyco 1.10's compact output."""

from __future__ import annotations

import json
from collections import OrderedDict
from fractions import Fraction
from json.encoder import encode_basestring_ascii

import numpy

from .b64 import encode_ascii
from .encode_v1 import Unsupported, array_payload, scalar_payload
from .registry import Registry

__all__ = ["build_v2", "prettify_v2"]

_SPECIAL_FLOATS = {"inf": "Infinity", "-inf": "-Infinity", "nan": "NaN"}
_JC = '{"__jsonclass__":["'


def _as_lists(value):
    if isinstance(value, (list, tuple)):
        return [_as_lists(v) for v in value]
    return value


def build_v2(registry: Registry):
    """Return an ``encode(x) -> str`` function for compact PYON v2."""
    custom = registry.by_type()
    frepr = float.__repr__

    def enc_float(x):
        r = frepr(x)
        if r[-1] in "fn":  # inf, -inf, nan
            return _SPECIAL_FLOATS[r]
        return r

    def fallback(x):
        if isinstance(x, numpy.generic):
            if isinstance(x, numpy.bool_):
                return "true" if x else "false"
            return enc_npscalar(x)
        raise Unsupported(x)

    def enc(x):
        try:
            f = table[type(x)]
        except KeyError:
            return fallback(x)
        return f(x)

    # Containers join over map(...) so each level of nesting costs as few
    # interpreter frames as possible: deep structures stay writable.
    def items_list(x):
        return "[" + ",".join(map(enc, x)) + "]"

    def enc_pair(kv):
        return "[" + enc(kv[0]) + "," + enc(kv[1]) + "]"

    def enc_member(kv):
        return encode_basestring_ascii(kv[0]) + ":" + enc(kv[1])

    def pairs(items):
        return "[" + ",".join(map(enc_pair, items)) + "]"

    def enc_list(x):
        return "[" + ",".join(map(enc, x)) + "]"

    def enc_tuple(x):
        return _JC + 'tuple",[[' + ",".join(map(enc, x)) + "]]]}"

    def enc_set(x):
        return _JC + 'set",[[' + ",".join(map(enc, x)) + "]]]}"

    def enc_dict(x):
        if "__jsonclass__" not in x and all(type(k) is str for k in x):
            return "{" + ",".join(map(enc_member, x.items())) + "}"
        return _JC + 'dict",[[' + ",".join(map(enc_pair, x.items())) + "]]]}"

    def enc_complex(x):
        return _JC + 'complex",[' + enc_float(x.real) + "," + enc_float(x.imag) + "]]}"

    def enc_bytes(x):
        return _JC + 'bytes",["' + encode_ascii(x) + '"]]}'

    def enc_slice(x):
        return _JC + 'slice",[' + enc(x.start) + "," + enc(x.stop) + "," + enc(x.step) + "]]}"

    def enc_fraction(x):
        return _JC + 'Fraction",[' + repr(x.numerator) + "," + repr(x.denominator) + "]]}"

    def enc_ordereddict(x):
        return _JC + 'OrderedDict",[' + pairs(x.items()) + "]]}"

    def enc_nparray(x):
        shape, dtype, data = array_payload(x)
        return "".join((_JC, 'nparray",[', items_list(shape), ",", enc_dtype(dtype),
                        ',"', data, '"]]}'))

    def enc_npscalar(x):
        dtype, data = scalar_payload(x)
        return _JC + 'npscalar",[' + enc_dtype(dtype) + ',"' + data + '"]]}'

    def enc_dtype(dtype):
        # A dtype string, or a structured descr written as nested JSON lists,
        # which readers turn back into tuples for numpy.dtype.
        if isinstance(dtype, str):
            return encode_basestring_ascii(dtype)
        return json.dumps(_as_lists(dtype), separators=(",", ":"))

    def make_custom(entry):
        def enc_custom(x):
            return _JC + entry.name + '",[' + ",".join([enc(a) for a in entry.to_args(x)]) + "]]}"
        return enc_custom

    table = {
        type(None): {None: "null"}.__getitem__,
        bool: {True: "true", False: "false"}.__getitem__,
        int: int.__repr__,
        float: enc_float,
        complex: enc_complex,
        str: encode_basestring_ascii,
        bytes: enc_bytes,
        tuple: enc_tuple,
        list: enc_list,
        set: enc_set,
        dict: enc_dict,
        slice: enc_slice,
        Fraction: enc_fraction,
        OrderedDict: enc_ordereddict,
        numpy.ndarray: enc_nparray,
        numpy.bool_: fallback,
    }
    for t in (numpy.int8, numpy.int16, numpy.int32, numpy.int64,
              numpy.uint8, numpy.uint16, numpy.uint32, numpy.uint64,
              numpy.float16, numpy.float32, numpy.float64,
              numpy.complex64, numpy.complex128):
        table[t] = enc_npscalar
    for cls, entry in custom.items():
        table[cls] = make_custom(entry)
    return enc


def prettify_v2(compact: str) -> str:
    """Indent compact v2 text four spaces per level, keys of plain objects
    sorted (as the v1 pretty form does); the value it denotes is unchanged."""
    return json.dumps(json.loads(compact), indent=4, sort_keys=True)
