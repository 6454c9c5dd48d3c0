"""What a target offers: its public callables and their signatures."""

from __future__ import annotations

import inspect
from typing import Any

from sipyco import pyon

__all__ = ["public_callables", "argspec", "document", "method_list"]


def public_callables(target: Any) -> set[str]:
    """Names of the public (no leading underscore) callable members."""
    names = set()
    for name in dir(target):
        if name.startswith("_"):
            continue
        try:
            member = getattr(target, name)
        except Exception:  # noqa: BLE001 - a failing property is simply not a method
            continue
        if callable(member):
            names.add(name)
    return names


def _annotation_text(annotation: Any) -> str:
    if isinstance(annotation, str):  # e.g. under "from __future__ import annotations"
        return annotation
    return inspect.formatannotation(annotation)


def _encodable(value: Any) -> Any:
    try:
        pyon.encode(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def argspec(method: Any) -> dict:
    """``inspect.getfullargspec`` as a dict of PYON-encodable values.

    Annotations of any kind become strings; defaults PYON cannot encode are
    replaced by their ``repr``.
    """
    try:
        spec = inspect.getfullargspec(method)
    except TypeError:  # some builtins and C callables have no signature
        return {"args": [], "varargs": "args", "varkw": "kwargs", "defaults": None,
                "kwonlyargs": [], "kwonlydefaults": None, "annotations": {}}
    defaults = spec.defaults
    if defaults is not None:
        defaults = tuple(_encodable(d) for d in defaults)
    kwonlydefaults = spec.kwonlydefaults
    if kwonlydefaults is not None:
        kwonlydefaults = {k: _encodable(v) for k, v in kwonlydefaults.items()}
    return {
        "args": list(spec.args),
        "varargs": spec.varargs,
        "varkw": spec.varkw,
        "defaults": defaults,
        "kwonlyargs": list(spec.kwonlyargs),
        "kwonlydefaults": kwonlydefaults,
        "annotations": {k: _annotation_text(v) for k, v in spec.annotations.items()},
    }


def document(function: Any) -> tuple[dict, str | None]:
    """``(argspec, docstring)`` of a callable, as a method list gives them."""
    return argspec(function), inspect.getdoc(function)


def method_list(target: Any, extra: dict | None = None) -> dict:
    """The reply to ``get_rpc_method_list``: the target's docstring and, for
    every public callable, ``(argspec, docstring)``."""
    methods = {}
    for name in sorted(public_callables(target)):
        methods[name] = document(getattr(target, name))
    if extra:
        methods.update(extra)
    return {"docstring": inspect.getdoc(target), "methods": methods}
