"""PYON v1 only: the Python-expression format of sipyco 1.8, under the module
name sipyco 1.10 gives it.

In sipyco 1.10 :mod:`sipyco.pyon` writes JSON (PYON v2) and this module keeps
the old format.  Here :mod:`sipyco.pyon` writes v1 unless
``SIPYCO_PYON_VERSION=2``; this module writes v1 whatever that variable says.

* :func:`encode` / :func:`store_file` write v1 exactly as
  ``sipyco.pyon.encode_v1`` does (the same registered application types,
  written ``Name(arg, ...)``).
* :func:`decode` / :func:`load_file` read **v1 only**, as upstream's
  ``pyon_v1`` does, so every text gives the value upstream gives: text that
  happens to be JSON is read as a Python expression too, and a
  ``{"__jsonclass__": [...]}`` object in it stays a plain dict (upstream
  evaluates it to that dict; a v2 reader would build a tuple, bytes...).
  A 1.8-era file holding a dict with a ``"__jsonclass__"`` key therefore
  reads back unchanged.  To read either version, use
  :func:`sipyco.pyon.decode`.  Unlike upstream, the text is never
  evaluated: anything but PYON's own literals and constructors is refused
  with :class:`~sipyco.errors.DecodeError` (a ``ValueError``).
"""

from __future__ import annotations

import os
from typing import Any

from . import pyon as _pyon

__all__ = ["encode", "decode", "store_file", "load_file"]


def encode(x: Any, pretty: bool = False) -> str:
    """Serialize ``x`` as PYON v1 text (ASCII, one line unless ``pretty``).

    Raises :class:`~sipyco.errors.EncodeError` (a ``TypeError``) naming the
    type and path of the first value it cannot write.
    """
    return _pyon._default.encode_v1(x, pretty)


def decode(s: str | bytes) -> Any:
    """Rebuild the value from PYON v1 text, never evaluating it.

    JSON ``__jsonclass__`` objects stay plain dicts, as in upstream's v1
    reader.  Refusals raise :class:`~sipyco.errors.DecodeError` (a
    ``ValueError``) naming the offset.
    """
    return _pyon._default.decode_v1(s)


def store_file(filename: str | os.PathLike, x: Any) -> None:
    """Write ``x`` to ``filename`` as pretty PYON v1 and a newline, atomically
    (see :func:`sipyco.pyon.store_file`)."""
    _pyon._default.store_file_v1(filename, x)


def load_file(filename: str | os.PathLike) -> Any:
    """Read a PYON v1 file (see :func:`decode`).

    ``filename`` is the path of the file, read as UTF-8 text.  Raises
    ``OSError`` if the file cannot be opened, ``UnicodeDecodeError`` if it
    is not UTF-8, and :class:`~sipyco.errors.DecodeError` (a ``ValueError``)
    if its text is refused."""
    with open(filename, encoding="utf-8") as f:
        return decode(f.read())
