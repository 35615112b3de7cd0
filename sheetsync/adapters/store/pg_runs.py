"""Outcomes and run tracking on PostgreSQL (`Journal.record` and `RunLedger`).

Cross-spreadsheet effects of a run go through `pg_settle`, never a transaction that
writes rows of two units.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sheetsync.adapters.store.journal_records import IN_FLIGHT_SQL, Outcome, iso
from sheetsync.adapters.store.pg_bulk import (
    Statement,
    each_batch,
    histories,
    history,
    history_of,
    rows_of,
    run,
)
from sheetsync.adapters.store.pg_errors import translated
from sheetsync.adapters.store.pg_settle import RunFacts
from sheetsync.adapters.store.runs import TIMEOUT_MESSAGE, Tracked
from sheetsync.errors import LeaseLostError

_OUTCOME = (
    "UPDATE rows SET state = %s, link = %s, message = %s, triggered_at = %s,"
    " next_attempt_at = %s, wait_reason = %s, waits = CASE WHEN %s = 'waiting'"
    " THEN waits + 1 ELSE 0 END, updated_at = %s WHERE watch = %s AND row_id IN"
    " (SELECT row_id FROM " + rows_of("row_id text") + " u)"
)

_RESCHEDULE = (
    "UPDATE rows r SET poll_at = %s, poll_seconds = %s, updated_at = %s FROM "
    + rows_of("watch text", "row_id text")
    + " u WHERE r.watch = u.watch AND r.row_id = u.row_id"
    " AND r.run_status IS NOT DISTINCT FROM 'running'"
)
"""Joined by the primary key alone (see `pg_bulk`): `run_status = 'running'` would let the
planner scan `rows_polled` (every running row of the watch) for each row of the batch."""


class RunSql(RunFacts):
    """Outcomes (`record`) and `RunLedger`'s reads and writes."""

    def record(
        self,
        watch: str,
        row_ids: Sequence[str],
        outcome: Outcome,
        now: datetime,
        *,
        poll: tuple[datetime, float] | None = None,
    ) -> None:
        """Commit a trigger's outcome; under a lost lease, leave it for the new holder."""
        stamp = iso(now)
        statements = outcome_of(watch, row_ids, outcome, stamp)
        try:
            with self._tx(watch) as conn:
                self._outcome(conn, watch, row_ids, outcome, stamp, poll, statements)
        except LeaseLostError as lost:
            # unfenced on purpose: the mailbox the unit's new holder reads
            with translated(self.where), self._pool.connection() as conn:
                conn.execute(
                    "INSERT INTO late_outcomes (watch, row_ids, epoch, state, link, message,"
                    " next_attempt_at, reason, at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        watch,
                        list(row_ids),
                        lost.epoch,
                        outcome.state,
                        outcome.link,
                        outcome.message,
                        iso(outcome.next_attempt_at) if outcome.next_attempt_at else "",
                        outcome.reason,
                        iso(now),
                    ),
                )
            raise
        if outcome.state in {"triggered", "queued"}:
            self._settle_held(exclude=self._unit(watch))

    def _outcome(
        self,
        conn: Any,
        watch: str,
        row_ids: Sequence[str],
        outcome: Outcome,
        stamp: str,
        poll: tuple[datetime, float] | None,
        statements: list[Statement] | None = None,
    ) -> None:
        """`Journal.record`'s statements inside an open fenced transaction (`statements`:
        built beforehand, outside it); a started or queued run supersedes the tracked run
        of its automation."""
        run(conn, outcome_of(watch, row_ids, outcome, stamp) if statements is None else statements)
        if outcome.state in {"triggered", "queued"} and row_ids:
            self._start_run(conn, watch, row_ids, stamp, poll)

    # -- RunLedger -------------------------------------------------------------------
    def due(self, watch: str, now: datetime) -> list[Tracked]:
        """This watch's tracked runs whose next poll is due, one per automation name."""
        self._settle_mine(watch, now)
        found = self._rows(
            "SELECT automation, row_id, poll_seconds FROM rows WHERE watch = %s"
            " AND run_status = 'running' AND poll_at <= %s"
            ' ORDER BY automation COLLATE "C", row_id COLLATE "C"',
            (watch, iso(now)),
        )
        return _group((name, (watch, row_id), step) for name, row_id, step in found)

    def running(self, names: Iterable[str]) -> list[Tracked]:
        """The tracked runs (of any watch) of these automation names, due or not."""
        wanted = sorted(set(names))
        if not wanted:
            return []
        self._settle_held()
        found = self._rows(
            "SELECT automation, watch, row_id, poll_seconds FROM rows WHERE run_status ="
            " 'running' AND automation = ANY(%s)"
            ' ORDER BY automation COLLATE "C", watch COLLATE "C", row_id COLLATE "C"',
            (wanted,),
        )
        return _group((name, (watch, row_id), step) for name, watch, row_id, step in found)

    def in_flight(self, watch: str) -> int:
        """Runs of this watch still running or queued, as far as sheetsync can tell."""
        self._settle_mine(watch, None)
        found = self._rows(
            f"SELECT COUNT(DISTINCT trigger_id) FROM rows WHERE watch = %s AND {IN_FLIGHT_SQL}",
            (watch,),
        )
        return int(found[0][0])

    def polled(
        self, run: Tracked, state: str, raw: str, poll: tuple[datetime, float], now: datetime
    ) -> None:
        """Record a /run-data answer: reschedule a running run, or settle an ended one."""
        stamp = iso(now)
        if state == "running":
            for unit, rows in self._by_held_unit(run.rows):
                with self.fenced(unit, self._epoch(unit)) as conn:
                    _reschedule(conn, rows, poll, stamp)
            return
        found = self._rows(
            "SELECT max(run_seq) FROM rows WHERE (watch, row_id) IN"
            " (SELECT * FROM unnest(%s::text[], %s::text[]))",
            ([w for w, _ in run.rows], [r for _, r in run.rows]),
        )
        seq = int(found[0][0] or 0)
        # a name-level fact, true whoever records it: not fenced by any unit
        with translated(self.where), self._pool.connection() as conn:
            conn.execute(
                "UPDATE runs SET ended_seq = %s, ended_state = %s, ended_detail = %s,"
                " updated_at = %s WHERE automation = %s AND ended_seq < %s",
                (seq, state, raw, stamp, run.automation, seq),
            )
        self._settle_held(stamp=stamp)

    def poll_failed(
        self, run: Tracked, detail: str, poll: tuple[datetime, float], now: datetime
    ) -> None:
        """A poll that got no answer: keep the run tracked and try later (never re-trigger)."""
        stamp = iso(now)
        for unit, rows in self._by_held_unit(run.rows):
            with self.fenced(unit, self._epoch(unit)) as conn:
                _reschedule(conn, rows, poll, stamp)
                histories(conn, [(stamp, w, r, "poll failed", detail[:200]) for w, r in rows])

    def expire(self, watch: str, cutoff: datetime, limit: str, now: datetime) -> int:
        """Stop tracking this watch's runs triggered before `cutoff`; return how many rows."""
        stamp = iso(now)
        message = TIMEOUT_MESSAGE.format(limit=limit)
        with self._tx(watch) as conn:
            stale = conn.execute(
                "UPDATE rows SET run_status = 'untracked', poll_at = '', message = %s,"
                f" updated_at = %s WHERE watch = %s AND {IN_FLIGHT_SQL}"
                " AND triggered_at != '' AND triggered_at <= %s RETURNING row_id",
                (message, stamp, watch, iso(cutoff)),
            ).fetchall()
            history(conn, stamp, watch, sorted(r[0] for r in stale), "untracked", message)
        return len(stale)

    def _by_held_unit(
        self, rows: Sequence[tuple[str, str]]
    ) -> list[tuple[str, list[tuple[str, str]]]]:
        """`(watch, row_id)` pairs grouped by unit, only the units this instance holds."""
        held = self._leases.held()
        grouped: dict[str, list[tuple[str, str]]] = {}
        for watch, row_id in rows:
            unit = self._unit(watch)
            if unit in held:
                grouped.setdefault(unit, []).append((watch, row_id))
        return sorted(grouped.items())


def _reschedule(
    conn: Any, rows: Sequence[tuple[str, str]], poll: tuple[datetime, float], stamp: str
) -> None:
    poll_at, seconds = poll
    run(conn, each_batch(_RESCHEDULE, rows, iso(poll_at), seconds, stamp))


def outcome_of(watch: str, row_ids: Sequence[str], outcome: Outcome, stamp: str) -> list[Statement]:
    """The statements of an outcome on its rows, and their history lines."""
    started = outcome.state in {"triggered", "queued"}
    params = (
        *(outcome.state, outcome.link, outcome.message, stamp if started else ""),
        iso(outcome.next_attempt_at) if outcome.next_attempt_at else "",
        outcome.reason if outcome.state == "waiting" else "",
        *(outcome.state, stamp, watch),
    )
    return [
        *each_batch(_OUTCOME, [[r] for r in row_ids], *params),
        *history_of(stamp, watch, row_ids, outcome.state, outcome.message[:200]),
    ]


def _group(rows: Iterable[tuple[str, tuple[str, str], float]]) -> list[Tracked]:
    grouped: dict[str, tuple[list[tuple[str, str]], float]] = {}
    for name, row, step in rows:
        grouped.setdefault(name, ([], step))[0].append(row)
    return [Tracked(name, tuple(rows), float(step)) for name, (rows, step) in grouped.items()]
