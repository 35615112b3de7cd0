"""The local trigger ledger (SQLite, WAL): what was claimed, sent and answered, per row.

Record before acting: a claim is committed before the sheet shows it, `sending` is
committed before the POST leaves, and the outcome is committed before the sheet is
written. A process that dies at any instant leaves a journal from which the next
start can tell what happened; `recover()` turns every `sending` row into `unknown`.
Opening the file (creation, permissions, schema versions) is `journal_file`'s.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sheetsync.adapters.store.journal_file import journal_error, open_file
from sheetsync.adapters.store.journal_landing import LandingRecords
from sheetsync.adapters.store.journal_records import (
    SKIPPED_MESSAGE,
    UNKNOWN_MESSAGE,
    Event,
    Outcome,
    event,
    iso,
    start_run,
)
from sheetsync.adapters.store.lockfile import take_lock
from sheetsync.adapters.store.state_dir import private_dir
from sheetsync.core.plan import Entry


class Journal(LandingRecords):
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
    def transaction(self) -> Iterator[sqlite3.Connection]:
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

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """The rows a read returns; a SQLite error leaves as a `JournalError`."""
        with self._mutex:
            try:
                return self.db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise journal_error(exc, self.path, "journal read failed") from exc

    # -- reads ---------------------------------------------------------------
    def _select(self, now: datetime, where: str, params: Sequence[object]) -> dict[str, Entry]:
        """Entries (by row id) of the rows `WHERE where`."""
        due = iso(now)
        return {r[0]: _entry(r, due) for r in self.query(f"{_ENTRY_COLUMNS} WHERE {where}", params)}

    def entries(self, watch: str, now: datetime) -> dict[str, Entry]:
        """Every row of a watch as the plan sees it."""
        return self._select(now, "watch = ?", (watch,))

    def unshown(self, watch: str, now: datetime) -> dict[str, Entry]:
        """Rows whose result cells changed since the sheet was last written with them."""
        return self._select(now, "watch = ? AND shown = 0", (watch,))

    def entries_needed(self, watch: str, now: datetime, row_ids: Iterable[str]) -> dict[str, Entry]:
        """What a narrow cycle needs: rows not shown yet, claims, waiting rows, and `row_ids`."""
        found: dict[str, Entry] = {}
        for condition in (  # one query each: every one is served by a partial index
            "shown = 0",
            "checked = 0",
            "state IN ('claimed', 'waiting', 'abandoned', 'sending')",
        ):
            found.update(self._select(now, f"watch = ? AND {condition}", (watch,)))
        wanted = [rid for rid in dict.fromkeys(row_ids) if rid not in found]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(self._select(now, f"watch = ? AND row_id IN ({marks})", (watch, *chunk)))
        return found

    def has_unchecked(self, watch: str) -> bool:
        """Whether a claim of this watch was not yet seen on the row holding its inputs."""
        found = self.query("SELECT 1 FROM rows WHERE watch = ? AND checked = 0 LIMIT 1", (watch,))
        return bool(found)

    def mark_shown(
        self, watch: str, shown: Iterable[Entry], places: Mapping[str, int] | None = None
    ) -> None:
        """The sheet now shows these rows' result cells as the entries hold them, and the
        rows just written (`places`: row id -> row number) are where `sheetsync status`
        finds them.

        A row whose cells changed since its entry was read stays unshown (a trigger's
        outcome can land between a flush's projection and its write).
        """
        rows = [
            (watch, e.row_id, e.state, e.link, e.message, e.triggered_at, e.run_status)
            for e in shown
        ]
        if rows or places:
            with self.transaction() as db:
                db.executemany(
                    "UPDATE rows SET shown = 1 WHERE watch = ? AND row_id = ? AND shown = 0"
                    " AND state = ? AND link = ? AND message = ? AND triggered_at = ?"
                    " AND run_status = ?",
                    rows,
                )
                db.executemany(
                    "INSERT INTO places (watch, row_id, row_number) VALUES (?, ?, ?)"
                    " ON CONFLICT (watch, row_id) DO UPDATE SET row_number = excluded.row_number",
                    [(watch, row_id, number) for row_id, number in (places or {}).items()],
                )

    def read_plan(self, watch: str) -> str | None:
        """The narrow-read plan saved by the watch's last cycle."""
        found = self.query("SELECT plan FROM plans WHERE watch = ?", (watch,))
        return str(found[0][0]) if found else None

    def save_plan(self, watch: str, plan: str | None) -> None:
        """Keep (or, with `None`, forget) a watch's narrow-read plan."""
        with self.transaction() as db:
            if plan is None:
                db.execute("DELETE FROM plans WHERE watch = ?", (watch,))
            else:
                db.execute("INSERT OR REPLACE INTO plans VALUES (?, ?)", (watch, plan))

    def mark_checked(self, watch: str, row_ids: Iterable[str]) -> None:
        """These claims were found on the row holding their inputs (and written there)."""
        ids = [(watch, row_id) for row_id in row_ids]
        if ids:
            with self.transaction() as db:
                db.executemany("UPDATE rows SET checked = 1 WHERE watch = ? AND row_id = ?", ids)

    def has_started(self, watch: str) -> bool:
        """Whether this watch ever completed a first cycle on this journal."""
        return bool(self.query("SELECT 1 FROM watches WHERE watch = ?", (watch,)))

    def counts(self, watch: str) -> dict[str, int]:
        """Rows per state."""
        cursor = self.query(
            "SELECT state, COUNT(*) FROM rows WHERE watch = ? GROUP BY state ORDER BY state",
            (watch,),
        )
        return {state: count for state, count in cursor}

    def waits(self, watch: str, row_ids: Iterable[str]) -> dict[str, int]:
        """How many times in a row each row has been put to `waiting`."""
        ids = list(row_ids)
        marks = ",".join("?" * len(ids))
        rows = self.query(
            f"SELECT row_id, waits FROM rows WHERE watch = ? AND row_id IN ({marks})",
            (watch, *ids),
        )
        return {r[0]: r[1] for r in rows}

    def latest(self, watch: str, limit: int = 10) -> list[Event]:
        """The newest events of a watch, newest first."""
        cursor = self.query(
            "SELECT at, row_id, state, detail FROM events WHERE watch = ? ORDER BY id DESC LIMIT ?",
            (watch, limit),
        )
        return [Event(*r) for r in cursor]

    # -- writes ----------------------------------------------------------------
    def mark_started(self, watch: str, now: datetime) -> None:
        """Remember that a watch had its first cycle (for `start_from = "now"`)."""
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO watches VALUES (?, ?)", (watch, iso(now)))

    def claim(
        self,
        watch: str,
        rows: Sequence[tuple[str, str, str]],
        now: datetime,
        places: Sequence[tuple[str, int, str]] = (),
    ) -> None:
        """Record `(row_id, fingerprint, automation)` rows as claimed, before anything is
        sent, and (`places`) each one's `(row_id, row_number, preview)` for `status`."""
        stamp = iso(now)
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO places VALUES (?, ?, ?, ?)",
                [(watch, row_id, number, text) for row_id, number, text in places],
            )
            for row_id, fp, automation in rows:
                db.execute(
                    "INSERT INTO rows (watch, row_id, state, attempt, fingerprint, automation,"
                    " updated_at, checked) VALUES (?, ?, 'claimed', 1, ?, ?, ?, 0)"
                    " ON CONFLICT (watch, row_id) DO UPDATE SET state = 'claimed', checked = 0,"
                    " attempt = attempt + 1, fingerprint = excluded.fingerprint,"
                    " automation = excluded.automation, link = '', message = '',"
                    " run_status = '', poll_at = '', trigger_id = '', wait_reason = '',"
                    " updated_at = excluded.updated_at",
                    (watch, row_id, fp, automation, stamp),
                )
                event(db, stamp, watch, row_id, "claimed", automation)

    def skip(self, watch: str, rows: Sequence[tuple[str, str]], now: datetime) -> None:
        """Record `(row_id, fingerprint)` rows as skipped (present before the first cycle)."""
        stamp = iso(now)
        with self.transaction() as db:
            # an earlier first cycle's skips are kept, also those no row holds (a skip write
            # that missed its row): an undo may bring the row back (`first_cycle.returning`)
            db.executemany(
                "INSERT OR IGNORE INTO rows (watch, row_id, state, fingerprint, message,"
                " updated_at) VALUES (?, ?, 'skipped', ?, ?, ?)",
                [(watch, rid, fp, SKIPPED_MESSAGE, stamp) for rid, fp in rows],
            )
            event(db, stamp, watch, "*", "skipped", f"{len(rows)} rows present at the first cycle")

    def mark_sending(self, watch: str, row_ids: Sequence[str], now: datetime) -> None:
        """Commit that these rows' trigger is about to leave (durable before the POST)."""
        self._move(watch, row_ids, now, "state = 'sending'", "", ("sending", ""))

    def mark_unsent(self, watch: str, row_ids: Sequence[str], now: datetime) -> None:
        """The trigger did not leave after all (axiom refused it; a retry follows): claimed."""
        history = ("claimed", "not taken by axiom; sent again after a wait")
        self._move(watch, row_ids, now, "state = 'claimed'", " AND state = 'sending'", history)

    def record(
        self,
        watch: str,
        row_ids: Sequence[str],
        outcome: Outcome,
        now: datetime,
        *,
        poll: tuple[datetime, float] | None = None,
    ) -> None:
        """Commit a trigger's outcome for its rows (before the sheet is written).

        A started or queued run supersedes the tracked run of its automation; with
        `poll = (first_poll_at, poll_seconds)` the new run is tracked itself.
        """
        stamp = iso(now)
        next_at = iso(outcome.next_attempt_at) if outcome.next_attempt_at else ""
        started = outcome.state in {"triggered", "queued"}
        with self.transaction() as db:
            for row_id in row_ids:
                db.execute(
                    "UPDATE rows SET state = ?, link = ?, message = ?, triggered_at = ?,"
                    " next_attempt_at = ?, wait_reason = ?, waits = CASE WHEN ? = 'waiting'"
                    " THEN waits + 1 ELSE 0 END, updated_at = ? WHERE watch = ? AND row_id = ?",
                    (
                        outcome.state,
                        outcome.link,
                        outcome.message,
                        stamp if started else "",
                        next_at,
                        outcome.reason if outcome.state == "waiting" else "",
                        outcome.state,
                        stamp,
                        watch,
                        row_id,
                    ),
                )
                event(db, stamp, watch, row_id, outcome.state, outcome.message[:200])
            if started and row_ids:
                start_run(db, watch, row_ids, stamp, poll)

    def postpone(
        self, watch: str, row_ids: Sequence[str], until: datetime, message: str, now: datetime
    ) -> None:
        """Keep `waiting` rows waiting until `until`, with a new explanation."""
        stamp = iso(now)
        with self.transaction() as db:
            for row_id in row_ids:
                db.execute(
                    "UPDATE rows SET next_attempt_at = ?, message = ?, updated_at = ?"
                    " WHERE watch = ? AND row_id = ? AND state = 'waiting'",
                    (iso(until), message, stamp, watch, row_id),
                )
            if row_ids:
                event(db, stamp, watch, "*", "waiting", message[:200])

    def due_waiting(self, watch: str, reason: str, now: datetime) -> list[str]:
        """Rows `waiting` for `reason` whose next attempt is due."""
        rows = self.query(
            "SELECT row_id FROM rows WHERE watch = ? AND state = 'waiting' AND wait_reason = ?"
            " AND next_attempt_at <= ?",  # no ORDER BY: SQLite would walk the whole watch
            (watch, reason, iso(now)),
        )
        return sorted(r[0] for r in rows)

    def abandon(self, watch: str, row_ids: Sequence[str], now: datetime) -> None:
        """Give up claims that were never sent and whose row is gone from the sheet.

        The row is kept as `abandoned`: if it comes back (an undone delete), it is new.
        """
        self._move(
            watch,
            row_ids,
            now,
            "state = 'abandoned', checked = 1",
            " AND state = 'claimed'",
            ("abandoned", "claimed row left the sheet"),
        )

    def _move(
        self,
        watch: str,
        row_ids: Sequence[str],
        now: datetime,
        assignments: str,
        condition: str,
        history: tuple[str, str],
    ) -> None:
        """One committed transition of rows (`SET assignments WHERE ... condition`), logged."""
        stamp = iso(now)
        with self.transaction() as db:
            for row_id in row_ids:
                db.execute(
                    f"UPDATE rows SET {assignments}, updated_at = ?"
                    f" WHERE watch = ? AND row_id = ?{condition}",
                    (stamp, watch, row_id),
                )
                event(db, stamp, watch, row_id, *history)

    def note(self, watch: str, row_id: str, state: str, detail: str, now: datetime) -> None:
        """Add a history line without changing a row."""
        with self.transaction() as db:
            event(db, iso(now), watch, row_id, state, detail)

    def recover(self, now: datetime) -> int:
        """At start: rows whose trigger may have left without an answer become `unknown`."""
        stamp = iso(now)
        with self.transaction() as db:
            stuck = db.execute("SELECT watch, row_id FROM rows WHERE state = 'sending'").fetchall()
            for watch, row_id in stuck:
                db.execute(
                    "UPDATE rows SET state = 'unknown', message = ?, updated_at = ?"
                    " WHERE watch = ? AND row_id = ?",
                    (UNKNOWN_MESSAGE, stamp, watch, row_id),
                )
                event(db, stamp, watch, row_id, "unknown", "recovered after a stop")
        return len(stuck)


_ENTRY_COLUMNS = (
    "SELECT row_id, state, fingerprint, link, message, triggered_at, run_status,"
    " next_attempt_at, checked, shown FROM rows"
)


def _entry(r: tuple[Any, ...], due: str) -> Entry:
    return Entry(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        r[5],
        r[6],
        r[1] == "waiting" and r[7] <= due,
        bool(r[8]),
        bool(r[9]),
    )
