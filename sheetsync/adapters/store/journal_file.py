"""Opening the journal's SQLite file: private, complete, and of a schema this sheetsync knows.

A new journal is built beside its path and moved into place whole, so a file at the path
is always one some sheetsync finished: an empty, truncated or foreign file there is
damage, reported by name and never replaced. A newer schema version, or a row state this
sheetsync does not know, means a newer sheetsync wrote the file: refused, since projecting
states it does not know would blank status cells. Every SQLite error leaves as a
`JournalError`.

Schema changes: an additive one (a table, an index, a column with a default) goes into
`journal_records` (`SCHEMA`, `TRIGGERS`, `ADDED_COLUMNS`) and reaches every journal at
its next writable open, with no new version; one an older sheetsync would misread gets a
version of its own, a step appended to `MIGRATIONS` (`PRAGMA user_version` counts them).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sheetsync.adapters.store.journal_records import (
    ADDED_COLUMNS,
    META,
    RUN_STATES,
    SCHEMA,
    STATES,
    TRIGGERS,
    iso,
)
from sheetsync.adapters.store.state_dir import PRIVATE, shared_mode
from sheetsync.distribution import installed_version
from sheetsync.errors import JournalError, JournalReason

log = logging.getLogger("sheetsync.journal")

_DAMAGED_CODES = frozenset({"SQLITE_NOTADB", "SQLITE_CORRUPT"})
_RESTORE = "restore it from a backup, or move it away to let sheetsync start a new journal"


def _shape(db: sqlite3.Connection) -> None:
    """The current tables, columns, indexes and `meta`, each added where missing."""
    _script(db, SCHEMA)
    present = {row[1] for row in db.execute("PRAGMA table_info(rows)")}
    for name, declaration in ADDED_COLUMNS.items():
        if name not in present:
            db.execute(f"ALTER TABLE rows ADD COLUMN {name} {declaration}")
    _script(db, TRIGGERS)
    db.execute(META)


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_shape,)
"""`MIGRATIONS[n]` takes a journal of version n to n + 1. Version 1 is every journal from
before versions, brought to the current shape and given `meta`."""
SCHEMA_VERSION = len(MIGRATIONS)
"""The schema version this sheetsync writes (`PRAGMA user_version`)."""


@dataclass(frozen=True)
class Opened:
    """An open journal database and what its opening found."""

    db: sqlite3.Connection
    created: bool
    """This open made the file: a journal that knows no row yet."""
    created_at: str
    """When the journal was made (`""` for journals from before versions)."""


def journal_error(exc: sqlite3.Error | OSError, path: Path, doing: str) -> JournalError:
    """A SQLite or file error as a one-line `JournalError` naming the file."""
    if isinstance(exc, OSError):
        return JournalError(f"{path}: {doing}: {exc.strerror or exc}")
    code = getattr(exc, "sqlite_errorname", "")
    if code.startswith(tuple(_DAMAGED_CODES)):
        return JournalError(
            f"{path}: the journal is damaged ({exc}); {_RESTORE}", JournalReason.DAMAGED
        )
    return JournalError(f"{path}: {doing}: {exc}")


def open_file(path: Path, now: Callable[[], datetime], *, readonly: bool = False) -> Opened:
    """Open (or, writable and missing, create) the journal at `path`; raise `JournalError`."""
    doing = "cannot open the journal"
    try:
        if readonly:
            return _open_readonly(path)
        created = False
        if not path.exists():
            _refuse_orphan_wal(path)
            _create(path, now())
            created = True
        elif (mode := shared_mode(path)) is not None:
            log.warning(
                "journal %s is readable by others (mode %04o) and holds viewer links; "
                "run: chmod 600 %s",
                path,
                mode,
                path,
            )
        db = _connect(path)
        try:
            version = _version(db, path)  # before WAL mode, which would write an empty file
            _write_ahead(db)
            _migrate(db, version, path)
            _refuse_unknown_states(db, path)
            return Opened(db, created, _created_at(db))
        except BaseException:
            db.close()
            raise
    except (sqlite3.Error, OSError) as exc:
        raise journal_error(exc, path, doing) from exc


def _connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    target = f"{path.absolute().as_uri()}?mode=ro" if readonly else str(path)
    db = sqlite3.connect(target, uri=readonly, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA busy_timeout=5000")
    return db


def _write_ahead(db: sqlite3.Connection) -> None:
    """WAL with synchronous commits: a commit is on disk before the POST it precedes leaves."""
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")


def _open_readonly(path: Path) -> Opened:
    """Read without writing: an older schema is migrated in a copy held in memory."""
    if not path.exists():
        raise JournalError(f"{path}: no journal there")
    db = _connect(path, readonly=True)
    try:
        version = _version(db, path)
        if version < SCHEMA_VERSION:
            copy = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            db.backup(copy)
            db.close()
            db = copy
            _migrate(db, version, None)
        _refuse_unknown_states(db, path)
        return Opened(db, False, _created_at(db))
    except BaseException:
        db.close()
        raise


def _refuse_orphan_wal(path: Path) -> None:
    """A crash's write-ahead log beside a missing journal would be replayed into a new one."""
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise JournalError(
            f"{path} is missing but its write-ahead log {wal} is there (the journal was "
            f"deleted or moved without it): put the journal back, or move {wal} away too "
            "to start a new journal",
            JournalReason.DAMAGED,
        )


