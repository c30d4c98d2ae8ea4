"""Atomic file and directory replacement, and the home's run lock.

A reader (an analyst's DuckDB, a later stage) sees either the old or the new
file, never a half-written one: files are written beside their target under a
name no reader globs (``.<name>.tmp-<pid>``), fsynced, then renamed over it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from rebill.errors import LockedError

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def temp_path(target: Path) -> Path:
    """A sibling path for writing ``target`` that no ``*.parquet`` glob matches."""
    return target.with_name(f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit_file(tmp: Path, target: Path) -> None:
    """fsync ``tmp`` and rename it over ``target`` (atomic on POSIX)."""
    with tmp.open("rb+") as fh:
        os.fsync(fh.fileno())
    tmp.replace(target)
    _fsync_dir(target.parent)


@contextlib.contextmanager
def atomic_write(target: Path) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``target`` atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(target)
    try:
        yield tmp
        commit_file(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with renameat2(RENAME_EXCHANGE); False if unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    fn = getattr(libc, "renameat2", None)
    if fn is None:
        return False
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(rc == 0)


def replace_dir(staged: Path, target: Path) -> None:
    """Make directory ``staged`` become ``target`` atomically, dropping the old one."""
    if target.exists():
        if _exchange(staged, target):
            shutil.rmtree(staged)
        else:  # pragma: no cover - non-Linux fallback, brief window without target
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            target.rename(old)
            staged.rename(target)
            shutil.rmtree(old)
    else:
        staged.rename(target)
    _fsync_dir(target.parent)


@contextlib.contextmanager
def home_lock(home: Path, name: str = "run", wait: float = 0.0) -> Iterator[None]:
    """Hold ``<home>/state/<name>.lock``; waits up to ``wait`` seconds, then LockedError."""
    path = home / "state" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockedError(
                        f"another rebill run holds {path}; wait for it to finish "
                        "(or pass --wait SECONDS)"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
