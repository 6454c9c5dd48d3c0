"""PYON v2 reader: JSON plus ``{"__jsonclass__": [NAME, ARGS]}`` objects.

The JSON itself is parsed by the standard library's C scanner; every
``__jsonclass__`` object is rebuilt by a named, checked builder, and names
nobody registered are refused.
"""

from __future__ import annotations

import json

from ..errors import DecodeError
from .b64 import decode_writable
from .values import (
    array_from_wire,
    fraction_from_wire,
    guard_hash_collisions,
    ordereddict_from_wire,
    scalar_from_wire,
    slice_from_wire,
)

__all__ = ["make_decoder", "decode_v2", "BUILTIN_V2"]


class _Refused(Exception):
    """Internal: a ``__jsonclass__`` object that could not be built."""

    def __init__(self, reason: str, name: str | None = None):
        super().__init__(reason)
        self.name = name

    def offset_in(self, text: str) -> int | None:
        """Where the refused object is: its name, else the first jsonclass."""
        if self.name is not None:
            where = text.find(json.dumps(self.name))
            if where >= 0:
                return where
        where = text.find('"__jsonclass__"')
        return where if where >= 0 else None


def _one_list(args, what):
    if len(args) != 1 or not isinstance(args[0], list):
        raise ValueError(f"{what} takes one list")
    return args[0]


def _pairs_dict(args):
    pairs = _one_list(args, "dict")
    for pair in pairs:
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError("dict items must be [key, value] pairs")
    guard_hash_collisions([pair[0] for pair in pairs])
    return dict(pairs)


def _set(*args):
    items = _one_list(args, "set")
    guard_hash_collisions(items)
    return set(items)


def _complex(re_, im):
    for part in (re_, im):
        if type(part) not in (int, float):
            raise ValueError("complex takes two numbers")
    return complex(re_, im)


def _bytes(data):
    if not isinstance(data, str):
        raise ValueError("bytes takes one base64 string")
    return bytes(decode_writable(data))


BUILTIN_V2 = {
    "tuple": lambda *a: tuple(_one_list(a, "tuple")),
    "set": _set,
    "dict": lambda *a: _pairs_dict(a),
    "complex": _complex,
    "bytes": _bytes,
    "slice": slice_from_wire,
    "Fraction": fraction_from_wire,
    "OrderedDict": ordereddict_from_wire,
    "nparray": array_from_wire,
    "npscalar": scalar_from_wire,
}


def make_decoder(builders: dict) -> json.JSONDecoder:
    """A reusable JSON decoder whose ``object_hook`` turns ``__jsonclass__``
    objects into values with ``builders`` (name -> callable)."""
    return json.JSONDecoder(object_hook=_make_hook(builders))


def _make_hook(builders: dict):

    def hook(obj: dict):
        if "__jsonclass__" not in obj:
            return obj
        spec = obj["__jsonclass__"]
        if len(obj) != 1 or not isinstance(spec, list) or len(spec) != 2 \
                or not isinstance(spec[0], str) or not isinstance(spec[1], list):
            raise _Refused('a "__jsonclass__" object must be exactly '
                           '{"__jsonclass__": [NAME, [ARGS...]]}')
        name, args = spec
        builder = builders.get(name)
        if builder is None:
            raise _Refused(f"unknown __jsonclass__ name {name[:40]!r}", name)
        try:
            return builder(*args)
        except Exception as exc:  # noqa: BLE001 - any refusal by a builder
            raise _Refused(f"invalid {name}: {exc}", name) from None

    return hook


def decode_v2(text: str, decoder: json.JSONDecoder, not_json=None):
    """Parse PYON v2 text; refusals raise DecodeError with the offset.

    With ``not_json``, text that is not JSON at all is handed to
    ``not_json(text)`` instead (this is how v1 text is detected); so is JSON
    this reader cannot take (nested too deeply, numbers too long), so that
    the v1 reader can say exactly where the problem is.
    """
    try:
        return decoder.decode(text)
    except json.JSONDecodeError as exc:
        if not_json is None:
            raise DecodeError(f"invalid JSON: {exc.msg}", exc.pos) from None
    except _Refused as exc:
        raise DecodeError(str(exc), exc.offset_in(text)) from None
    except RecursionError:
        if not_json is None:
            raise DecodeError("JSON nests too deeply for this reader",
                              _too_deep_at(text)) from None
    except ValueError as exc:  # e.g. integers beyond the interpreter's digit limit
        if not_json is None:
            raise DecodeError(f"invalid value: {exc}") from None
    return not_json(text)


def _too_deep_at(text: str, limit: int = 500) -> int | None:
    """Offset where JSON nesting first passes ``limit`` (error path only)."""
    depth = 0
    in_string = escaped = False
    for i, c in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            if depth > limit:
                return i
        elif c in "]}":
            depth -= 1
    return None
