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
import re
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


# Staging names that carry their writer's pid: a rating run's folder
# (``rated-2024-09-4242``) and :func:`temp_path` files (``.x.tmp-4242-1a2b3c4d``).
_OWNER = re.compile(r"^(?:rated-\d{4}-\d{2}-(\d+)|\..+\.tmp-(\d+)-[0-9a-f]{8})$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def clean_stale_staging(staging: Path) -> list[Path]:
    """Remove what killed runs left in ``staging`` (``<home>/tmp``); returns what went.

    Only entries whose name ends in their writer's pid and whose process is
    gone are removed (anywhere below ``staging``): a live run's staging, or
    a file without an owner, is never touched.
    """
    removed: list[Path] = []
    if not staging.is_dir():
        return removed
    for path in sorted(staging.rglob("*"), key=lambda p: len(p.parts)):
        match = _OWNER.match(path.name)
        if match is None or not path.exists() or _alive(int(match[1] or match[2])):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed
