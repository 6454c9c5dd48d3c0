"""The skeleton both PYON writers share.

A writer is a set of small per-type text functions looked up by exact type in
a dict.  Each version's module defines its functions (they call ``enc`` for
nested values) and hands them to ``install``; this module builds the table:
literal types, the types :data:`~.specials.SPECIALS` says are written as a
call, numpy scalars of other types, and registered application types.
Anything not in the table raises :class:`Unsupported`; the public ``encode``
then walks the value again to say where the culprit sits.
"""

from __future__ import annotations

from collections.abc import Callable
from json.encoder import encode_basestring_ascii

import numpy

from .b64 import encode_ascii
from .registry import Registry, v1_name_ok
from .specials import WRITTEN_AS_CALLS
from .values import dtype_refusal, dtype_to_wire

__all__ = ["Unsupported", "array_payload", "scalar_payload", "new_writer"]


class Unsupported(Exception):
    """Internal: a value of a type the writer does not know (or refuses)."""

    def __init__(self, value, reason: str | None = None):
        super().__init__(reason)
        self.value = value
        self.reason = reason


def array_payload(x: numpy.ndarray):
    """``(shape, dtype argument, base64 text)`` for an ndarray; refuses the
    dtypes readers refuse (object dtypes, zero-size items or fields)."""
    refusal = dtype_refusal(x.dtype)
    if refusal is not None:
        raise Unsupported(x, f"numpy array not encoded: {refusal}")
    shape = x.shape
    if not x.flags.c_contiguous:
        x = numpy.ascontiguousarray(x).reshape(shape)
    if x.ndim and x.dtype.kind not in "Mm":  # numpy exports no buffer for datetimes
        data = x.data
    else:
        data = x.tobytes()
    return shape, dtype_to_wire(x.dtype), encode_ascii(data)


def scalar_payload(x: numpy.generic):
    """``(dtype argument, base64 text)`` for a numpy scalar; refuses as
    :func:`array_payload` does."""
    refusal = dtype_refusal(x.dtype)
    if refusal is not None:
        raise Unsupported(x, f"numpy scalar not encoded: {refusal}")
    return dtype_to_wire(x.dtype), encode_ascii(x.tobytes())


# Written the same way by both versions (numpy.bool_ too, in the fallback).
_COMMON_LITERALS = {
    type(None): {None: "null"}.__getitem__,
    bool: {True: "true", False: "false"}.__getitem__,
    int: int.__repr__,
    str: encode_basestring_ascii,
}


def new_writer():
    """Return ``(enc, install)``: ``enc(x)`` writes any value once
    ``install(...)`` has filled its dispatch table."""
    table: dict = {}
    npscalar = None

    def fallback(x):
        if isinstance(x, numpy.generic):
            if isinstance(x, numpy.bool_):
                return "true" if x else "false"
            return npscalar(x)
        raise Unsupported(x)

    def enc(x):
        try:
            f = table[type(x)]
        except KeyError:
            return fallback(x)
        return f(x)

    def install(version: int, registry: Registry, literals: dict, calls: dict,
                custom: tuple[str, str, str, str]) -> None:
        """Fill the table.  ``literals``: type -> text function for the types
        not written as calls, beyond None, bool, int and str; ``calls``:
        name -> text function for every name :data:`WRITTEN_AS_CALLS` lists
        for ``version``; ``custom``: the text around an application type's
        arguments, ``(before name, after name, between arguments, after them)``."""
        nonlocal npscalar
        table.update(_COMMON_LITERALS)
        table.update(literals)
        table[numpy.bool_] = fallback
        for name, types in WRITTEN_AS_CALLS[version]:
            f = calls[name]
            for t in types:
                table[t] = f
        npscalar = calls["npscalar"]
        before, after, sep, end = custom
        for cls, entry in registry.by_type().items():
            if version == 1 and not v1_name_ok(entry.name):
                table[cls] = _v1_refuser(entry.name)
                continue
            name = entry.name if version == 1 else encode_basestring_ascii(entry.name)[1:-1]
            table[cls] = _custom_writer(enc, entry.to_args, before + name + after, sep, end)

    return enc, install


def _v1_refuser(name: str):
    # 1.10-style names need not be identifiers; v1 writes NAME(...), so it cannot.
    def refuse(x):
        raise Unsupported(x, f"{type(x).__qualname__} is registered under the name {name!r}, "
                             "which PYON v1 cannot write (not a Python identifier); "
                             "write it as PYON v2")
    return refuse


def _custom_writer(enc, to_args: Callable, head: str, sep: str, end: str):
    def enc_custom(x):
        return head + sep.join([enc(a) for a in to_args(x)]) + end
    return enc_custom
