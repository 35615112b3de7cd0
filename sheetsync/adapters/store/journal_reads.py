"""What the journal tells a cycle: its rows as the plan sees them, saved read plans,
counts and history. Read-only; the writes are `journal_writes`'s.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sheetsync.adapters.store.journal_records import RESULT_COLUMNS, Event, iso, keyset_pages
from sheetsync.core.model import Entry, ResultPage


class RowReads:
    """Methods of `Journal` (a mixin): it provides `_transaction` and `_query`."""

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _select(self, now: datetime, where: str, params: Sequence[object]) -> dict[str, Entry]:
        """Entries (by row id) of the rows `WHERE where`."""
        due = iso(now)
        return {
            r[0]: _entry(r, due) for r in self._query(f"{_ENTRY_COLUMNS} WHERE {where}", params)
        }

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

    def result_pages(self, watch: str, size: int = 10_000) -> Iterator[ResultPage]:
        """Every row's result fields (what the sheet should show), `size` rows a query,
        in row id order: a takeover compares them with the sheet (`core.reprojection`)."""

        def page(after: str) -> ResultPage:
            found = self._query(
                f"SELECT {RESULT_COLUMNS} FROM rows"
                " WHERE watch = ? AND row_id > ? ORDER BY row_id LIMIT ?",
                (watch, after, size),
            )
            return ResultPage.of(found)

        return keyset_pages(page, size)

    def has_unchecked(self, watch: str) -> bool:
        """Whether a claim of this watch was not yet seen on the row holding its inputs."""
        found = self._query("SELECT 1 FROM rows WHERE watch = ? AND checked = 0 LIMIT 1", (watch,))
        return bool(found)

    def ids_to_check(self, watch: str) -> set[str]:
        """Ids whose rows a cycle checks by their inputs (a whole read keeps them whole):
        claims not yet seen on their row, and rows claimed, waiting, abandoned or in flight."""
        found: set[str] = set()
        for condition in (  # one query each: each is served by an index
            "checked = 0",
            "state IN ('claimed', 'waiting', 'abandoned', 'sending', 'unknown')",
        ):
            cursor = self._query(
                f"SELECT row_id FROM rows WHERE watch = ? AND {condition}", (watch,)
            )
            found.update(str(r[0]) for r in cursor)
        return found

    def read_plan(self, watch: str) -> str | None:
        """The narrow-read plan saved by the watch's last cycle."""
        found = self._query("SELECT plan FROM plans WHERE watch = ?", (watch,))
        return str(found[0][0]) if found else None

    def has_started(self, watch: str) -> bool:
        """Whether this watch ever completed a first cycle on this journal."""
        return bool(self._query("SELECT 1 FROM watches WHERE watch = ?", (watch,)))

    def counts(self, watch: str) -> dict[str, int]:
        """Rows per state."""
        cursor = self._query(
            "SELECT state, COUNT(*) FROM rows WHERE watch = ? GROUP BY state ORDER BY state",
            (watch,),
        )
        return {state: count for state, count in cursor}

    def waits(self, watch: str, row_ids: Iterable[str]) -> dict[str, int]:
        """How many times in a row each row has been put to `waiting`."""
        ids = list(row_ids)
        marks = ",".join("?" * len(ids))
        rows = self._query(
            f"SELECT row_id, waits FROM rows WHERE watch = ? AND row_id IN ({marks})",
            (watch, *ids),
        )
        return {r[0]: r[1] for r in rows}

    def latest(self, watch: str, limit: int = 10) -> list[Event]:
        """The newest events of a watch, newest first."""
        cursor = self._query(
            "SELECT at, row_id, state, detail FROM events WHERE watch = ? ORDER BY id DESC LIMIT ?",
            (watch, limit),
        )
        return [Event(*r) for r in cursor]

    def due_waiting(self, watch: str, reason: str, now: datetime) -> list[str]:
        """Rows `waiting` for `reason` whose next attempt is due."""
        rows = self._query(
            "SELECT row_id FROM rows WHERE watch = ? AND state = 'waiting' AND wait_reason = ?"
            " AND next_attempt_at <= ?",  # no ORDER BY: SQLite would walk the whole watch
            (watch, reason, iso(now)),
        )
        return sorted(r[0] for r in rows)


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
