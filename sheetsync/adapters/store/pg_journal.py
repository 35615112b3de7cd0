"""The journal operations on PostgreSQL: `Journal`'s statements, each write fenced.

Same states, flags and history as the SQLite journal (see `sheetsync.adapters.store.journal`); a
claim also records the epoch it was made under, and an abandoned claim leaves a
tombstone tagged with that epoch (a zombie claim write of an old holder must not make
its row look new).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sheetsync.adapters.store.journal_records import SKIPPED_MESSAGE, Event, iso, keyset_pages
from sheetsync.adapters.store.pg_base import ENTRY_COLUMNS, PgBase, entry, event
from sheetsync.adapters.store.pg_bulk import (
    each_batch,
    histories_of,
    history,
    history_of,
    last_by_key,
    run,
)
from sheetsync.adapters.store.pg_errors import translated
from sheetsync.adapters.store.pg_journal_sql import (
    CLAIM,
    ORDERED_READ,
    PLACED,
    PLACES,
    RESULT_PAGE,
    SHOWN,
    SKIP,
    TOMBSTONES,
)
from sheetsync.core.model import Entry, ResultPage


class JournalSql(PgBase):
    """`Journal`'s reads and writes."""

    def _select(self, now: datetime, where: str, params: Sequence[object]) -> dict[str, Entry]:
        found = self._rows(f"{ENTRY_COLUMNS} WHERE {where}", params)
        return {r[0]: entry(r, now) for r in found}

    def entries(self, watch: str, now: datetime) -> dict[str, Entry]:
        """Every row of a watch as the plan sees it."""
        return self._select(now, "watch = %s", (watch,))

    def unshown(self, watch: str, now: datetime) -> dict[str, Entry]:
        """Rows whose result cells changed since the sheet was last written with them."""
        return self._select(now, "watch = %s AND NOT shown", (watch,))

    def entries_needed(self, watch: str, now: datetime, row_ids: Iterable[str]) -> dict[str, Entry]:
        """What a narrow cycle needs: rows not shown yet, claims, waiting rows, and `row_ids`."""
        return self._select(
            now,
            "watch = %s AND (NOT shown OR NOT checked OR row_id = ANY(%s)"
            " OR state IN ('claimed', 'waiting', 'abandoned', 'sending'))",
            (watch, list(dict.fromkeys(row_ids))),
        )

    def result_pages(self, watch: str, size: int = 10_000) -> Iterator[ResultPage]:
        """Every row's result fields, `size` rows a statement (one JSON value each, a
        column a list: no row per round trip, per Python tuple or per JSON array), in the
        database's order of row ids (its
        collation; `core.reprojection` needs no order), in one READ COMMITTED transaction:
        each page sees the journal as of its own statement, which only this holder
        writes. The pages walk the primary key in order: on a journal never analyzed the
        planner would sort every row after the page's start for each page (a 200,000-row
        takeover: 20 such sorts), so sorts and bitmap scans are off in this read's
        transaction."""
        with translated(self.where), self._pool.connection() as conn, conn.transaction():
            conn.execute(ORDERED_READ)

            def page(after: str) -> ResultPage:
                found = conn.execute(RESULT_PAGE, (watch, after, size)).fetchall()[0][0]
                if not found or found[0] is None:  # no row: every aggregate is null
                    return ResultPage.of(())
                return ResultPage(*found)

            yield from keyset_pages(page, size)

    def has_unchecked(self, watch: str) -> bool:
        """Whether a claim of this watch was not yet seen on the row holding its inputs."""
        return bool(
            self._rows("SELECT 1 FROM rows WHERE watch = %s AND NOT checked LIMIT 1", (watch,))
        )

    def ids_to_check(self, watch: str) -> set[str]:
        """Ids whose rows a cycle checks by their inputs (a whole read keeps them whole):
        claims not yet seen on their row, and rows claimed, waiting, abandoned or in flight."""
        found = self._rows(
            "SELECT row_id FROM rows WHERE watch = %s AND (NOT checked OR state IN"
            " ('claimed', 'waiting', 'abandoned', 'sending', 'unknown'))",
            (watch,),
        )
        return {str(r[0]) for r in found}

    def mark_shown(
        self, watch: str, shown: Iterable[Entry], places: Mapping[str, int] | None = None
    ) -> None:
        """The sheet now shows these rows' result cells as the entries hold them, and the
        rows just written (`places`: row id -> row number) are where `status` finds them."""
        rows = [(e.row_id, e.state, e.link, e.message, e.triggered_at, e.run_status) for e in shown]
        placed = list((places or {}).items())
        statements = each_batch(SHOWN, rows, after=(watch,)) + each_batch(PLACED, placed, watch)
        if statements:
            with self._tx(watch) as conn:
                run(conn, statements)

    def read_plan(self, watch: str) -> str | None:
        """The narrow-read plan saved by the watch's last cycle."""
        found = self._rows("SELECT plan FROM plans WHERE watch = %s", (watch,))
        return str(found[0][0]) if found else None

    def save_plan(self, watch: str, plan: str | None) -> None:
        """Keep (or, with `None`, forget) a watch's narrow-read plan."""
        with self._tx(watch) as conn:
            if plan is None:
                conn.execute("DELETE FROM plans WHERE watch = %s", (watch,))
            else:
                conn.execute(
                    "INSERT INTO plans VALUES (%s, %s)"
                    " ON CONFLICT (watch) DO UPDATE SET plan = excluded.plan",
                    (watch, plan),
                )

    def mark_checked(self, watch: str, row_ids: Iterable[str]) -> None:
        """These claims were found on the row holding their inputs (and written there)."""
        ids = list(row_ids)
        if ids:
            with self._tx(watch) as conn:
                conn.execute(
                    "UPDATE rows SET checked = true WHERE watch = %s AND row_id = ANY(%s)",
                    (watch, ids),
                )

    def has_started(self, watch: str) -> bool:
        """Whether this watch ever completed a first cycle on this journal."""
        return bool(self._rows("SELECT 1 FROM watches WHERE watch = %s", (watch,)))

    def counts(self, watch: str) -> dict[str, int]:
        """Rows per state."""
        found = self._rows(
            "SELECT state, COUNT(*) FROM rows WHERE watch = %s GROUP BY state"
            ' ORDER BY state COLLATE "C"',
            (watch,),
        )
        return {state: int(count) for state, count in found}

    def waits(self, watch: str, row_ids: Iterable[str]) -> dict[str, int]:
        """How many times in a row each row has been put to `waiting`."""
        found = self._rows(
            "SELECT row_id, waits FROM rows WHERE watch = %s AND row_id = ANY(%s)",
            (watch, list(row_ids)),
        )
        return {r[0]: int(r[1]) for r in found}

    def latest(self, watch: str, limit: int = 10) -> list[Event]:
        """The newest events of a watch, newest first."""
        found = self._rows(
            "SELECT at, row_id, state, detail FROM events WHERE watch = %s"
            " ORDER BY id DESC LIMIT %s",
            (watch, limit),
        )
        return [Event(*r) for r in found]

    def mark_started(self, watch: str, now: datetime) -> None:
        """Remember that a watch had its first cycle (for `start_from = "now"`)."""
        with self._tx(watch) as conn:
            conn.execute(
                "INSERT INTO watches VALUES (%s, %s) ON CONFLICT DO NOTHING", (watch, iso(now))
            )

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
        unit = self._unit(watch)
        epoch = self._epoch(unit)
        lines = [(stamp, watch, row_id, "claimed", automation) for row_id, _, automation in rows]
        statements = [
            *each_batch(PLACES, last_by_key(places), watch),
            # a row named twice is claimed once, as the last naming says
            *each_batch(CLAIM, last_by_key(rows), watch, stamp, epoch),
            *histories_of(lines),
        ]
        with self.fenced(unit, epoch) as conn:
            run(conn, statements)

    def skip(self, watch: str, rows: Sequence[tuple[str, str]], now: datetime) -> None:
        """Record `(row_id, fingerprint)` rows as skipped (present before the first cycle)."""
        stamp = iso(now)
        # earlier skips are kept, also those no row holds: see `first_cycle.returning`
        statements = each_batch(SKIP, rows, watch, SKIPPED_MESSAGE, stamp)
        with self._tx(watch) as conn:
            run(conn, statements)
            event(
                conn, stamp, watch, "*", "skipped", f"{len(rows)} rows present at the first cycle"
            )

    def mark_sending(self, watch: str, row_ids: Sequence[str], now: datetime) -> None:
        """Commit that these rows' trigger is about to leave (durable before the POST)."""
        stamp = iso(now)
        lines = history_of(stamp, watch, row_ids, "sending", "")
        with self._tx(watch) as conn:
            self._move(conn, watch, row_ids, stamp, "state = 'sending'", "")
            run(conn, lines)

    def mark_unsent(self, watch: str, row_ids: Sequence[str], now: datetime) -> None:
        """The trigger did not leave after all (axiom refused it; a retry follows): claimed."""
        stamp = iso(now)
        lines = history_of(
            stamp, watch, row_ids, "claimed", "not taken by axiom; sent again after a wait"
        )
        with self._tx(watch) as conn:
            self._move(conn, watch, row_ids, stamp, "state = 'claimed'", " AND state = 'sending'")
            run(conn, lines)

    def postpone(
        self, watch: str, row_ids: Sequence[str], until: datetime, message: str, now: datetime
    ) -> None:
        """Keep `waiting` rows waiting until `until`, with a new explanation."""
        stamp = iso(now)
        with self._tx(watch) as conn:
            conn.execute(
                "UPDATE rows SET next_attempt_at = %s, message = %s, updated_at = %s"
                " WHERE watch = %s AND row_id = ANY(%s) AND state = 'waiting'",
                (iso(until), message, stamp, watch, list(row_ids)),
            )
            if row_ids:
                event(conn, stamp, watch, "*", "waiting", message[:200])

    def due_waiting(self, watch: str, reason: str, now: datetime) -> list[str]:
        """Rows `waiting` for `reason` whose next attempt is due."""
        found = self._rows(
            "SELECT row_id FROM rows WHERE watch = %s AND state = 'waiting'"
            " AND wait_reason = %s AND next_attempt_at <= %s",
            (watch, reason, iso(now)),
        )
        return sorted(r[0] for r in found)

    def abandon(self, watch: str, row_ids: Sequence[str], now: datetime) -> None:
        """Give up claims never sent whose row left the sheet; keep each as a tombstone."""
        stamp = iso(now)
        with self._tx(watch) as conn:
            gone = self._move(
                conn,
                watch,
                row_ids,
                stamp,
                "state = 'abandoned', checked = true",
                " AND state = 'claimed'",
            )
            run(conn, each_batch(TOMBSTONES, gone, watch, stamp))
            history(conn, stamp, watch, row_ids, "abandoned", "claimed row left the sheet")

    def tombstones(self, watch: str) -> dict[str, list[tuple[int, str]]]:
        """Abandoned claims of a watch: row id -> [(claim epoch, fingerprint)]."""
        found: dict[str, list[tuple[int, str]]] = {}
        for row_id, epoch, fp in self._rows(
            "SELECT row_id, epoch, fingerprint FROM tombstones WHERE watch = %s ORDER BY epoch",
            (watch,),
        ):
            found.setdefault(row_id, []).append((int(epoch), fp))
        return found

    @staticmethod
    def _move(
        conn: Any, watch: str, row_ids: Sequence[str], stamp: str, assignments: str, condition: str
    ) -> list[tuple[str, int, str]]:
        """One transition of rows (`SET assignments WHERE ... condition`): the rows moved."""
        found: list[tuple[str, int, str]] = conn.execute(
            f"UPDATE rows SET {assignments}, updated_at = %s"
            f" WHERE watch = %s AND row_id = ANY(%s){condition}"
            " RETURNING row_id, epoch, fingerprint",
            (stamp, watch, list(row_ids)),
        ).fetchall()
        return found

    def note(self, watch: str, row_id: str, state: str, detail: str, now: datetime) -> None:
        """Add a history line without changing a row."""
        with self._tx(watch) as conn:
            event(conn, iso(now), watch, row_id, state, detail)
