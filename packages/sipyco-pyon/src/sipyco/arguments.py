"""Signatures as text, from the parts :func:`inspect.getfullargspec` returns.

Two renderings share one implementation:

* :func:`formatargspec` writes a signature exactly as Python's own
  ``inspect.formatargspec`` did before it was removed (Python 3.11):
  ``(a, b: int=1, *args, c, **kw) -> str``.  Annotations go through
  :func:`inspect.formatannotation`; a default is ``=`` and its ``repr``,
  with no spaces, annotated or not.
* :func:`format_argspec_dict` writes one method of a pc_rpc method list (the
  dict form of ``getfullargspec`` a server sends for each method, its
  annotations already text) the way ``sipyco_rpctool`` lists it, in the
  style of :class:`inspect.Signature`: ``name(a, b: int = 1, *args, c,
  **kw) -> str``.  Whatever does not look like such a dict gives
  ``name(...)``.

Like ``getfullargspec`` itself, neither marks positional-only parameters
(no ``/``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["formatargspec", "format_argspec_dict"]

_NO_DEFAULT = object()


def _render(args: Sequence[str], varargs: str | None, varkw: str | None,
            defaults: Sequence[Any] | None, kwonlyargs: Sequence[str],
            kwonlydefaults: Mapping[str, Any] | None, annotations: Mapping[str, Any], *,
            annotation_text: Callable[[Any], str], spaced_defaults: bool) -> str:
    """``(parameters) -> return``; ``spaced_defaults`` writes ``a: int = 1``
    (the Signature style) instead of ``a: int=1`` when a parameter has both
    an annotation and a default."""
    kwonlydefaults = kwonlydefaults or {}

    def param(name: str, default: Any = _NO_DEFAULT) -> str:
        text = name
        annotated = name in annotations
        if annotated:
            text += ": " + annotation_text(annotations[name])
        if default is not _NO_DEFAULT:
            text += (" = " if annotated and spaced_defaults else "=") + repr(default)
        return text

    defaults = tuple(defaults or ())
    first_default = len(args) - len(defaults)
    parts = [param(arg, defaults[i - first_default]) if i >= first_default else param(arg)
             for i, arg in enumerate(args)]
    if varargs is not None:
        parts.append("*" + param(varargs))
    elif kwonlyargs:
        parts.append("*")
    parts.extend(param(arg, kwonlydefaults[arg]) if arg in kwonlydefaults else param(arg)
                 for arg in kwonlyargs)
    if varkw is not None:
        parts.append("**" + param(varkw))
    text = "(" + ", ".join(parts) + ")"
    if "return" in annotations:
        text += " -> " + annotation_text(annotations["return"])
    return text


def formatargspec(args: Sequence[str], varargs: str | None = None, varkw: str | None = None,
                  defaults: Sequence[Any] | None = None, kwonlyargs: Sequence[str] = (),
                  kwonlydefaults: Mapping[str, Any] | None = {},
                  annotations: Mapping[str, Any] = {},
                  ) -> str:
    """A signature written as Python's removed ``inspect.formatargspec`` did.

    Takes the fields of :func:`inspect.getfullargspec` in its order, so
    ``formatargspec(*inspect.getfullargspec(f))`` works::

        >>> formatargspec(["a", "b"], "args", "kw", (1,), ["c"], {}, {"b": int})
        '(a, b: int=1, *args, c, **kw)'

    ``args`` are the positional parameter names; ``varargs`` and ``varkw``
    the names of the ``*`` and ``**`` parameters (default ``None``: there is
    none); ``kwonlyargs`` the keyword-only names (default: none; without
    ``varargs`` a bare ``*`` comes before them).
    ``defaults`` belong to the last ``args``; ``kwonlydefaults`` maps
    keyword-only names to their defaults (``None`` for none); an
    ``annotations`` entry ``"return"`` adds ``-> ...``.
    """
    return _render(args, varargs, varkw, defaults, kwonlyargs, kwonlydefaults,
                   annotations or {}, annotation_text=inspect.formatannotation,
                   spaced_defaults=False)


def format_argspec_dict(name: str, spec: Any) -> str:
    """One method of a pc_rpc method list: ``name(a: int, b=2, *rest, key:
    float = 1.0, **extra) -> float``.

    ``spec`` is the argspec dict a server sends (keys ``args``,
    ``varargs``, ``varkw``, ``defaults``, ``kwonlyargs``,
    ``kwonlydefaults``, ``annotations``; missing or ``None`` ones mean
    none).  Annotations are written as the text they arrive as, and one
    that is ``None`` is left out.  Anything that is not such a dict, as
    may come from a foreign server, gives ``name(...)``.
    """
    if not isinstance(spec, dict):
        return f"{name}(...)"
    try:
        annotations = {key: value for key, value in (spec.get("annotations") or {}).items()
                       if value is not None}
        text = _render(list(spec.get("args") or ()), spec.get("varargs") or None,
                       spec.get("varkw") or None, spec.get("defaults"),
                       list(spec.get("kwonlyargs") or ()),
                       dict(spec.get("kwonlydefaults") or {}), annotations,
                       annotation_text=str, spaced_defaults=True)
    except (TypeError, ValueError, AttributeError, IndexError):
        # names that are not strings, a "defaults" that is not a sequence...
        return f"{name}(...)"
    return name + text
