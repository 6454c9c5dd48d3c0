"""A :class:`unittest.TestCase` base for testing controllers as the separate
processes they are in a lab.

``sipyco.test`` is a namespace package (it has no ``__init__.py``, like
``sipyco`` itself), so other distributions may add modules to it.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
import time
import unittest
from collections.abc import Sequence
from typing import Any, NamedTuple

from sipyco.pc_rpc import AutoTarget, Client

__all__ = ["GenericRPCCase"]

logger = logging.getLogger(__name__)

#: After ``sleep``, how long a controller whose process is still running may
#: take to start accepting connections before start_server gives up.
STARTUP_GRACE = 10.0


class _Running(NamedTuple):
    process: subprocess.Popen
    client: Client
    command: str
    client_timeout: float | None


class GenericRPCCase(unittest.TestCase):
    """Start controllers, talk to them with :class:`~sipyco.pc_rpc.Client`,
    and make sure none outlives its test.

    A test calls :meth:`start_server` (which returns a connected client) and
    may call :meth:`stop_server`; :meth:`tearDown` stops whatever is still
    running.  Subclasses that override ``setUp``/``tearDown`` must call
    these.
    """

    def setUp(self) -> None:
        self._servers: dict[str, _Running] = {}

    def start_server(self, name: str, command: str | Sequence[str], port: int,
                     sleep: float = 2, target_name: Any = AutoTarget,
                     timeout: float | None = 1) -> Client:
        """Run ``command`` as the controller called ``name``, and connect to it.

        ``command`` is split as a POSIX shell would split it (no shell runs
        it; a list of arguments is used as it is).  After ``sleep`` seconds a
        blocking client connects to ``localhost``:``port`` with
        ``target_name`` and ``timeout``.  If the controller is still starting
        then (connection refused while its process runs), connecting is
        retried for up to ``STARTUP_GRACE`` seconds more; if it cannot
        connect, the process is stopped and the error raised.
        ValueError if ``name`` is already in use.  Returns the client.
        """
        if name in self._registry():
            raise ValueError(f"a server named {name!r} is already running")
        args = shlex.split(command) if isinstance(command, str) else list(command)
        text = command if isinstance(command, str) else shlex.join(args)
        process = subprocess.Popen(args)
        try:
            time.sleep(sleep)
            client = self._connect(process, port, target_name, timeout)
        except BaseException:
            _end(name, process, timeout=1)
            raise
        self._registry()[name] = _Running(process, client, text, timeout)
        return client

    @staticmethod
    def _connect(process: subprocess.Popen, port: int, target_name: Any,
                 timeout: float | None) -> Client:
        deadline = time.monotonic() + STARTUP_GRACE
        while True:
            try:
                return Client("localhost", port, target_name, timeout)
            except ConnectionRefusedError:
                if process.poll() is not None or time.monotonic() > deadline:
                    if process.returncode is not None:
                        logger.error("controller exited with code %d before accepting "
                                     "connections", process.returncode)
                    raise
                time.sleep(0.05)

    def stop_server(self, name: str, timeout: float = 1) -> None:
        """Stop the controller called ``name``: call its ``terminate()``,
        close the client and wait ``timeout`` seconds for the process to
        exit.  Failing that (the call timed out, or the process is still
        running), terminate the process, then kill it, waiting ``timeout``
        seconds each time and logging a warning at each step.  The name is
        free again afterwards, whatever happened.  KeyError for an unknown
        name.
        """
        running = self._registry().pop(name)
        process = running.process
        try:
            try:
                running.client.terminate()
            finally:
                running.client.close_rpc()
        except TimeoutError:
            # hung: waiting for it to exit by itself is pointless
            logger.warning("controller %r (%s) did not answer terminate() within %s s; "
                           "terminating its process", name, running.command,
                           running.client_timeout)
            _end(name, process, timeout)
            return
        except Exception as exc:  # noqa: BLE001 - whatever it was, the process must go
            # e.g. the connection closed as the controller went down anyway
            logger.debug("terminate() of controller %r failed: %s: %s",
                         name, type(exc).__name__, exc)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning("controller %r (%s) still running %g s after terminate(); "
                           "terminating its process", name, running.command, timeout)
            _end(name, process, timeout)

    def tearDown(self) -> None:
        for name in list(self._registry()):
            self.stop_server(name)

    def _registry(self) -> dict[str, _Running]:
        # made on first use too, for subclasses whose setUp forgets super()
        servers = self.__dict__.get("_servers")
        if servers is None:
            servers = self._servers = {}
        return servers


def _end(name: str, process: subprocess.Popen, timeout: float) -> None:
    """Terminate, then kill, ``process``, waiting ``timeout`` seconds each time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
        return
    except subprocess.TimeoutExpired:
        logger.warning("controller %r still running %g s after being terminated; "
                       "killing it", name, timeout)
    process.kill()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        logger.error("controller %r (pid %d) did not die after being killed",
                     name, process.pid)
