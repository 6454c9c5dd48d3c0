"""sipyco 1.10's keyword passthrough, checked.

In 1.10, ``pyon.encode``/``store_file`` hand extra keywords to ``json.dumps``
and ``pyon.decode``/``load_file`` to ``json.loads``.  Our writer and reader
are not ``json``: the text is fixed by compatibility with both releases.  So
a keyword is accepted only with a value that asks for what we do anyway;
any other value is a ``ValueError`` naming the keyword and the value, and a
keyword with no meaning here (or none in ``json``) is a ``TypeError`` naming
it, as Python reports an unexpected keyword.

Writing (``encode``, ``store_file``):

======================  =====================================================
keyword                 accepted values
======================  =====================================================
``indent``              ``None`` (compact) or ``4`` / ``"    "`` (pretty); it
                        must agree with ``pretty`` when both are given, and
                        ``store_file`` (always pretty) takes only ``4``
``sort_keys``           the layout's own choice: true when pretty (str keys
                        are sorted), false when compact (insertion order)
``separators``          the pair the layout writes: v1 ``(", ", ": ")``,
                        compact v2 ``(",", ":")``, pretty v2 ``(",", ": ")``
``ensure_ascii``        true (the text is always ASCII)
``allow_nan``           true (nan and infinities are always written)
``skipkeys``            false (a key that cannot be written is an error)
``check_circular``      either: it only changes how a cycle fails, and a
                        cycle is always an ``EncodeError`` here
``cls``, ``default``    ``None`` (add types with ``pyon.register``)
======================  =====================================================

Reading (``decode``, ``load_file``):

======================  =====================================================
``strict``              true (JSON text with raw control characters in a
                        string is not read as JSON)
``parse_float``         ``None`` or ``float``
``parse_int``           ``None`` or ``int``
``parse_constant``      ``None``
``object_hook``,        ``None`` (``__jsonclass__`` objects are rebuilt by
``object_pairs_hook``,  the reader; add types with ``pyon.register``)
``cls``
======================  =====================================================
"""

from __future__ import annotations

from typing import Any

__all__ = ["check_encode_options", "check_decode_options"]

_FOUR_SPACES = "    "


def _refuse(function: str, name: str, value: Any, why: str) -> ValueError:
    return ValueError(f"{function}(): {name}={value!r} cannot be honoured: {why}")


def _unexpected(function: str, name: str, other: str) -> TypeError:
    return TypeError(f"{function}() got an unexpected keyword argument {name!r} "
                     f"({other})")


def _layout(function, indent, pretty: bool, always_pretty: bool) -> bool:
    """The layout ``indent`` asks for, checked against ``pretty``."""
    if indent is None:
        if always_pretty:
            raise _refuse(function, "indent", indent, f"{function}() always writes the "
                          "pretty layout (four-space indent)")
        if pretty:
            raise _refuse(function, "indent", indent, "pretty=True asks for the "
                          "four-space indent")
        return False
    if (type(indent) is int and indent == 4) or indent == _FOUR_SPACES:
        return True
    raise _refuse(function, "indent", indent, "the pretty layout indents four spaces "
                  "(indent=4, or pretty=True); indent=None is the compact one")


def check_encode_options(function: str, version: int, pretty: bool, options: dict,
                         always_pretty: bool = False) -> bool:
    """Check 1.10's ``json.dumps`` keywords given to a writing function;
    return whether the pretty layout is asked for."""
    pretty = bool(pretty) or always_pretty
    if "indent" in options:
        pretty = _layout(function, options["indent"], pretty, always_pretty)
    layout = "the pretty layout" if pretty else "the compact layout"
    for name, value in options.items():
        if name == "indent" or name == "check_circular":
            continue
        if name == "sort_keys":
            if bool(value) != pretty:
                raise _refuse(function, name, value, "the pretty layout sorts str keys"
                              if pretty else "the compact layout keeps the insertion "
                              "order (pretty=True sorts str keys)")
        elif name == "separators":
            wanted = (", ", ": ") if version == 1 else ((",", ": ") if pretty else (",", ":"))
            if not isinstance(value, (tuple, list)) or tuple(value) != wanted:
                raise _refuse(function, name, value,
                              f"PYON v{version} in {layout} is written with {wanted!r}")
        elif name == "ensure_ascii":
            if not value:
                raise _refuse(function, name, value, "PYON text is always ASCII")
        elif name == "allow_nan":
            if not value:
                raise _refuse(function, name, value, "nan and infinities are always "
                              "written (nan, inf / NaN, Infinity)")
        elif name == "skipkeys":
            if value:
                raise _refuse(function, name, value, "a key that cannot be written is "
                              "always an EncodeError")
        elif name in ("cls", "default"):
            if value is not None:
                raise _refuse(function, name, value, "PYON writes with its own writer; "
                              "teach it a type with sipyco.pyon.register")
        else:
            raise _unexpected(function, name, "json.dumps has no such keyword either")
    return pretty


_READ_HOOKS = ("object_hook", "object_pairs_hook", "cls")


def check_decode_options(function: str, options: dict) -> None:
    """Check 1.10's ``json.loads`` keywords given to a reading function."""
    for name, value in options.items():
        if name == "strict":
            if not value:
                raise _refuse(function, name, value, "JSON text is read strictly "
                              "(raw control characters in strings are refused)")
        elif name == "parse_float":
            if value is not None and value is not float:
                raise _refuse(function, name, value, "numbers with a fraction or an "
                              "exponent are always read as float")
        elif name == "parse_int":
            if value is not None and value is not int:
                raise _refuse(function, name, value, "integers are always read as int")
        elif name == "parse_constant":
            if value is not None:
                raise _refuse(function, name, value, "NaN and infinities are always read "
                              "as float")
        elif name in _READ_HOOKS:
            if value is not None:
                raise _refuse(function, name, value, "PYON reads with its own reader, which "
                              "rebuilds __jsonclass__ objects itself; teach it a type with "
                              "sipyco.pyon.register")
        else:
            raise _unexpected(function, name, "json.loads has no such keyword")
