"""The refresh lock: one scheduled refresh at a time on a working database.

An exclusive, non-blocking ``flock`` on ``<db>.refresh.lock``. The OS releases it when the
holding process dies, even by SIGKILL, so a crashed refresh never blocks the next one. The
file holds the holder's line (``pid N, started T``) while it runs and is emptied when it
ends; a line found by the next holder is the mark of a refresh that was killed.
``exclusive_lock`` is the bare lock, which `segmentation sync` takes per destination too.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO


class RefreshLocked(RuntimeError):
    """Another refresh is running."""


@dataclass(frozen=True)
class HeldLock:
    path: Path
    # the holder line a killed refresh left ("" when the last one ended normally)
    interrupted: str


def lock_path(db_file: Path) -> Path:
    return db_file.with_name(db_file.name + ".refresh.lock")


@contextmanager
def exclusive_lock(lock_file: Path) -> Iterator[TextIO | None]:
    """An exclusive, non-blocking flock on ``lock_file`` for the ``with`` block: yields the
    open file (read-write), or None at once when another process holds it."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        yield handle


@contextmanager
def refresh_lock(db_file: Path) -> Iterator[HeldLock]:
    """Hold the lock for the ``with`` block; raises RefreshLocked at once if it is held."""
    lock_file = lock_path(db_file)
    with exclusive_lock(lock_file) as handle:
        if handle is None:
            raise RefreshLocked(locked_message(lock_file.read_text().strip(), lock_file))
        handle.seek(0)
        left = handle.read().strip()
        _write(handle, f"pid {os.getpid()}, started {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}")
        try:
            yield HeldLock(lock_file, left)
        finally:
            _write(handle, "")


def _write(handle: TextIO, text: str) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(text)
    handle.flush()


def locked_message(holder: str, lock_file: Path) -> str:
    """What a refresh that finds the lock held says. The lock belongs to whoever has the
    file open: if the pid in it is gone, a process it forked (and that inherited the open
    file) still holds it, and waiting will not help until that one ends."""
    match = re.search(r"pid (\d+)", holder)
    if match and not _running(int(match.group(1))):
        return (
            f"the refresh lock {lock_file} is held, but its holder ({holder}) is not running: "
            f"a process it started still has the file open (`fuser {lock_file}` names it): "
            "exiting"
        )
    return f"another refresh is running ({holder or 'unknown process'}; lock {lock_file}): exiting"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True
