"""Finding which part of a structure the encoder refused, and why.

This runs only after an encode has already failed, so it favours clear
messages over speed: it walks the structure again, keeping the path, and
tries each leaf on its own.
"""

from __future__ import annotations

from collections import OrderedDict
from json.encoder import encode_basestring_ascii

from ..errors import EncodeError
from .writer import Unsupported

__all__ = ["explain_failure"]

_CONTAINERS = (list, tuple, set, dict, OrderedDict)
_MAX_WALK_DEPTH = 100_000


def _type_name(value) -> str:
    t = type(value)
    module = t.__module__
    return t.__qualname__ if module == "builtins" else f"{module}.{t.__qualname__}"


def _key_part(key) -> str:
    if type(key) is str:
        text = encode_basestring_ascii(key)
    else:
        try:
            text = repr(key)
        except Exception:  # noqa: BLE001 - a repr that fails is no reason to fail here
            text = f"<{_type_name(key)} key>"
    if len(text) > 60:
        text = text[:56] + "...'"
    return f"[{text}]"


def explain_failure(root, encode_leaf, max_depth: int, error: BaseException) -> EncodeError:
    """Build the EncodeError for a value whose encoding raised ``error``.

    ``encode_leaf(v)`` encodes one value with the same writer; it is tried on
    every non-container so the first refusal can be reported with its path.
    """
    stack = [(root, "x", ())]
    while stack:
        value, path, ancestors = stack.pop()
        t = type(value)
        if t in _CONTAINERS:
            ident = id(value)
            if ident in ancestors:
                return EncodeError("the structure contains itself (a reference cycle)",
                                   path, _type_name(value))
            if len(ancestors) >= min(max_depth, _MAX_WALK_DEPTH):
                return EncodeError(f"nesting deeper than max_depth={max_depth}",
                                   path, _type_name(value))
            inner = ancestors + (ident,)
            children = []
            if t is dict or t is OrderedDict:
                for k, v in value.items():
                    part = _key_part(k)
                    children.append((k, f"{path}{part} (the key)", inner))
                    children.append((v, path + part, inner))
            elif t is set:
                for i, v in enumerate(value):
                    children.append((v, f"{path} (set element #{i})", inner))
            else:
                for i, v in enumerate(value):
                    children.append((v, f"{path}[{i}]", inner))
            stack.extend(reversed(children))
            continue
        if t is slice:
            stack.extend(reversed([(getattr(value, part), f"{path}.{part}", ancestors)
                                   for part in ("start", "stop", "step")]))
            continue
        try:
            encode_leaf(value)
        except Unsupported as exc:
            reason = exc.reason or f"cannot encode a value of type {_type_name(exc.value)}"
            return EncodeError(reason, path, _type_name(exc.value))
        except RecursionError:
            return EncodeError("nesting too deep inside this value", path, _type_name(value))
        except Exception as exc:  # noqa: BLE001 - e.g. int too large to write
            return EncodeError(f"cannot encode {_type_name(value)}: {exc}", path,
                               _type_name(value))
    return EncodeError(f"cannot encode value: {error!r}", "x", _type_name(root))
