"""store_file / load_file: pretty v1 on disk, v2 files readable, and the old
file survives every way a write can go wrong (including a killed process)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from collections import OrderedDict
from fractions import Fraction

import numpy
import pytest
from support.pyon import assert_same

from sipyco import pyon
from sipyco.errors import EncodeError

VALUE = {
    "name": "scan \u00e9\U0001F600",
    "points": (1, 2.5, None),
    "data": numpy.arange(12, dtype="<f8").reshape(3, 4),
    "flags": {1, 2},
    "nested": {"b": OrderedDict([("z", 1), ("a", 2)]), "a": [Fraction(1, 3), b"\x00"]},
    3: slice(1, None, 2),
}
OLD = {"version": 1, "values": [1, 2, 3]}

# Run in a child process: store NEW over the file named in argv[1] after
# breaking one step of the write.  Imports come from the same environment.
_CRASH_CHILD = textwrap.dedent("""
    import os, sys
    from sipyco import pyon

    def crash(*args, **kwargs):
        os._exit(1)  # the process dies on the spot: no cleanup, no finally

    setattr(os, sys.argv[2], crash)
    pyon.store_file(sys.argv[1], {"version": 2, "values": list(range(100_000))})
    os._exit(0)  # not reached when the patched step runs
""")

_LOOP_CHILD = textwrap.dedent("""
    import sys
    import numpy
    from sipyco import pyon

    print("started", flush=True)
    for i in range(1, 13):
        pyon.store_file(sys.argv[1], {"i": i, "a": numpy.full(500_000, i, dtype="<f8")})
        print("stored", i, flush=True)
""")


def _listing(directory):
    return sorted(os.listdir(directory))


@pytest.mark.parametrize("value", [VALUE, OLD, [], "text", numpy.zeros((0, 2))],
                         ids=["mixed", "simple", "empty-list", "str", "empty-array"])
def test_store_then_load(tmp_path, value):
    path = tmp_path / "data.pyon"
    pyon.store_file(path, value)
    with open(path, encoding="utf-8") as f:
        content = f.read()
    assert content == pyon.encode(value, pretty=True) + "\n"
    assert content.isascii()
    assert_same(pyon.load_file(path), value, ordered=False)
    assert_same(pyon.load_file(str(path)), value, ordered=False)
    assert _listing(tmp_path) == ["data.pyon"]


def test_load_file_reads_v2(tmp_path):
    path = tmp_path / "data.json"
    path.write_text(pyon.encode_v2(VALUE), encoding="utf-8")
    assert_same(pyon.load_file(path), VALUE)
    path.write_text(pyon.encode_v2(VALUE, pretty=True) + "\n", encoding="utf-8")
    assert_same(pyon.load_file(path), VALUE, ordered=False)


def test_load_file_reads_compact_v1(tmp_path):
    path = tmp_path / "data.pyon"
    path.write_text(pyon.encode(VALUE), encoding="utf-8")
    assert_same(pyon.load_file(path), VALUE)


def test_store_file_overwrites(tmp_path):
    path = tmp_path / "data.pyon"
    pyon.store_file(path, OLD)
    pyon.store_file(path, VALUE)
    assert_same(pyon.load_file(path), VALUE, ordered=False)
    assert _listing(tmp_path) == ["data.pyon"]


def test_unencodable_value_leaves_old_file_untouched(tmp_path):
    path = tmp_path / "data.pyon"
    pyon.store_file(path, OLD)
    before = path.read_bytes()
    with pytest.raises(EncodeError):
        pyon.store_file(path, {"ok": 1, "bad": [object()]})
    assert path.read_bytes() == before
    assert _listing(tmp_path) == ["data.pyon"]
    with pytest.raises(EncodeError):
        pyon.store_file(tmp_path / "new.pyon", object())
    assert _listing(tmp_path) == ["data.pyon"]


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_failing_write_step_leaves_old_file_and_no_temp_files(tmp_path, monkeypatch, step):
    path = tmp_path / "data.pyon"
    pyon.store_file(path, OLD)
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, step, fail)
    with pytest.raises(OSError):
        pyon.store_file(path, VALUE)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert _listing(tmp_path) == ["data.pyon"]


@pytest.mark.parametrize("step", ["replace", "fsync"],
                         ids=["crash-before-rename", "crash-mid-write"])
def test_crash_during_store_keeps_old_file(tmp_path, step):
    path = tmp_path / "data.pyon"
    pyon.store_file(path, OLD)
    before = path.read_bytes()
    result = subprocess.run([sys.executable, "-c", _CRASH_CHILD, str(path), step],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr  # it did die in the patched step
    assert path.read_bytes() == before
    assert pyon.load_file(path) == OLD
    # whatever the dead process left behind is hidden, never the target itself
    for name in _listing(tmp_path):
        assert name == "data.pyon" or name.startswith(".data.pyon."), name


def test_killed_writer_never_leaves_a_partial_file(tmp_path):
    path = tmp_path / "data.pyon"
    pyon.store_file(path, {"i": 0, "a": numpy.full(500_000, 0, dtype="<f8")})
    # Kill the writer at different points: while it writes its first file,
    # just after one store finished, and a few stores later.
    for stores_before_kill in (0, 1, 3):
        child = subprocess.Popen([sys.executable, "-c", _LOOP_CHILD, str(path)],
                                 stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline().strip() == "started"
            for _ in range(stores_before_kill):
                assert child.stdout.readline().startswith("stored")
            child.send_signal(signal.SIGKILL)
        finally:
            child.kill()
            child.communicate(timeout=60)
        value = pyon.load_file(path)
        assert set(value) == {"i", "a"}
        i = value["i"]
        assert 0 <= i <= 12
        assert stores_before_kill == 0 or i >= stores_before_kill
        assert_same(value["a"], numpy.full(500_000, i, dtype="<f8"))


def test_permission_bits_of_existing_file_are_kept(tmp_path):
    path = tmp_path / "data.pyon"
    path.write_text("1\n")
    for mode in (0o640, 0o600, 0o604):
        os.chmod(path, mode)
        pyon.store_file(path, OLD)
        assert stat.S_IMODE(os.stat(path).st_mode) == mode
        assert pyon.load_file(path) == OLD


def test_new_file_gets_default_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        pyon.store_file(tmp_path / "data.pyon", OLD)
    finally:
        os.umask(umask)
    assert stat.S_IMODE(os.stat(tmp_path / "data.pyon").st_mode) == 0o644


def test_symlink_is_followed_and_kept(tmp_path):
    real = tmp_path / "real.pyon"
    link = tmp_path / "link.pyon"
    pyon.store_file(real, OLD)
    link.symlink_to(real)
    pyon.store_file(link, VALUE)
    assert link.is_symlink()
    assert_same(pyon.load_file(real), VALUE, ordered=False)
    assert sorted(_listing(tmp_path)) == ["link.pyon", "real.pyon"]


def test_codec_store_file_uses_its_registry(tmp_path):
    class Point:
        def __init__(self, x):
            self.x = x

    c = pyon.Codec(pyon.Registry())
    c.registry.register(Point, to_args=lambda p: (p.x,))
    path = tmp_path / "p.pyon"
    c.store_file(path, {"p": Point(3)})
    assert path.read_text() == '{"p": Point(3)}\n'
    assert c.load_file(path)["p"].x == 3
    with pytest.raises(ValueError):
        pyon.load_file(path)  # the default codec does not know Point
