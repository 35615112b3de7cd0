"""Record before acting: the journal's writes, each one committed transaction.

A claim is committed before the sheet shows it, `sending` is committed before the POST
leaves, and the outcome is committed before the sheet is written; `recover()` turns
every `sending` row into `unknown` at the next start.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from sheetsync.adapters.store.journal_records import (
    SKIPPED_MESSAGE,
    UNKNOWN_MESSAGE,
    Outcome,
    event,
    iso,
    start_run,
)
from sheetsync.core.model import Entry


class RowWrites:
    """Methods of `Journal` (a mixin): it provides `transaction`."""

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

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
            with self._transaction() as db:
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

    def save_plan(self, watch: str, plan: str | None) -> None:
        """Keep (or, with `None`, forget) a watch's narrow-read plan."""
        with self._transaction() as db:
            if plan is None:
                db.execute("DELETE FROM plans WHERE watch = ?", (watch,))
            else:
                db.execute("INSERT OR REPLACE INTO plans VALUES (?, ?)", (watch, plan))

    def mark_checked(self, watch: str, row_ids: Iterable[str]) -> None:
        """These claims were found on the row holding their inputs (and written there)."""
        ids = [(watch, row_id) for row_id in row_ids]
        if ids:
            with self._transaction() as db:
                db.executemany("UPDATE rows SET checked = 1 WHERE watch = ? AND row_id = ?", ids)

    def mark_started(self, watch: str, now: datetime) -> None:
        """Remember that a watch had its first cycle (for `start_from = "now"`)."""
        with self._transaction() as db:
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
        with self._transaction() as db:
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
        with self._transaction() as db:
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
        with self._transaction() as db:
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
        with self._transaction() as db:
            for row_id in row_ids:
                db.execute(
                    "UPDATE rows SET next_attempt_at = ?, message = ?, updated_at = ?"
                    " WHERE watch = ? AND row_id = ? AND state = 'waiting'",
                    (iso(until), message, stamp, watch, row_id),
                )
            if row_ids:
                event(db, stamp, watch, "*", "waiting", message[:200])

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
        with self._transaction() as db:
            for row_id in row_ids:
                db.execute(
                    f"UPDATE rows SET {assignments}, updated_at = ?"
                    f" WHERE watch = ? AND row_id = ?{condition}",
                    (stamp, watch, row_id),
                )
                event(db, stamp, watch, row_id, *history)

    def note(self, watch: str, row_id: str, state: str, detail: str, now: datetime) -> None:
        """Add a history line without changing a row."""
        with self._transaction() as db:
            event(db, iso(now), watch, row_id, state, detail)

    def recover(self, now: datetime) -> int:
        """At start: rows whose trigger may have left without an answer become `unknown`."""
        stamp = iso(now)
        with self._transaction() as db:
            stuck = db.execute("SELECT watch, row_id FROM rows WHERE state = 'sending'").fetchall()
            for watch, row_id in stuck:
                db.execute(
                    "UPDATE rows SET state = 'unknown', message = ?, updated_at = ?"
                    " WHERE watch = ? AND row_id = ?",
                    (UNKNOWN_MESSAGE, stamp, watch, row_id),
                )
                event(db, stamp, watch, row_id, "unknown", "recovered after a stop")
        return len(stuck)
