"""The state file's lock: one sheetsync process per journal."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from sheetsync.errors import JournalError


def take_lock(path: Path) -> IO[str]:
    """Hold an exclusive lock on `<path>.lock` (holding our pid) for the life of the process."""
    lock_path = path.with_name(path.name + ".lock")
    handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the process life
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "another process"
        handle.close()
        raise JournalError(
            f"{path}: another sheetsync (pid {owner}) is using this state file; "
            "stop it first or give this one its own [state] path"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
