"""Moving a SQLite journal into an empty PostgreSQL database, so that nothing is sent again.

Everything a cycle decides by is copied: each row with its state, fingerprint, flags
and tracked run, the history, started marks, read plans, places, cycle summaries,
strays and unanswered writes, each budget's calls of the last minutes and an axiom
key's closed gate, and when the state was made. The journal's lock is held throughout
(no sheetsync may run on it), and the copy is one PostgreSQL transaction holding the
lease table, so no instance can start serving a spreadsheet half-way. A target that
already holds journal data, or that an instance is serving, is refused: merging two
journals could lose which rows were sent.

A `sending` row stays `sending`: the first holder of its spreadsheet turns it `unknown`
(recovery at takeover), never re-sending it. A tracked run keeps being tracked: in
`runs` (see `pg_settle`) each automation's overlapped rows become its first run and its
running rows its second, so a later run overlaps them and an end untracks them as the
SQLite journal does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sheetsync.adapters.store.budgets import KEEP_SECONDS
from sheetsync.adapters.store.journal import Journal
from sheetsync.adapters.store.journal_file import journal_error
from sheetsync.adapters.store.journal_records import iso
from sheetsync.adapters.store.pg_errors import translated
from sheetsync.adapters.store.pg_schema import migrate
from sheetsync.adapters.store.pg_text import nul_free
from sheetsync.adapters.store.settings import conninfo, shown_url
from sheetsync.config import Secret
from sheetsync.errors import JournalError, StoreError, StoreReason

if TYPE_CHECKING:
    import psycopg

JOURNAL_TABLES = (
    *("rows", "events", "watches", "plans", "places", "cycles", "outages"),
    *("runs", "tombstones", "late_outcomes"),
    *("strays", "unanswered"),
)
"""Tables of the target that must be empty: journal data already there is refused."""

_ROW_COLUMNS = (
    "watch, row_id, state, attempt, fingerprint, automation, link, message, triggered_at,"
    " run_status, waits, next_attempt_at, updated_at, wait_reason, trigger_id, poll_at,"
    " poll_seconds, checked, shown"
)

_STRAY_COLUMNS = "watch, row_id, fingerprint, wrote, prior, at, gone"

_PLAIN = (
    ("events", "id, at, watch, row_id, state, detail"),
    ("watches", "watch, started_at"),
    ("plans", "watch, plan"),
    ("places", "watch, row_id, row_number, preview"),
    ("cycles", "watch, at, held, settling, error"),
    ("outages", "budget, closed_at, strikes, cause"),
    ("unanswered", "watch, aims"),
)
"""Tables copied as they are: (table, columns), the same in both schemas."""


@dataclass(frozen=True)
class Migrated:
    """What a migration copied: rows per table of the target."""

    copied: dict[str, int] = field(default_factory=dict)


def migrate_state(
    path: Path,
    url: str,
    *,
    password: Secret | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Migrated:
    """Copy the journal at `path` into the empty database at `url` (migrated first)."""
    import psycopg

    where = shown_url(url)
    if not path.exists():  # opening would make a new, empty journal there
        raise JournalError(f"{path}: no journal there")
    journal = Journal(path, now=now)  # its lock: no sheetsync runs on it meanwhile
    try:
        with translated(where):
            conn = psycopg.connect(conninfo(url, password), autocommit=True, prepare_threshold=None)
        nul_free(conn)  # a SQLite journal may hold U+0000
        try:
            with translated(where):
                migrate(conn)
                with conn.transaction():
                    # no instance takes a spreadsheet (nor writes, fenced) until the commit
                    conn.execute("LOCK TABLE leases IN EXCLUSIVE MODE")
                    _refuse_used(conn, where)
                    return Migrated(_copy(journal, conn, now()))
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise journal_error(exc, path, "cannot read the journal") from exc
    finally:
        journal.close()


def _refuse_used(conn: psycopg.Connection[tuple[Any, ...]], where: str) -> None:
    """A target holding journal data, or served by an instance, is not overwritten."""
    for table in JOURNAL_TABLES:
        if conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
            raise StoreError(
                f"{where}: the database already holds sheetsync state (table {table} is not "
                "empty): migrate into an empty database",
                StoreReason.CONFLICT,
            )
    if conn.execute("SELECT 1 FROM leases WHERE holder <> '' AND expires_at > now()").fetchone():
        raise StoreError(
            f"{where}: a sheetsync instance is serving this database: stop every instance "
            "before migrating",
            StoreReason.CONFLICT,
        )


def _copy(
    journal: Journal, conn: psycopg.Connection[tuple[Any, ...]], now: datetime
) -> dict[str, int]:
    """Every table, inside the caller's transaction."""
    copied = {"rows": _copy_rows(journal, conn)}
    conn.execute(
        "INSERT INTO runs (automation, seq, updated_at) SELECT automation, max(run_seq), %s"
        " FROM rows WHERE run_seq > 0 GROUP BY automation",
        (iso(now),),
    )
    for table, columns in _PLAIN:
        copied[table] = _stream(
            conn, table, columns, _read(journal, f"SELECT {columns} FROM {table}")
        )
    conn.execute(
        "SELECT setval(pg_get_serial_sequence('events', 'id'), max(id)) FROM events"
        " HAVING max(id) IS NOT NULL"
    )
    strays = _read(journal, f"SELECT {_STRAY_COLUMNS} FROM strays")
    copied["strays"] = _stream(
        conn, "strays", _STRAY_COLUMNS, ((*r[:6], bool(r[6])) for r in strays)
    )
    copied["quota_calls"] = _copy_calls(journal, conn, now)
    copied["meta"] = _copy_meta(journal, conn, now)
    return copied


