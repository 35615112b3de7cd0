"""What operators read from the journal: rows where sheetsync last wrote them, waiting reasons,
today's count, and each watch's last cycle (the rows it held back are not in `rows`).

Its own tables (`places`: each row's number when sheetsync last wrote to it, and its
first inputs; `cycles`: what each watch's last cycle held back) leave `rows` and its
indexes as the cycle needs them.

Like `runs.RunLedger`, a view over the `Journal` connection: `sheetsync status`,
the problems tracker, STATUS= and the metrics read through it. A claim records its row's
place (`Journal.claim`), every write the places of the rows its answer shows it reached
(`writeback`, `Journal.mark_shown`: no cost beyond the rows written, however big the sheet); the
runtime saves what each cycle held back (`save_cycle`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sheetsync.adapters.store.journal import Journal
from sheetsync.adapters.store.journal_records import iso
from sheetsync.redact import one_line

PREVIEW_CHARS = 60
"""How much of a row's first input cells the journal keeps for `sheetsync status`."""


@dataclass(frozen=True)
class RowView:
    """One row as `sheetsync status` shows it."""

    watch: str
    row: int
    row_id: str
    inputs: str
    status: str
    run_status: str
    link: str
    message: str
    updated_at: str

    def as_dict(self) -> dict[str, object]:
        """For `--json`."""
        return asdict(self)


@dataclass(frozen=True)
class CycleView:
    """What a watch's last cycle held back: rows waiting for a run slot, rows settling."""

    at: str = ""
    held: int = 0
    settling: int = 0
    error: str = ""


def preview(inputs: Sequence[str]) -> str:
    """A row's first input cells, joined and cut to one line, as the journal keeps them."""
    return one_line(" | ".join(c for c in inputs[:3] if c.strip()), PREVIEW_CHARS)


class Overview:
    """Operator queries over one journal."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def save_cycle(self, watch: str, now: datetime, held: int, settling: int, error: str) -> None:
        """Keep what the watch's last cycle held back (written only when it changed)."""
        last = self.cycle(watch)
        if (last.held, last.settling, last.error) != (held, settling, error) or not last.at:
            with self.journal._transaction() as db:
                db.execute(
                    "INSERT OR REPLACE INTO cycles VALUES (?, ?, ?, ?, ?)",
                    (watch, iso(now), held, settling, error),
                )

    def cycle(self, watch: str) -> CycleView:
        """The watch's last cycle as saved, or an empty view."""
        found = self.journal._query(
            "SELECT at, held, settling, error FROM cycles WHERE watch = ?", (watch,)
        )
        return CycleView(*found[0]) if found else CycleView()

    def waiting_by_reason(self, watch: str) -> dict[str, int]:
        """Rows of `watch` now `waiting`, by reason."""
        rows = self.journal._query(
            "SELECT wait_reason, COUNT(*) FROM rows WHERE watch = ? AND state = 'waiting'"
            " GROUP BY wait_reason",
            (watch,),
        )
        return {str(reason): int(count) for reason, count in rows}

    def needing_a_person(self, watch: str) -> int:
        """Rows of `watch` now `error` or `unknown`: only a person moves them on (retry)."""
        rows = self.journal._query(
            "SELECT COUNT(*) FROM rows WHERE watch = ? AND state IN ('error', 'unknown')",
            (watch,),
        )
        return int(rows[0][0]) if rows else 0

    def triggered_since(self, moment: datetime) -> int:
        """Rows triggered or queued since `moment`, from the history."""
        rows = self.journal._query(
            "SELECT COUNT(*) FROM events WHERE at >= ? AND state IN ('triggered', 'queued')",
            (iso(moment),),
        )
        return int(rows[0][0]) if rows else 0

    def rows(
        self,
        watch: str,
        *,
        state: str | None = None,
        row: int | None = None,
        row_id: str | None = None,
        limit: int = 20,
    ) -> list[RowView]:
        """A watch's rows, newest change first, filtered by state (or run status), row
        number (where sheetsync last wrote to it) and row id."""
        sql = (
            "SELECT r.watch, COALESCE(p.row_number, 0), r.row_id, COALESCE(p.preview, ''),"
            " r.state, r.run_status, r.link, r.message, r.updated_at FROM rows r"
            " LEFT JOIN places p ON p.watch = r.watch AND p.row_id = r.row_id WHERE r.watch = ?"
        )
        params: list[object] = [watch]
        if state is not None:
            sql += " AND (r.state = ? OR r.run_status = ?)"
            params += [state, state]
        if row is not None:
            sql += " AND p.row_number = ?"
            params.append(row)
        if row_id is not None:
            sql += " AND r.row_id = ?"
            params.append(row_id)
        sql += " ORDER BY r.updated_at DESC, p.row_number DESC LIMIT ?"
        params.append(limit)
        return [RowView(*r) for r in self.journal._query(sql, params)]
