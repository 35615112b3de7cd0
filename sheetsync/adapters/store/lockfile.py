"""The state file's lock: one sheetsync process per journal."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO

from sheetsync.adapters.store.state_dir import PRIVATE
from sheetsync.errors import JournalError, JournalReason


def take_lock(path: Path) -> IO[str]:
    """Hold an exclusive lock on `<path>.lock` (holding our pid) for the life of the process."""
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, PRIVATE)
    with contextlib.suppress(PermissionError):  # the umask may have narrowed it; not ours: leave it
        os.fchmod(fd, PRIVATE)
    handle = os.fdopen(fd, "r+", encoding="utf-8")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        owner = handle.read().strip() or "another process"
        handle.close()
        raise JournalError(
            f"{path}: another sheetsync (pid {owner}) is using this state file; "
            "stop it first or give this one its own [state] path",
            JournalReason.LOCKED,
        ) from exc
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
