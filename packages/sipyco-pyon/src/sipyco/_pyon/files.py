"""Replacing a file atomically: readers see the old content or the new one,
never a truncated mix, even if the writing process dies half-way."""

from __future__ import annotations

import os
import secrets
import stat

__all__ = ["atomic_write"]


def atomic_write(filename, data: bytes) -> None:
    """Write ``data`` to ``filename`` through a synced temporary file and
    ``os.replace``.  An existing file keeps its permission bits; a symlink is
    followed, so the file it points to is the one replaced."""
    path = os.path.realpath(os.fspath(filename))
    directory, base = os.path.split(path)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666 if mode is None else mode)
            break
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)  # not narrowed by the umask
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _sync_directory(directory)


def _sync_directory(directory: str) -> None:
    # Make the rename itself durable; not every platform can open a directory.
    try:
        dfd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - platform dependent
        return
    try:
        os.fsync(dfd)
    except OSError:  # pragma: no cover - platform dependent
        pass
    finally:
        os.close(dfd)