def _copy_rows(journal: Journal, conn: psycopg.Connection[tuple[Any, ...]]) -> int:
    """Rows as they are; SQLite's 0/1 flags as booleans; run numbers for `runs`."""
    found = _read(
        journal,
        f"SELECT {_ROW_COLUMNS}, CASE run_status WHEN 'running' THEN 2"
        " WHEN 'overlapped' THEN 1 ELSE 0 END FROM rows",
    )
    rows = ((*r[:17], bool(r[17]), bool(r[18]), r[19]) for r in found)  # checked, shown, run_seq
    return _stream(conn, "rows", f"{_ROW_COLUMNS}, run_seq", rows)


def _copy_calls(journal: Journal, conn: psycopg.Connection[tuple[Any, ...]], now: datetime) -> int:
    """Each budget's recent calls become the shared pace's (`quota_calls`): a call with no
    recorded end counts as ending now, as a restart counts it (see `budgets`)."""
    moment = now.timestamp()
    found = _read(
        journal,
        "SELECT budget, COALESCE(ended_at, ?), started_at FROM calls WHERE started_at > ?",
        (moment, moment - KEEP_SECONDS),
    )
    return _stream(conn, "quota_calls", "key, at, started", found)


def _copy_meta(journal: Journal, conn: psycopg.Connection[tuple[Any, ...]], now: datetime) -> int:
    """The journal's birth record replaces an empty database's; the migration is noted."""
    facts = [tuple(r) for r in _read(journal, "SELECT key, value FROM meta")]
    facts += [("migrated_at", iso(now)), ("migrated_from", str(journal.path))]
    conn.cursor().executemany(
        "INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        facts,
    )
    return len(facts)


def _read(journal: Journal, sql: str, params: tuple[object, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """A SQLite query's rows one by one (a big journal is never held in memory whole)."""
    yield from journal.db.execute(sql, params)


def _stream(
    conn: psycopg.Connection[tuple[Any, ...]], table: str, columns: str, rows: Iterator[Any]
) -> int:
    """COPY rows into a table; how many."""
    count = 0
    with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count
