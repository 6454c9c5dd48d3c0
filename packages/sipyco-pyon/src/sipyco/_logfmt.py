"""The one log-record text format SiPyCo uses on consoles and on the wire.

``LEVEL:logger:message``; when the formatted record spans N > 1 lines, the
level becomes ``LEVEL<N>`` so a reader knows how many lines belong to it.
Shared by :mod:`sipyco.common_args` and :mod:`sipyco.logging_tools`.
"""

from __future__ import annotations

import logging

__all__ = ["MultilineFormatter"]


class MultilineFormatter(logging.Formatter):
    """``LEVEL:name:message``, with ``LEVEL<N>`` for an N-line record."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s:%(name)s:%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The record as ``LEVEL:name:message``; a message of N > 1 lines
        (a traceback included) gets ``LEVEL<N>``, so that a reader of the
        stream knows how many lines belong to it."""
        text = super().format(record)
        lines = text.count("\n") + 1
        if lines > 1:
            cut = len(record.levelname)
            text = f"{text[:cut]}<{lines}>{text[cut:]}"
        return text