def _create(path: Path, now: datetime) -> None:
    """Build a new journal beside `path` (0600), then move it into place whole."""
    draft = path.with_name(f".{path.name}.new")
    for leftover in (draft, *_companions(draft)):  # an interrupted earlier attempt's
        leftover.unlink(missing_ok=True)
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    os.fchmod(fd, PRIVATE)  # whatever the umask; SQLite gives its -wal and -shm this mode
    os.close(fd)
    db = _connect(draft)
    try:
        _write_ahead(db)
        _migrate(db, 0, None)
        db.execute(
            "INSERT INTO meta VALUES ('created_at', ?), ('created_by', ?)",
            (iso(now), f"sheetsync {installed_version()}"),
        )
    finally:
        db.close()
    os.replace(draft, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the new name survives a power cut
    finally:
        os.close(directory)
    log.info("created a new journal at %s", path)


def _companions(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def _version(db: sqlite3.Connection, path: Path) -> int:
    """The schema version of a journal this sheetsync can read (else `JournalError`)."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise JournalError(
            f"{path}: written by a newer sheetsync (journal schema {version}; this one knows "
            f"up to {SCHEMA_VERSION}): upgrade sheetsync, or point [state] path elsewhere",
            JournalReason.NEWER,
        )
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "rows" not in tables:
        what = "empty (truncated?)" if not tables else "not a sheetsync journal"
        raise JournalError(f"{path}: the journal is {what}; {_RESTORE}", JournalReason.DAMAGED)
    return version


def _migrate(db: sqlite3.Connection, version: int, path: Path | None) -> None:
    """Bring the schema from `version` to `SCHEMA_VERSION`, then add what is missing of
    the current shape; one transaction per step."""
    for step in range(version, SCHEMA_VERSION):
        _in_transaction(db, MIGRATIONS[step], step + 1)
    _in_transaction(db, _shape, SCHEMA_VERSION)
    if path is not None and version < SCHEMA_VERSION:
        log.info("journal %s: schema version %d -> %d", path, version, SCHEMA_VERSION)


def _in_transaction(
    db: sqlite3.Connection, step: Callable[[sqlite3.Connection], None], version: int
) -> None:
    db.execute("BEGIN IMMEDIATE")
    try:
        step(db)
        db.execute(f"PRAGMA user_version = {version}")
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise


def _refuse_unknown_states(db: sqlite3.Connection, path: Path) -> None:
    """Row and run states this sheetsync does not write come from a newer one."""
    states = {state for (state,) in db.execute("SELECT DISTINCT state FROM rows")}  # an index
    runs = {run for (run,) in db.execute("SELECT DISTINCT run_status FROM rows")}
    unknown = [f"row state {s!r}" for s in sorted(states - STATES)]
    unknown += [f"run status {r!r}" for r in sorted(runs - RUN_STATES)]
    if unknown:
        raise JournalError(
            f"{path}: {unknown[0]} is unknown to this sheetsync: a newer sheetsync wrote this "
            "journal; upgrade sheetsync (refused, so that no status cell is blanked)",
            JournalReason.NEWER,
        )


def _created_at(db: sqlite3.Connection) -> str:
    found = db.execute("SELECT value FROM meta WHERE key = 'created_at'").fetchone()
    return str(found[0]) if found else ""


def _script(db: sqlite3.Connection, script: str) -> None:
    """Run a script's statements inside the open transaction (`executescript` commits)."""
    for statement in _statements(script):
        db.execute(statement)


def _statements(script: str) -> Iterator[str]:
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""
