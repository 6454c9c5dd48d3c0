"""PYON v1 writer: Python-expression text, identical to upstream sipyco 1.8.

The per-type text functions of v1; :mod:`.writer` assembles them.
"""

from __future__ import annotations

from .registry import Registry
from .writer import array_payload, new_writer, scalar_payload

__all__ = ["build_v1", "EMPTY_SET_V1"]

# Upstream writes an empty set as "{}", which every reader takes for a dict.
# "{*()}" is a Python expression for an empty set that upstream's reader also
# evaluates to set(), so both old and new peers get a set back.
EMPTY_SET_V1 = "{*()}"

# slice components whose repr() is itself valid (ASCII) PYON v1, so slices
# made of them are written exactly as upstream writes them: with repr().
_REPR_SAFE = (type(None), bool, int, float, bytes)


def _repr_safe(part) -> bool:
    t = type(part)
    return t in _REPR_SAFE or (t is str and part.isascii())


def build_v1(registry: Registry, pretty: bool):
    """Return an ``encode(x) -> str`` function for PYON v1."""
    enc, install = new_writer()
    depth = [0]  # current dict nesting, for pretty indentation

    # Containers join over map(enc, ...) so each level of nesting costs two
    # interpreter frames, not three: deep structures stay writable.
    def enc_tuple(x):
        if len(x) == 1:
            return "(" + enc(x[0]) + ", )"
        return "(" + ", ".join(map(enc, x)) + ")"

    def enc_list(x):
        return "[" + ", ".join(map(enc, x)) + "]"

    def enc_set(x):
        if not x:
            return EMPTY_SET_V1
        return "{" + ", ".join(map(enc, x)) + "}"

    def enc_key(k):
        # A str-keyed dict is valid JSON, and JSON text is read as v2, where
        # a "__jsonclass__" key means something else: quote that one key the
        # Python way, which v1 readers (upstream's included) accept and which
        # keeps the text from being JSON.
        if type(k) is str and k == "__jsonclass__":
            return "'__jsonclass__'"
        return enc(k)

    def enc_item(kv):
        return enc_key(kv[0]) + ": " + enc(kv[1])

    def enc_dict(x):
        return "{" + ", ".join(map(enc_item, x.items())) + "}"

    def enc_dict_pretty(x):
        if len(x) < 2:
            return enc_dict(x)
        items = x.items()
        if all(type(k) is str for k in x):
            items = sorted(items, key=lambda kv: kv[0])
        depth[0] += 1
        try:
            pad = "    " * depth[0]
            body = ",\n".join([pad + enc_item(kv) for kv in items])
        finally:
            depth[0] -= 1
        return "{\n" + body + "\n" + "    " * depth[0] + "}"

    def enc_slice(x):
        parts = (x.start, x.stop, x.step)
        if all(_repr_safe(p) for p in parts):
            return repr(x)
        return "slice(" + ", ".join([enc(p) for p in parts]) + ")"

    def enc_fraction(x):
        return "Fraction(" + repr(x.numerator) + ", " + repr(x.denominator) + ")"

    def enc_ordereddict(x):
        return "OrderedDict(" + enc_list(list(x.items())) + ")"

    def enc_nparray(x):
        shape, dtype, data = array_payload(x)
        return "".join(("nparray(", enc_tuple(shape), ", ", enc(dtype), ', b"', data, '")'))

    def enc_npscalar(x):
        dtype, data = scalar_payload(x)
        return "npscalar(" + enc(dtype) + ', b"' + data + '")'

    install(1, registry, {
        float: float.__repr__,
        complex: complex.__repr__,
        bytes: bytes.__repr__,
        tuple: enc_tuple,
        list: enc_list,
        set: enc_set,
        dict: enc_dict_pretty if pretty else enc_dict,
    }, {
        "slice": enc_slice,
        "Fraction": enc_fraction,
        "OrderedDict": enc_ordereddict,
        "nparray": enc_nparray,
        "npscalar": enc_npscalar,
    }, ("", "(", ", ", ")"))

    def encode(x) -> str:
        depth[0] = 0
        return enc(x)

    return encode
