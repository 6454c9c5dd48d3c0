"""The sipyco-pyon, sipyco-rpc and sipyco-rexec wheels are all a controller
with remote execution needs: installed alone in a fresh venv, the controller
runs and sync_struct is not there."""

from __future__ import annotations

import subprocess


def test_rexec_wheels_alone_in_a_new_venv(wheel_venv, tmp_path, start, clients):
    env, py, installed = wheel_venv("sipyco-rexec")
    assert installed == ["sipyco-pyon", "sipyco-rexec", "sipyco-rpc"]

    probe = subprocess.run(
        [str(py), "-I", "-c",
         "import importlib.util as u\n"
         "import sipyco.remote_exec\n"
         "for m in ['sipyco.remote_exec', 'sipyco.pc_rpc', 'sipyco.sync_struct',\n"
         "          'sipyco.logging_tools']:\n"
         "    print(m, u.find_spec(m) is not None)\n"],
        capture_output=True, text=True, cwd=tmp_path)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split("\n") == [
        "sipyco.remote_exec True", "sipyco.pc_rpc True", "sipyco.sync_struct False",
        "sipyco.logging_tools False", ""]

    # and a controller with remote execution runs from there
    ctl = start("rexec_controller.py", python=py, args=["-I"])
    drv = ctl.wait_listening("dev")
    with drv:
        drv.set_setting(4)
    rx = clients(ctl.port, "dev_rexec")
    rx.add_code("import sipyco.pc_rpc, sys\n"
                "def where():\n"
                "    return sipyco.pc_rpc.__file__, sys.prefix\n"
                "def scaled(f):\n"
                "    return controller_driver.scaled(f)\n")
    module_file, prefix = rx.call("where")
    assert rx.call("scaled", 5) == 20
    rx.terminate()
    assert module_file.startswith(str(env))
    assert prefix == str(env)
    code, out, err = ctl.finish()
    assert code == 0, err
    assert "rexec controller stopped" in out
