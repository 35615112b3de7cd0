"""What operators read on PostgreSQL (`Overview`'s queries): rows where sheetsync last wrote
them, waiting reasons, today's count, each watch's last cycle, the state's size.

Same tables and meanings as the SQLite journal (`places`, `cycles`, see `overview`);
text is ordered byte-wise (COLLATE "C") as SQLite orders it, whatever the database's
collation. A cycle's summary is a row of its watch's unit: written fenced.
"""

from __future__ import annotations

from datetime import datetime

from sheetsync.adapters.store.journal_records import iso
from sheetsync.adapters.store.overview import CycleView, RowView
from sheetsync.adapters.store.pg_base import PgBase

_ROWS = (
    "SELECT r.watch, COALESCE(p.row_number, 0), r.row_id, COALESCE(p.preview, ''),"
    " r.state, r.run_status, r.link, r.message, r.updated_at FROM rows r"
    " LEFT JOIN places p ON p.watch = r.watch AND p.row_id = r.row_id WHERE r.watch = %s"
)


class OverviewSql(PgBase):
    """`Overview`'s operator queries, and the size `metrics` shows."""

    def save_cycle(self, watch: str, now: datetime, held: int, settling: int, error: str) -> None:
        """Keep what the watch's last cycle held back (written only when it changed)."""
        last = self.last_cycle(watch)
        if (last.held, last.settling, last.error) != (held, settling, error) or not last.at:
            with self._tx(watch) as conn:
                conn.execute(
                    "INSERT INTO cycles VALUES (%s, %s, %s, %s, %s) ON CONFLICT (watch) DO UPDATE"
                    " SET at = excluded.at, held = excluded.held, settling = excluded.settling,"
                    " error = excluded.error",
                    (watch, iso(now), held, settling, error),
                )

    def last_cycle(self, watch: str) -> CycleView:
        """The watch's last cycle as saved, or an empty view."""
        found = self._rows(
            "SELECT at, held, settling, error FROM cycles WHERE watch = %s", (watch,)
        )
        return CycleView(*found[0]) if found else CycleView()

    def waiting_by_reason(self, watch: str) -> dict[str, int]:
        """Rows of `watch` now `waiting`, by reason."""
        found = self._rows(
            "SELECT wait_reason, COUNT(*) FROM rows WHERE watch = %s AND state = 'waiting'"
            " GROUP BY wait_reason",
            (watch,),
        )
        return {str(reason): int(count) for reason, count in found}

    def needing_a_person(self, watch: str) -> int:
        """Rows of `watch` now `error` or `unknown`: only a person moves them on (retry)."""
        found = self._rows(
            "SELECT COUNT(*) FROM rows WHERE watch = %s AND state IN ('error', 'unknown')",
            (watch,),
        )
        return int(found[0][0]) if found else 0

    def triggered_since(self, moment: datetime) -> int:
        """Rows triggered or queued since `moment`, from the history."""
        found = self._rows(
            'SELECT COUNT(*) FROM events WHERE at >= %s COLLATE "C"'
            " AND state IN ('triggered', 'queued')",
            (iso(moment),),
        )
        return int(found[0][0]) if found else 0

    def row_views(
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
        sql = _ROWS
        params: list[object] = [watch]
        if state is not None:
            sql += " AND (r.state = %s OR r.run_status = %s)"
            params += [state, state]
        if row is not None:
            sql += " AND p.row_number = %s"
            params.append(row)
        if row_id is not None:
            sql += " AND r.row_id = %s"
            params.append(row_id)
        # SQLite sorts NULL first, so last when descending: a row never placed comes last
        sql += ' ORDER BY r.updated_at COLLATE "C" DESC, p.row_number DESC NULLS LAST LIMIT %s'
        params.append(limit)
        return [RowView(*r) for r in self._rows(sql, params)]

    def size_bytes(self) -> int:
        """The database's size on disk (the `sheetsync_journal_size_bytes` gauge)."""
        found = self._rows("SELECT pg_database_size(current_database())")
        return int(found[0][0])
