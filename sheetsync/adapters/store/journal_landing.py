"""The journal's part in checking writes (see `landing`): strays and unanswered writes.

A stray (a row a write landed on by mistake) is kept with what the row held before
until a later write has put that back. The aims of a write are kept while it is in
flight: if its answer never comes (a crash, a dropped connection), the next read checks
them instead. Rows sheetsync gives an id of its own (`adopt`) are recorded here too.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from operator import attrgetter, le
from typing import Any

from sheetsync.adapters.store.journal_records import ADOPTED_EVENT, adopted_detail, event, iso
from sheetsync.core.landing import Cells, Sent, Stray
from sheetsync.core.model import Columns

MANY_IDS = 5_000
"""More ids than this are looked up by one walk of the watch's ids (a lost journal's
first read of a big tab asks about every id on the sheet)."""


@dataclass(frozen=True, slots=True)
class Adoption:
    """A row the journal did not know, recorded as the sheet shows it."""

    row_id: str
    state: str
    fingerprint: str
    link: str = ""
    message: str = ""
    triggered_at: str = ""
    run_status: str = ""
    due: bool = False
    """A `waiting` row to try again at once."""
    shown: bool = True
    """False when the sheet must still be written to show it."""


@dataclass(frozen=True, slots=True)
class ShownRows(Columns):
    """Rows adopted from what they show, a column each (of one length): their ids, links,
    messages and times triggered. Columns, not a tuple a row: SQLite binds them from one
    interleaved list; 200,000 rows made as tuples and bound from them took 0.25-0.37 s
    more CPU (the tuples, and the collector walking them; a made-up adoption into SQLite).
    PostgreSQL still makes a row of each (its JSON parameter)."""

    row_ids: Sequence[str]
    links: Sequence[str]
    messages: Sequence[str]
    triggered_at: Sequence[str]

    @classmethod
    def of(cls, rows: Iterable[tuple[str, str, str, str]]) -> ShownRows:
        """From rows `(row_id, link, message, triggered_at)`."""
        ids, links, messages, times = cls.transposed(rows, 4)
        return cls(ids, links, messages, times)

    @property
    def columns(self) -> tuple[Sequence[str], ...]:
        return (self.row_ids, self.links, self.messages, self.triggered_at)

    def in_key_order(self) -> ShownRows:
        """The rows sorted by id, stably (as they are when they are: one walk, no sort): each
        batch a range of the key index, and two stores' transactions take keys in one order."""
        ids = self.row_ids
        if all(map(le, ids, islice(ids, 1, None))):
            return self
        order = sorted(range(len(ids)), key=ids.__getitem__)
        return ShownRows(*(list(map(col.__getitem__, order)) for col in self.columns))

    def interleaved(self) -> list[str]:
        """Every row's four cells, row after row (the parameters of a multi-row VALUES)."""
        flat: list[str] = [""] * (4 * len(self))
        for i, column in enumerate(self.columns):
            flat[i::4] = column
        return flat

    def rows(self) -> list[tuple[str, str, str, str]]:
        return list(zip(*self.columns, strict=True))


_INTO_ROWS = (
    "INSERT OR IGNORE INTO rows (watch, row_id, state, fingerprint, link, message,"
    " triggered_at, run_status, next_attempt_at, updated_at, checked, shown) "
)
"""The start of an adoption's insert: a row the journal knows is never replaced."""
_SHOWN_VALUES = "(?, ?, ?, ?)"
SHOWN_PER_STATEMENT = 200
"""Rows of `adopt_shown` per statement: 807 parameters, under the 999 of older SQLite."""


