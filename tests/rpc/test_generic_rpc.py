"""sipyco.test.generic_rpc.GenericRPCCase, used as controller packages use it:
a unittest.TestCase subclass driving real controller subprocesses
(tests/rpc/generic_controller.py)."""

from __future__ import annotations

import os
import pathlib
import shlex
import signal
import sys
import unittest

from support.net import free_port

from sipyco.pc_rpc import Client, IncompatibleServer
from sipyco.test.generic_rpc import GenericRPCCase

SCRIPT = pathlib.Path(__file__).resolve().parent / "generic_controller.py"
LOGGER = "sipyco.test.generic_rpc"
# The API waits ``sleep`` seconds before connecting (and then keeps trying
# while the controller is still starting); a short one keeps these tests quick.
SLEEP = 0.1


def controller(port: int, mode: str = "normal") -> str:
    """The command line of a test controller, as a lab's test suite writes it."""
    return shlex.join([sys.executable, str(SCRIPT), "--port", str(port), "--mode", mode])


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def refused(port: int) -> bool:
    try:
        Client("localhost", port, timeout=5).close_rpc()
    except ConnectionRefusedError:
        return True
    return False


class TestGenericRPCCase(GenericRPCCase):
    def test_drives_a_real_controller(self):
        port = free_port()
        adder = self.start_server("adder", controller(port), port, sleep=SLEEP)
        self.assertEqual(adder.add(2, 3), 5)
        self.assertEqual(adder.add("a", "b"), "ab")
        pid = adder.pid()
        with self.assertNoLogs(LOGGER, "WARNING"):
            self.stop_server("adder")
        self.assertTrue(gone(pid))
        self.assertTrue(refused(port))
        # the name is free again
        again = self.start_server("adder", controller(port), port, sleep=SLEEP)
        self.assertEqual(again.add(1, 1), 2)

    def assertForgotten(self, name):
        with self.assertRaises(KeyError):
            self.stop_server(name)

    def test_a_name_in_use_is_a_value_error_and_runs_nothing(self):
        port = free_port()
        psu = self.start_server("psu", controller(port), port, sleep=SLEEP)
        with self.assertRaises(ValueError):
            # were it run, this command would fail with FileNotFoundError
            self.start_server("psu", "/nonexistent/controller --port 1", free_port())
        self.assertEqual(psu.add(1, 2), 3)

    def test_unknown_name_is_a_key_error(self):
        with self.assertRaises(KeyError):
            self.stop_server("nothing")

    def test_target_name_reaches_the_client(self):
        port = free_port()
        adder = self.start_server("adder", controller(port), port, sleep=SLEEP,
                                  target_name="adder", timeout=7)
        self.assertEqual(adder.add(20, 22), 42)

    def test_a_target_the_controller_lacks_fails_and_stops_it(self):
        port = free_port()
        with self.assertRaises(IncompatibleServer):
            self.start_server("adder", controller(port), port, sleep=SLEEP, target_name="psu")
        self.assertForgotten("adder")
        self.assertTrue(refused(port))

    def test_controller_without_terminate_is_terminated(self):
        port = free_port()
        client = self.start_server("old", controller(port, "no-terminate"), port, sleep=SLEEP)
        pid = client.pid()
        with self.assertLogs(LOGGER, "WARNING") as logs:
            self.stop_server("old", timeout=0.5)
        self.assertEqual(len(logs.records), 1, logs.output)
        self.assertIn("terminating its process", logs.output[0])
        self.assertTrue(gone(pid))
        self.assertForgotten("old")

    def test_controller_ignoring_sigterm_is_killed(self):
        port = free_port()
        client = self.start_server("stubborn", controller(port, "stubborn"), port, sleep=SLEEP)
        pid = client.pid()
        with self.assertLogs(LOGGER, "WARNING") as logs:
            self.stop_server("stubborn", timeout=0.5)
        self.assertEqual(len(logs.records), 2, logs.output)
        self.assertIn("terminating its process", logs.output[0])
        self.assertIn("killing it", logs.output[1])
        self.assertTrue(gone(pid))
        self.assertTrue(refused(port))

    @unittest.skipIf(sys.platform == "win32", "needs SIGSTOP")
    def test_hung_controller_times_out_then_is_killed(self):
        port = free_port()
        client = self.start_server("hung", controller(port), port, sleep=SLEEP, timeout=0.5)
        pid = client.pid()
        os.kill(pid, signal.SIGSTOP)  # SIGTERM then stays pending; only SIGKILL works
        with self.assertLogs(LOGGER, "WARNING") as logs:
            self.stop_server("hung", timeout=0.5)
        self.assertEqual(len(logs.records), 2, logs.output)
        self.assertIn("did not answer terminate()", logs.output[0])
        self.assertIn("killing it", logs.output[1])
        self.assertTrue(gone(pid))

    def test_teardown_stops_every_server_still_running(self):
        pids = []
        for name in ("one", "two"):
            port = free_port()
            pids.append(self.start_server(name, controller(port), port, sleep=SLEEP).pid())
        self.tearDown()
        self.assertForgotten("one")
        self.assertForgotten("two")
        self.assertTrue(all(gone(pid) for pid in pids))

    def test_a_controller_that_exits_at_once_fails_start_server(self):
        command = shlex.join([sys.executable, "-c", "raise SystemExit(3)"])
        with self.assertLogs(LOGGER, "ERROR") as logs, self.assertRaises(ConnectionRefusedError):
            self.start_server("broken", command, free_port(), sleep=0)
        self.assertIn("exited with code 3", logs.output[0])
        self.assertForgotten("broken")


class TestSetUpWithoutSuper(GenericRPCCase):
    """A subclass whose setUp forgets super().setUp() still works."""

    def setUp(self):
        pass

    def test_start_and_stop(self):
        port = free_port()
        adder = self.start_server("adder", controller(port), port, sleep=SLEEP)
        self.assertEqual(adder.add(1, 2), 3)
        self.stop_server("adder")
