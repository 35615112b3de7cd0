"""The journal's view of cloud runs: which are in flight, when to poll them, how they ended.

axiom's /run-data reports only the latest run of an automation name, so one run per
name is tracked at a time: the rows of the newest trigger of that name (from any
watch, since every watch shares the one key). `rows.run_status` holds:

    ''          not tracked (tracking off, or the trigger started no run)
    running     tracked: polled on `poll_at`, every `poll_seconds` (doubling)
    overlapped  a newer run of the same name started before this one ended: its own
                outcome can no longer be learnt, but it still counts toward
                `max_in_flight` until a newer run of the name is seen to end (runs of
                one name queue in order), when it becomes `untracked`
    untracked   ended or given up, outcome unknown
    success / failure
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sheetsync.adapters.store.journal import Journal
from sheetsync.adapters.store.journal_records import IN_FLIGHT_SQL, event, iso

TIMEOUT_MESSAGE = (
    "no final run status from axiom within {limit}; sheetsync stopped tracking this run"
)


@dataclass(frozen=True)
class Tracked:
    """The rows of one tracked run: one /run-data call answers for all of them."""

    automation: str
    rows: tuple[tuple[str, str], ...]
    """`(watch, row_id)` pairs: a batch trigger is one run for several rows."""
    poll_seconds: float


class RunLedger:
    """Run-tracking reads and writes on a `Journal` (its connection, lock and history)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def due(self, watch: str, now: datetime) -> list[Tracked]:
        """This watch's tracked runs whose next poll is due, one per automation name."""
        rows = self.journal._query(
            "SELECT automation, row_id, poll_seconds FROM rows WHERE watch = ?"
            " AND run_status = 'running' AND poll_at <= ? ORDER BY automation, row_id",
            (watch, iso(now)),
        )
        return _group((name, (watch, row_id), step) for name, row_id, step in rows)

    def running(self, names: Iterable[str]) -> list[Tracked]:
        """The tracked runs (of any watch) of these automation names, due or not."""
        wanted = sorted(set(names))
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        rows = self.journal._query(
            "SELECT automation, watch, row_id, poll_seconds FROM rows WHERE run_status ="
            f" 'running' AND automation IN ({marks}) ORDER BY automation, watch, row_id",
            wanted,
        )
        return _group((name, (watch, row_id), step) for name, watch, row_id, step in rows)

    def in_flight(self, watch: str) -> int:
        """Runs of this watch still running or queued, as far as sheetsync can tell."""
        rows = self.journal._query(
            f"SELECT COUNT(DISTINCT trigger_id) FROM rows WHERE watch = ? AND {IN_FLIGHT_SQL}",
            (watch,),
        )
        return int(rows[0][0])

    def polled(
        self, run: Tracked, state: str, raw: str, poll: tuple[datetime, float], now: datetime
    ) -> None:
        """Record a /run-data answer: reschedule a running run, or settle an ended one."""
        stamp = iso(now)
        with self.journal._transaction() as db:
            if state == "running":
                _reschedule(db, run, poll, stamp)
                return
            for watch, row_id in run.rows:
                db.execute(
                    "UPDATE rows SET run_status = ?, poll_at = '', updated_at = ?"
                    " WHERE watch = ? AND row_id = ? AND run_status = 'running'",
                    (state, stamp, watch, row_id),
                )
                event(db, stamp, watch, row_id, state, f"axiom /run-data: {raw}")
            # runs of one name queue in order: the older overlapped ones have ended too
            db.execute(
                "UPDATE rows SET run_status = 'untracked', updated_at = ?"
                " WHERE automation = ? AND run_status = 'overlapped'",
                (stamp, run.automation),
            )

    def poll_failed(
        self, run: Tracked, detail: str, poll: tuple[datetime, float], now: datetime
    ) -> None:
        """A poll that got no answer: keep the run tracked and try later (never re-trigger)."""
        stamp = iso(now)
        with self.journal._transaction() as db:
            _reschedule(db, run, poll, stamp)
            for watch, row_id in run.rows:
                event(db, stamp, watch, row_id, "poll failed", detail[:200])

    def expire(self, watch: str, cutoff: datetime, limit: str, now: datetime) -> int:
        """Stop tracking this watch's runs triggered before `cutoff`; return how many rows."""
        stamp = iso(now)
        message = TIMEOUT_MESSAGE.format(limit=limit)
        with self.journal._transaction() as db:
            stale = db.execute(
                f"SELECT row_id FROM rows WHERE watch = ? AND {IN_FLIGHT_SQL}"
                " AND triggered_at != '' AND triggered_at <= ?",
                (watch, iso(cutoff)),
            ).fetchall()
            for (row_id,) in stale:
                db.execute(
                    "UPDATE rows SET run_status = 'untracked', poll_at = '', message = ?,"
                    " updated_at = ? WHERE watch = ? AND row_id = ?",
                    (message, stamp, watch, row_id),
                )
                event(db, stamp, watch, row_id, "untracked", message)
        return len(stale)


def _reschedule(
    db: sqlite3.Connection, run: Tracked, poll: tuple[datetime, float], stamp: str
) -> None:
    poll_at, seconds = poll
    db.executemany(
        "UPDATE rows SET poll_at = ?, poll_seconds = ?, updated_at = ?"
        " WHERE watch = ? AND row_id = ? AND run_status = 'running'",
        [(iso(poll_at), seconds, stamp, watch, row_id) for watch, row_id in run.rows],
    )


def _group(rows: Iterable[tuple[str, tuple[str, str], float]]) -> list[Tracked]:
    grouped: dict[str, tuple[list[tuple[str, str]], float]] = {}
    for name, row, step in rows:
        grouped.setdefault(name, ([], step))[0].append(row)
    return [Tracked(name, tuple(rows), step) for name, (rows, step) in grouped.items()]
