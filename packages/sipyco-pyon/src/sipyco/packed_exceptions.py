"""Exceptions as plain dicts and back, for sending them to another process.

A *pack* is ``{"class": NAME, "message": TEXT, "traceback": LINES}``, the
dict sipyco uses wherever an exception crosses a process boundary (pc_rpc's
failed replies carry exactly this; ARTIQ's worker processes send it over
pipes):

* NAME is the builtin class's name for a builtin exception (``"ValueError"``).
  For any other class it is ``"GenericRemoteException"`` and TEXT reads
  ``module.Class: text`` (no module for classes of ``__main__``, as Python's
  own tracebacks write them).  SiPyCo's own errors travel as the builtin
  they also derive from (a ``CallTimeout`` as ``TimeoutError``), and an
  exception that already came from elsewhere travels as what it was.
* LINES is the traceback, as :func:`traceback.format_exception` lines.

Unpacking gives a :class:`~sipyco.errors.RemoteError`: for a builtin NAME a
class deriving from that builtin (``except ValueError`` catches it), else
:class:`GenericRemoteException`; the traceback lines are in
``parent_traceback``.  Only ``Exception`` subclasses are ever rebuilt: a pack
naming ``SystemExit``, ``KeyboardInterrupt`` (or a builtin whose constructor
wants more than a message, such as ``UnicodeDecodeError``) becomes a
GenericRemoteException whose message starts with that name, so a peer can
never make this process exit.

pc_rpc's server and clients use :func:`pack` and :func:`unpack`; there is no
second implementation.
"""

from __future__ import annotations

import builtins
import sys
import traceback
from typing import Any, NoReturn

from sipyco.errors import GenericRemoteException, RemoteError, SipycoError, remote_error

__all__ = ["current_exc_packed", "raise_packed_exc", "GenericRemoteException", "pack", "unpack"]


def _builtin_class(cls: type) -> type | None:
    """The builtin class an exception of class ``cls`` travels as: ``cls``
    itself if builtin; for SiPyCo's own errors (remote ones included), the
    first builtin they derive from below Exception; else None."""
    if getattr(builtins, cls.__name__, None) is cls:
        return cls
    if issubclass(cls, SipycoError):
        for base in cls.__mro__:
            if getattr(builtins, base.__name__, None) is base \
                    and base not in (Exception, BaseException):
                return base
    return None


def _text(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - a broken __str__ must not lose the error
        return f"<{type(exc).__name__} whose str() failed>"


def _class_name(cls: type) -> str:
    module = getattr(cls, "__module__", None)
    if module in (None, "__main__", "builtins"):
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def pack(exc: BaseException) -> dict[str, Any]:
    """The pack describing ``exc`` (its ``__traceback__`` gives the lines)."""
    cls = type(exc)
    try:
        lines = traceback.format_exception(cls, exc, exc.__traceback__)
    except Exception:  # noqa: BLE001 - e.g. a __str__ that raises inside the formatter
        lines = traceback.format_list(traceback.extract_tb(exc.__traceback__))
    text = _text(exc)
    if isinstance(exc, GenericRemoteException):  # passed on: already "module.Class: text"
        return {"class": "GenericRemoteException", "message": text, "traceback": lines}
    builtin = _builtin_class(cls)
    if builtin is not None:
        return {"class": builtin.__name__, "message": text, "traceback": lines}
    name = _class_name(cls)
    message = f"{name}: {text}" if text else name
    return {"class": "GenericRemoteException", "message": message, "traceback": lines}


def unpack(packed: Any) -> RemoteError:
    """The exception a pack describes (not raised).

    ValueError if ``packed`` is not a dict; a missing or odd message or
    traceback is tolerated (an empty one is used).
    """
    if not isinstance(packed, dict):
        raise ValueError(f"a packed exception is a dict, not {type(packed).__name__}")
    message = packed.get("message", "")
    lines = packed.get("traceback", [])
    if not isinstance(message, str):
        message = str(message)
    if not isinstance(lines, list):
        lines = []
    return remote_error(packed.get("class"), message, [str(line) for line in lines])


def current_exc_packed() -> dict[str, Any]:
    """The exception being handled (call it inside an ``except`` block), packed.

    RuntimeError if no exception is being handled.
    """
    exc = sys.exc_info()[1]
    if exc is None:
        raise RuntimeError("current_exc_packed() needs an exception being handled")
    return pack(exc)


def raise_packed_exc(packed: dict[str, Any]) -> NoReturn:
    """Raise the exception ``packed`` describes (see :func:`~sipyco.packed_exceptions.unpack`), with
    the sender's traceback lines in its ``parent_traceback``."""
    raise unpack(packed)
