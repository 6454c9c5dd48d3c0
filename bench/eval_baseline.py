"""The approach upstream sipyco 1.8 takes to read PYON v1 (``eval`` of the
text in a small namespace), rebuilt here only to have a same-run reference
for speed.  It executes its input: never use it on untrusted text."""

from __future__ import annotations

import base64
from collections import OrderedDict
from fractions import Fraction

import numpy


def _nparray(shape, dtype, data):
    return numpy.frombuffer(base64.b64decode(data), dtype=dtype).copy().reshape(shape)


def _npscalar(dtype, data):
    return numpy.frombuffer(base64.b64decode(data), dtype=dtype)[0]


_NAMESPACE = {
    "__builtins__": {},
    "null": None, "true": True, "false": False,
    "inf": float("inf"), "nan": float("nan"),
    "slice": slice, "Fraction": Fraction, "OrderedDict": OrderedDict,
    "nparray": _nparray, "npscalar": _npscalar,
}


def eval_decode(text: str):
    return eval(text, dict(_NAMESPACE), {})  # the point of this file
