"""sipyco-sync installed from its wheel, with sipyco-pyon and nothing else of
SiPyCo, in a fresh venv: sync_struct works there and pc_rpc is absent."""

from __future__ import annotations

import pathlib
import subprocess
import textwrap
import venv
import zipfile

PACKAGES = pathlib.Path(__file__).resolve().parent.parent.parent / "packages"

ROUND_TRIP = textwrap.dedent("""
    import asyncio, importlib.util
    from sipyco.sync_struct import Notifier, Publisher, Subscriber

    assert importlib.util.find_spec("sipyco.pc_rpc") is None
    assert importlib.util.find_spec("sipyco.sync_struct") is not None
    try:
        import sipyco.pc_rpc
    except ModuleNotFoundError:
        pass
    else:
        raise SystemExit("pc_rpc is importable")

    async def main():
        n = Notifier({"a": (1, 2), "l": []})
        publisher = Publisher({"s": n}, pyon_version=2)
        await publisher.start("127.0.0.1", 0)
        seen = []
        sub = Subscriber("s", lambda s: s, seen.append)
        await sub.connect("127.0.0.1", publisher.port)
        n["l"].append(3)
        n["done"] = True
        for _ in range(2000):
            if sub.target.get("done"):
                break
            await asyncio.sleep(0.01)
        await sub.close()
        await publisher.stop()
        assert sub.target == {"a": (1, 2), "l": [3], "done": True}, sub.target
        assert [m["action"] for m in seen] == ["init", "append", "setitem"]
        print("round trip ok")

    asyncio.run(main())
""")


def test_sync_wheels_alone_in_a_new_venv(tmp_path):
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    py = env / "bin" / "python"
    pip = [str(py), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    wheels = tmp_path / "wheels"
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels),
                    str(PACKAGES / "sipyco-pyon"), str(PACKAGES / "sipyco-sync")], check=True)
    built = sorted(wheels.glob("*.whl"))
    assert [w.name.split("-")[0] for w in built] == ["sipyco_pyon", "sipyco_sync"]
    sync_names = zipfile.ZipFile(built[1]).namelist()
    assert "sipyco/sync_struct.py" in sync_names
    assert "sipyco/__init__.py" not in sync_names
    assert not any("pc_rpc" in name for name in sync_names)

    subprocess.run([*pip, "install", *map(str, built)], check=True)
    result = subprocess.run([str(py), "-I", "-c", ROUND_TRIP], capture_output=True,
                            text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "round trip ok"
