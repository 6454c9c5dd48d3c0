"""Compatibility name for :mod:`sipyco.asyncio_tools` (upstream 1.9/1.10
renamed that module ``sipyco.tools``); the same objects, re-exported."""

from sipyco.asyncio_tools import AsyncioServer, SignalHandler, TaskObject, atexit_register_coroutine

__all__ = ["AsyncioServer", "SignalHandler", "TaskObject", "atexit_register_coroutine"]
