"""Running slow, non-critical calls in the background."""

from __future__ import annotations

import logging
import threading
import warnings
from typing import Any

__all__ = ["FFProxy"]

logger = logging.getLogger(__name__)


class FFProxy:
    """Forwards method calls to ``target`` and runs them in a background
    thread; each call returns None at once.

    At most one call runs at a time: a call made while another is still
    running is dropped with a warning.  An exception raised by the target
    becomes a warning too.  :meth:`ff_join` waits for the running call.
    """

    def __init__(self, target: Any):
        self._target = target
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def ff_join(self) -> None:
        """Wait until the background call, if any, has finished."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join()

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        method = getattr(self._target, name)

        def run(*args, **kwargs) -> None:
            with self._lock:
                if self._thread is not None and self._thread.is_alive():
                    warnings.warn(f"{name}() dropped: the previous background call "
                                  "is still running", RuntimeWarning, stacklevel=2)
                    return
                self._thread = threading.Thread(target=self._run, args=(name, method, args,
                                                                        kwargs), daemon=True)
                self._thread.start()
        run.__name__ = name
        return run

    @staticmethod
    def _run(name, method, args, kwargs) -> None:
        try:
            method(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - reported, never raised
            warnings.warn(f"background call {name}() failed: {exc!r}", RuntimeWarning,
                          stacklevel=1)
