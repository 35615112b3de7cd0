"""Run facts that span spreadsheets, settled per unit: no transaction writes two units.

`RunLedger` marks rows of *other* watches `overlapped`/`untracked` when a run of their
automation starts or ends. With several instances those rows may belong to a unit held
elsewhere, so the name-level facts live in `runs` (one row per automation, updated under
its row lock): `seq` counts runs started, `ended_seq` is the latest seen to end. Each
row remembers its run's `run_seq`; `settle` brings a unit's rows in line with `runs`
inside that unit's own fenced transaction. This instance settles the units it holds
right after each change, so one instance behaves exactly like the SQLite journal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sheetsync.adapters.store.journal_records import OVERLAPPED_MESSAGE, iso
from sheetsync.adapters.store.pg_base import PgBase
from sheetsync.adapters.store.pg_bulk import histories
from sheetsync.errors import LeaseLostError

_UNSETTLED = (
    "SELECT 1 FROM rows r JOIN runs n ON n.automation = r.automation"
    " WHERE r.watch = ANY(%s) AND r.run_seq > 0 AND ((r.run_status = 'running'"
    " AND (r.run_seq < n.seq OR r.run_seq = n.ended_seq))"
    " OR (r.run_status = 'overlapped' AND r.run_seq < n.ended_seq)) LIMIT 1"
)


class RunFacts(PgBase):
    """Name-level run facts (`runs`) and the settling of each unit's rows to them."""

    def _start_run(
        self,
        conn: Any,
        watch: str,
        row_ids: Sequence[str],
        stamp: str,
        poll: tuple[datetime, float] | None,
    ) -> None:
        """A new run of a name: count it in `runs` (row-locked), settle this unit's rows."""
        found = conn.execute(
            "SELECT automation FROM rows WHERE watch = %s AND row_id = %s", (watch, row_ids[0])
        ).fetchone()
        if found is None:
            return
        seq = conn.execute(
            "INSERT INTO runs (automation, seq, updated_at) VALUES (%s, 1, %s)"
            " ON CONFLICT (automation) DO UPDATE SET seq = runs.seq + 1,"
            " updated_at = excluded.updated_at RETURNING seq",
            (found[0], stamp),
        ).fetchone()[0]
        conn.execute(
            "UPDATE rows SET run_seq = %s WHERE watch = %s AND row_id = ANY(%s)",
            (seq, watch, list(row_ids)),
        )
        self._settle(conn, self.units.watches(self._unit(watch)) or [watch], stamp)
        if poll is not None:
            poll_at, seconds = poll
            conn.execute(
                "UPDATE rows SET run_status = 'running', trigger_id = %s, poll_at = %s,"
                " poll_seconds = %s WHERE watch = %s AND row_id = ANY(%s)",
                (row_ids[0], iso(poll_at), seconds, watch, list(row_ids)),
            )

    @staticmethod
    def _settle(conn: Any, watches: list[str], stamp: str) -> None:
        """Bring the rows of `watches` in line with `runs`: ended, overlapped, untracked."""
        ended = conn.execute(
            "UPDATE rows r SET run_status = n.ended_state, poll_at = '', updated_at = %s"
            " FROM runs n WHERE n.automation = r.automation AND r.watch = ANY(%s)"
            " AND r.run_status = 'running' AND r.run_seq > 0 AND r.run_seq = n.ended_seq"
            " RETURNING r.watch, r.row_id, n.ended_state, n.ended_detail",
            (stamp, watches),
        ).fetchall()
        histories(conn, [(stamp, w, r, s, f"axiom /run-data: {d}") for w, r, s, d in sorted(ended)])
        overlapped = conn.execute(
            "UPDATE rows r SET run_status = 'overlapped', poll_at = '', message = CASE WHEN"
            " r.message = '' THEN %s ELSE r.message END, updated_at = %s FROM runs n"
            " WHERE n.automation = r.automation AND r.watch = ANY(%s)"
            " AND r.run_status = 'running' AND r.run_seq > 0 AND r.run_seq < n.seq"
            " RETURNING r.watch, r.row_id, r.automation",
            (OVERLAPPED_MESSAGE, stamp, watches),
        ).fetchall()
        later = [
            (stamp, w, r, "overlapped", f"a later run of {n!r} started") for w, r, n in overlapped
        ]
        histories(conn, sorted(later))
        conn.execute(
            "UPDATE rows r SET run_status = 'untracked', updated_at = %s FROM runs n"
            " WHERE n.automation = r.automation AND r.watch = ANY(%s)"
            " AND r.run_status = 'overlapped' AND r.run_seq < n.ended_seq",
            (stamp, watches),
        )

    def _settle_unit(self, unit: str, stamp: str) -> None:
        """Settle one held unit, in its own fenced transaction, when anything needs it."""
        watches = self.units.watches(unit)
        if watches and self._rows(_UNSETTLED, (watches,)):
            with self.fenced(unit, self._epoch(unit)) as conn:
                self._settle(conn, watches, stamp)

    def _settle_held(self, exclude: str = "", stamp: str | None = None) -> None:
        """Settle every unit this instance holds (a unit lost meanwhile is skipped)."""
        at = stamp or iso(datetime.now(UTC))
        for unit in self._held_units():
            if unit != exclude:
                try:
                    self._settle_unit(unit, at)
                except LeaseLostError:
                    continue

    def _settle_mine(self, watch: str, now: datetime | None) -> None:
        unit = self._unit(watch)
        if unit in self._leases.held():
            self._settle_unit(unit, iso(now or datetime.now(UTC)))
