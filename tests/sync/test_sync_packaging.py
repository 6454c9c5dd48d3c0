"""sipyco-sync installed from its wheel, with sipyco-pyon and nothing else of
SiPyCo, in a fresh venv: sync_struct works there and pc_rpc is absent."""

from __future__ import annotations

import subprocess
import textwrap
import zipfile

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


def test_sync_wheels_alone_in_a_new_venv(wheel_venv, wheelhouse, tmp_path):
    sync_names = zipfile.ZipFile(wheelhouse["sipyco-sync"]).namelist()
    assert "sipyco/sync_struct.py" in sync_names
    assert "sipyco/__init__.py" not in sync_names
    assert not any("pc_rpc" in name for name in sync_names)

    _, py, installed = wheel_venv("sipyco-sync")
    assert installed == ["sipyco-pyon", "sipyco-sync"]
    result = subprocess.run([str(py), "-I", "-c", ROUND_TRIP], capture_output=True,
                            text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "round trip ok"
