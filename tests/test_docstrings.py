"""help() answers without the docs site: every public name of every public
``sipyco.*`` module (its ``__all__``) that is a class or a function has a
docstring, and so has every public method a public class defines."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import sipyco


def public_modules() -> list[str]:
    names = [m.name for m in pkgutil.iter_modules(sipyco.__path__, "sipyco.")]
    return sorted(n for n in names if not n.rsplit(".", 1)[1].startswith("_"))


def undocumented() -> list[str]:
    missing = []
    for name in public_modules():
        module = importlib.import_module(name)
        assert module.__doc__, f"{name} has no docstring"
        for public in getattr(module, "__all__", ()):
            obj = getattr(module, public)
            where = f"{name}.{public}"
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and not inspect.getdoc(obj):
                missing.append(where)
            if inspect.isclass(obj):
                for attr, value in vars(obj).items():
                    if attr.startswith("_"):
                        continue
                    if isinstance(value, (staticmethod, classmethod)):
                        value = value.__func__
                    if inspect.isfunction(value) and not value.__doc__:
                        missing.append(f"{where}.{attr}")
    return missing


def test_the_public_modules_are_found():
    modules = public_modules()
    for expected in ("sipyco.pyon", "sipyco.pc_rpc", "sipyco.sync_struct",
                     "sipyco.logging_tools", "sipyco.remote_exec", "sipyco.errors"):
        assert expected in modules


def test_every_public_class_function_and_method_has_a_docstring():
    assert undocumented() == []


def unnamed_parameters() -> list[str]:
    """``module.callable(parameter)`` for each parameter of a public function,
    method or constructor that its docstring (or, for a constructor, the
    class docstring) does not name."""
    gaps = []
    seen: set[int] = set()

    def check(where: str, function, extra: str = "") -> None:
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            return
        doc = (inspect.getdoc(function) or "") + "\n" + extra
        for parameter in signature.parameters.values():
            if parameter.name in ("self", "cls") or parameter.kind in (
                    parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            if not re.search(rf"\b{re.escape(parameter.name)}\b", doc):
                gaps.append(f"{where}({parameter.name})")

    for name in public_modules():
        module = importlib.import_module(name)
        for public in getattr(module, "__all__", ()):
            obj = getattr(module, public)
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            where = f"{name}.{public}"
            if inspect.isfunction(obj):
                check(where, obj)
            elif inspect.isclass(obj):
                if "__init__" in vars(obj):
                    check(where, obj.__init__, inspect.getdoc(obj) or "")
                for attr, value in vars(obj).items():
                    if not attr.startswith("_") and inspect.isfunction(value):
                        check(f"{where}.{attr}", value)
    return gaps


def test_every_parameter_of_a_public_callable_is_named_in_its_docstring():
    assert unnamed_parameters() == []
