"""The state directory: made private, and whether `run` could write the journal there.

The journal holds viewer links whose URLs carry VNC passwords: the directory sheetsync
creates is 0700 and every state file 0600, whatever the umask.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE = 0o600
"""Mode of every file of the state: the journal, its -wal and -shm, the lock."""
PRIVATE_DIR = 0o700
"""Mode of a state directory sheetsync creates."""


def private_dir(folder: Path) -> None:
    """Create the state directory (0700 whatever the umask); an existing one is left as is."""
    if not folder.is_dir():
        folder.mkdir(parents=True, mode=PRIVATE_DIR, exist_ok=True)
        os.chmod(folder, PRIVATE_DIR)


def shared_mode(path: Path) -> int | None:
    """The journal's mode when group or others may read it (else `None`)."""
    info = path.stat()
    if stat.S_ISREG(info.st_mode) and info.st_mode & (stat.S_IRGRP | stat.S_IROTH):
        return stat.S_IMODE(info.st_mode)
    return None


def unwritable(path: Path) -> str | None:
    """Why `run` could not write the journal at `path`, or `None` when it could."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # `run` creates the missing ones
    with contextlib.suppress(OSError):
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"{folder} is on a read-only filesystem"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"folder {folder} is not writable by this user"
    lock = path.with_name(path.name + ".lock")
    for needed in (path, lock):
        if needed.exists() and not os.access(needed, os.R_OK | os.W_OK):
            return f"{needed} is not readable and writable by this user"
    return None
