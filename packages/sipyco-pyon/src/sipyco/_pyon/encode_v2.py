"""PYON v2 writer: JSON, with ``{"__jsonclass__": [NAME, ARGS]}`` for the
types JSON lacks, identical to upstream sipyco 1.10's compact output."""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii

from .b64 import encode_ascii
from .registry import Registry
from .writer import array_payload, new_writer, scalar_payload

__all__ = ["build_v2", "prettify_v2"]

_SPECIAL_FLOATS = {"inf": "Infinity", "-inf": "-Infinity", "nan": "NaN"}
_JC = '{"__jsonclass__":["'


def _as_lists(value):
    if isinstance(value, (list, tuple)):
        return [_as_lists(v) for v in value]
    return value


def build_v2(registry: Registry):
    """Return an ``encode(x) -> str`` function for compact PYON v2."""
    enc, install = new_writer()
    frepr = float.__repr__

    def enc_float(x):
        r = frepr(x)
        if r[-1] in "fn":  # inf, -inf, nan
            return _SPECIAL_FLOATS[r]
        return r

    # Containers join over map(...) so each level of nesting costs as few
    # interpreter frames as possible: deep structures stay writable.
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
        return "".join((_JC, 'nparray",[', enc_list(shape), ",", enc_dtype(dtype),
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

    install(2, registry, {
        float: enc_float,
        list: enc_list,
    }, {
        "tuple": enc_tuple,
        "set": enc_set,
        "dict": enc_dict,
        "complex": enc_complex,
        "bytes": enc_bytes,
        "slice": enc_slice,
        "Fraction": enc_fraction,
        "OrderedDict": enc_ordereddict,
        "nparray": enc_nparray,
        "npscalar": enc_npscalar,
    }, (_JC, '",[', ",", "]]}"))
    return enc


def prettify_v2(compact: str) -> str:
    """Indent compact v2 text four spaces per level, keys of plain objects
    sorted (as the v1 pretty form does); the value it denotes is unchanged."""
    return json.dumps(json.loads(compact), indent=4, sort_keys=True)
