"""The local trigger ledger (SQLite, WAL): what was claimed, sent and answered, per row.

Record before acting: a claim is committed before the sheet shows it, `sending` is
committed before the POST leaves, and the outcome is committed before the sheet is
written. A process that dies at any instant leaves a journal from which the next
start can tell what happened; `recover()` turns every `sending` row into `unknown`.
This module owns the open journal: its lock, its one connection and the transaction
every write runs in. Opening the file (creation, permissions, schema versions) is
`journal_file`'s; the reads are `journal_reads`'s, the row writes `journal_writes`'s and
the checks of writes `journal_landing`'s.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sheetsync.adapters.store.journal_file import journal_error, open_file
from sheetsync.adapters.store.journal_landing import LandingRecords
from sheetsync.adapters.store.journal_reads import RowReads
from sheetsync.adapters.store.journal_writes import RowWrites
from sheetsync.adapters.store.lockfile import take_lock
from sheetsync.adapters.store.state_dir import private_dir


class Journal(RowWrites, RowReads, LandingRecords):
    """One SQLite file, one writer process (an exclusive lock file guards it)."""

    def __init__(
        self,
        path: Path,
        *,
        lock: bool = True,
        readonly: bool = False,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Open (creating) the journal; `readonly`: no lock, nothing written (check, status)."""
        self.path = path
        self._lock_file: IO[str] | None = None
        self._mutex = threading.RLock()  # one connection, shared by the scheduler's threads
        try:
            if not readonly:
                private_dir(path.parent)
                if lock:
                    self._lock_file = take_lock(path)
            opened = open_file(path, now, readonly=readonly)
        except BaseException as exc:
            self.close()
            if isinstance(exc, OSError):  # the folder or the lock file
                raise journal_error(exc, path, "cannot open the journal") from exc
            raise
        self.db = opened.db
        self.created = opened.created
        """This open made the journal: it knows no row (a lost journal starts like this)."""
        self.created_at = opened.created_at
        """When the journal was made (`""` when made before sheetsync recorded it)."""

    def close(self) -> None:
        """Close the database and release the lock."""
        db = getattr(self, "db", None)
        if db is not None:
            with self._mutex:  # never under another thread's query: sqlite would crash
                db.close()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; a SQLite error in it leaves as a `JournalError`."""
        with self._mutex:
            try:
                self.db.execute("BEGIN IMMEDIATE")
                try:
                    yield self.db
                    self.db.execute("COMMIT")
                except BaseException:
                    with suppress(sqlite3.Error):  # SQLite may have rolled back already
                        self.db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise journal_error(exc, self.path, "journal write failed") from exc

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """The rows a read returns; a SQLite error leaves as a `JournalError`."""
        with self._mutex:
            try:
                return self.db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise journal_error(exc, self.path, "journal read failed") from exc
