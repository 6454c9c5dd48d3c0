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

    Every attribute of the target is forwarded, private ones included (the
    proxy is local: nothing here crosses a network); only special
    ``__dunder__`` names are the proxy's own.
    """

    def __init__(self, target: Any):
        # name-mangled, so that they shadow none of the target's own names
        self.__target = target
        self.__thread: threading.Thread | None = None
        self.__lock = threading.Lock()

    def ff_join(self) -> None:
        """Wait until the background call, if any, has finished."""
        with self.__lock:
            thread = self.__thread
        if thread is not None:
            thread.join()

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # copy, pickle and friends probe these
        method = getattr(self.__target, name)

        def run(*args, **kwargs) -> None:
            with self.__lock:
                if self.__thread is not None and self.__thread.is_alive():
                    warnings.warn(f"{name}() dropped: the previous background call "
                                  "is still running", RuntimeWarning, stacklevel=2)
                    return
                self.__thread = threading.Thread(target=_run, args=(name, method, args, kwargs),
                                                 daemon=True)
                self.__thread.start()
        run.__name__ = name
        return run


def _run(name, method, args, kwargs) -> None:
    try:
        method(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - reported, never raised
        warnings.warn(f"background call {name}() failed: {exc!r}", RuntimeWarning,
                      stacklevel=1)
