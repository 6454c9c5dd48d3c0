"""PYON v2 reader: JSON plus ``{"__jsonclass__": [NAME, ARGS]}`` objects.

The JSON itself is parsed by the standard library's C scanner; every
``__jsonclass__`` object is rebuilt by a named, checked builder, and names
nobody registered are refused (with :class:`~sipyco.errors.UnknownJsonClass`;
a malformed ``__jsonclass__`` object with :class:`~sipyco.errors.JsonClassError`:
both ``DecodeError`` and ``KeyError``).
"""

from __future__ import annotations

import json

from ..errors import DecodeError, JsonClassError, NestingTooDeep, UnknownJsonClass

__all__ = ["make_decoder", "decode_v2", "Refused"]


class Refused(Exception):
    """A ``__jsonclass__`` object that could not be built (raised inside the
    JSON scanner, turned into ``error`` with the offset by the readers)."""

    def __init__(self, reason: str, name: str | None = None, error=DecodeError):
        super().__init__(reason)
        self.name = name
        self.error = error  # the DecodeError class to raise

    def offset_in(self, text: str) -> int | None:
        """Where the refused object is: its name, else the first jsonclass."""
        if self.name is not None:
            where = text.find(json.dumps(self.name))
            if where >= 0:
                return where
        where = text.find('"__jsonclass__"')
        return where if where >= 0 else None


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
            raise Refused('a "__jsonclass__" object must be exactly '
                           '{"__jsonclass__": [NAME, [ARGS...]]}', None, JsonClassError)
        name, args = spec
        builder = builders.get(name)
        if builder is None:
            raise Refused(f"unknown __jsonclass__ name {name[:40]!r}", name, UnknownJsonClass)
        try:
            return builder(*args)
        except Exception as exc:  # noqa: BLE001 - any refusal by a builder
            raise Refused(f"invalid {name}: {exc}", name) from None

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
    except Refused as exc:
        raise exc.error(str(exc), exc.offset_in(text)) from None
    except RecursionError:
        if not_json is None:
            raise NestingTooDeep("JSON nests too deeply for this reader (beyond the "
                                 "interpreter's recursion limit)", _too_deep_at(text)) from None
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