class LandingRecords:
    """Methods of `Journal` (a mixin): it provides `_transaction` and `_query`."""

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    # -- strays ------------------------------------------------------------------
    def add_strays(
        self, watch: str, strays: Sequence[Stray], replaced: Iterable[Stray], now: datetime
    ) -> None:
        """Remember rows a write hit by mistake (and forget the strays they replace)."""
        stamp = iso(now)
        with self._transaction() as db:
            for old in replaced:
                db.execute(_DROP, (watch, *old.key))
            for found in strays:
                db.execute(
                    "INSERT OR REPLACE INTO strays VALUES (?, ?, ?, ?, ?, ?, 0)",
                    (watch, *found.key, _dump(found.wrote), _dump(found.prior), stamp),
                )
                told = "what it held is kept" if found.prior is not None else "nothing tells"
                event(db, stamp, watch, found.row_id or "*", "stray", f"a write hit it; {told}")

    def strays(self, watch: str) -> list[tuple[Stray, bool]]:
        """The rows still showing a write that missed its row, oldest first, each with
        whether its row was last seen gone (deleted: an undo may bring it back)."""
        rows = self._query(
            "SELECT row_id, fingerprint, wrote, prior, gone FROM strays WHERE watch = ?"
            " ORDER BY at",
            (watch,),
        )
        return [(Stray(r[0], r[1], _cells(r[2]) or (), _cells(r[3])), bool(r[4])) for r in rows]

    def drop_strays(self, watch: str, strays: Iterable[Stray]) -> None:
        """These strays were put back."""
        keys = [(watch, *s.key) for s in strays]
        if keys:
            with self._transaction() as db:
                db.executemany(_DROP, keys)

    def mark_strays_gone(self, watch: str, strays: Iterable[Stray], gone: bool = True) -> None:
        """These strays' rows left the sheet (or, `gone=False`, came back)."""
        keys = [(int(gone), watch, *s.key) for s in strays]
        if keys:
            with self._transaction() as db:
                db.executemany(
                    "UPDATE strays SET gone = ? WHERE watch = ? AND row_id = ? AND fingerprint = ?",
                    keys,
                )

    # -- writes in flight ----------------------------------------------------------
    def expect_answer(self, watch: str, rows: Sequence[Sent]) -> None:
        """Before a write: what its rows must show, checked by the next read if no answer
        comes (a crash, a dropped connection)."""
        data = [[r.row_id, r.signature, r.wrote, r.skip, r.before, r.written] for r in rows]
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO unanswered VALUES (?, ?)", (watch, json.dumps(data)))

    def answered(self, watch: str) -> None:
        """The write's answer came (or it was refused): nothing left to check."""
        with self._transaction() as db:
            db.execute("DELETE FROM unanswered WHERE watch = ?", (watch,))

    def unanswered(self, watch: str) -> list[Sent]:
        """The rows of a write whose answer never came."""
        found = self._query("SELECT aims FROM unanswered WHERE watch = ?", (watch,))
        if not found:
            return []
        return [
            Sent(str(r[0]), str(r[1]), _pairs(r[2]), tuple(r[3]), _pairs(r[4]), bool(r[5]))
            for r in json.loads(found[0][0])
        ]

    def needs_whole_read(self, watch: str) -> bool:
        """Whether a stray or an unanswered write waits to be checked against every row."""
        for table in ("strays WHERE gone = 0 AND", "unanswered WHERE"):
            if self._query(f"SELECT 1 FROM {table} watch = ? LIMIT 1", (watch,)):
                return True
        return False

    # -- rows the journal did not know ---------------------------------------------
    def adopt(self, watch: str, rows: Sequence[Adoption], now: datetime, why: str) -> None:
        """Record rows the journal did not know (never replacing a row it knows)."""
        stamp = iso(now)
        with self._transaction() as db:
            db.executemany(
                _INTO_ROWS + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                [
                    (
                        *(watch, row.row_id, row.state, row.fingerprint, row.link),
                        *(row.message, row.triggered_at, row.run_status),
                        stamp if row.due else "",
                        stamp,
                        int(row.shown),
                    )
                    for row in sorted(rows, key=attrgetter("row_id"))
                ],
            )
            db.executemany(
                "INSERT INTO events (at, watch, row_id, state, detail) VALUES (?, ?, ?, ?, ?)",
                [
                    (stamp, watch, row.row_id, ADOPTED_EVENT, adopted_detail(why, row.state))
                    for row in rows
                ],
            )

    def adopt_alike(
        self, watch: str, like: Adoption, row_ids: Sequence[str], now: datetime, why: str
    ) -> None:
        """`adopt` rows that show the same cells (`like`, its row id aside): one statement
        for all of them (a lost journal's big tab: ~100,000 rows showing `triggered`), and
        one history line. Rows go in in id order: the key's index grows at its end, not at
        random places (half the CPU of sheet order at 200,000 rows)."""
        stamp, ids = iso(now), json.dumps(sorted(row_ids))  # orphans gives them sorted: linear
        with self._transaction() as db:
            db.execute(
                _INTO_ROWS + "SELECT ?, value, ?, ?, ?, ?, ?, ?, ?, ?, 1, ? FROM json_each(?)",
                (
                    *(watch, like.state, like.fingerprint, like.link, like.message),
                    *(like.triggered_at, like.run_status, stamp if like.due else "", stamp),
                    *(int(like.shown), ids),
                ),
            )
            detail = adopted_detail(why, like.state, row_ids)
            event(db, stamp, watch, "*", ADOPTED_EVENT, detail)

    def adopt_shown(
        self, watch: str, like: Adoption, rows: ShownRows, now: datetime, why: str
    ) -> None:
        """`adopt_alike` rows that differ in what they show (`rows`), the rest as `like` (a
        lost journal's tab whose every row shows a run link of its own: a statement per
        `SHOWN_PER_STATEMENT` rows, not a transaction a row), in id order. Their cells are
        bound as parameters: 0.57 s of CPU for 200,000 rows, where a JSON array of them
        read by `json_each` took 0.82 s with its `json.dumps`."""
        stamp, ordered = iso(now), rows.in_key_order()
        due = stamp if like.due else ""
        fixed = (watch, like.state, like.fingerprint, like.run_status, due, stamp, int(like.shown))
        flat, count = ordered.interleaved(), len(ordered)
        with self._transaction() as db:
            for start in range(0, count, SHOWN_PER_STATEMENT):
                part = min(SHOWN_PER_STATEMENT, count - start)
                values = ", ".join([_SHOWN_VALUES] * part)
                db.execute(
                    f"{_INTO_ROWS} SELECT ?, column1, ?, ?, column2, column3, column4,"
                    f" ?, ?, ?, 1, ? FROM (VALUES {values})",
                    (*fixed, *flat[4 * start : 4 * (start + part)]),
                )
            detail = adopted_detail(why, like.state, ordered.row_ids)
            event(db, stamp, watch, "*", ADOPTED_EVENT, detail)

    def ids_with_fingerprint(self, watch: str, fingerprint: str) -> list[str]:
        """The rows of a watch recorded with these inputs (none for `""`: no inputs)."""
        rows = self._query(  # by `rows_by_inputs`: its condition is the last term
            "SELECT row_id FROM rows WHERE watch = ? AND fingerprint = ? AND fingerprint <> ''",
            (watch, fingerprint),
        )
        return [r[0] for r in rows]

    def known_ids(self, watch: str, row_ids: Iterable[str]) -> set[str]:
        """Which of these ids the journal has a row for (many: one walk of the watch's ids,
        not one lookup each)."""
        wanted = list(dict.fromkeys(row_ids))
        if len(wanted) > MANY_IDS:
            rows = self._query("SELECT row_id FROM rows WHERE watch = ?", (watch,))
            return {r[0] for r in rows}.intersection(wanted)
        known: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                f"SELECT row_id FROM rows WHERE watch = ? AND row_id IN ({marks})", (watch, *chunk)
            )
            known.update(r[0] for r in rows)
        return known


_DROP = "DELETE FROM strays WHERE watch = ? AND row_id = ? AND fingerprint = ?"


def _dump(cells: Cells | None) -> str | None:
    return None if cells is None else json.dumps([list(pair) for pair in cells])


def _cells(text: str | None) -> Cells | None:
    return None if text is None else _pairs(json.loads(text))


def _pairs(pairs: Iterable[Sequence[Any]]) -> Cells:
    return tuple((str(k), str(v)) for k, v in pairs)
