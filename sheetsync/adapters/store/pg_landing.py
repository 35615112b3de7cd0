"""The journal's part in checking writes, on PostgreSQL (`journal_landing`'s records).

Strays (rows a write hit by mistake), the aims of a write in flight, and rows adopted
with an id of sheetsync's own: the same tables, JSON and meanings as the SQLite journal
(its encoders are reused, so a migrated journal reads back the same). Every write is of
the watch's unit: fenced. Strays sharing a time come back in (row id, fingerprint)
order, byte-wise, as SQLite's sort leaves them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime
from itertools import islice
from operator import attrgetter

from sheetsync.adapters.store.journal_landing import (
    MANY_IDS,
    Adoption,
    ShownRows,
    _cells,
    _dump,
    _pairs,
)
from sheetsync.adapters.store.journal_records import ADOPTED_EVENT, adopted_detail, iso
from sheetsync.adapters.store.pg_base import PgBase
from sheetsync.adapters.store.pg_bulk import (
    each_batch,
    histories_of,
    history_of,
    last_by_key,
    rows_of,
    run,
)
from sheetsync.core.landing import Sent, Stray

_KEYS = rows_of("row_id text", "fingerprint text")

_DROP = (
    "DELETE FROM strays s USING " + _KEYS + " u WHERE s.watch = %s AND s.row_id = u.row_id"
    " AND s.fingerprint = u.fingerprint"
)

_GONE = (
    "UPDATE strays s SET gone = %s FROM " + _KEYS + " u WHERE s.watch = %s"
    " AND s.row_id = u.row_id AND s.fingerprint = u.fingerprint"
)

_STRAYS = (
    "INSERT INTO strays (watch, row_id, fingerprint, wrote, prior, at, gone)"
    " SELECT %s, row_id, fingerprint, wrote, prior, %s, false FROM "
    + rows_of("row_id text", "fingerprint text", "wrote text", "prior text")
    + " u ON CONFLICT (watch, row_id, fingerprint) DO UPDATE SET wrote = excluded.wrote,"
    " prior = excluded.prior, at = excluded.at, gone = false"
)

_INTO_ROWS = (
    "INSERT INTO rows (watch, row_id, state, fingerprint, link, message,"
    " triggered_at, run_status, next_attempt_at, updated_at, checked, shown)"
)
"""The start of an adoption's insert (each ends ON CONFLICT DO NOTHING: a known row stays)."""

_ADOPT = (
    _INTO_ROWS + " SELECT %s, row_id, state, fingerprint, link, message, triggered_at, run_status,"
    " CASE WHEN due THEN %s ELSE '' END, %s, true, shown FROM "
    + rows_of(
        *("row_id text", "state text", "fingerprint text", "link text", "message text"),
        *("triggered_at text", "run_status text", "due boolean", "shown boolean"),
    )
    + " u ON CONFLICT DO NOTHING"
)

_ADOPT_ALIKE = (
    _INTO_ROWS
    + " SELECT %s, row_id, %s, %s, %s, %s, %s, %s, %s, %s, true, %s FROM "
    + rows_of("row_id text")
    + " u ON CONFLICT DO NOTHING"
)


_ADOPT_SHOWN = (
    _INTO_ROWS
    + " SELECT %s, row_id, %s, %s, link, message, triggered_at, %s, %s, %s, true, %s FROM "
    + rows_of("row_id text", "link text", "message text", "triggered_at text")
    + " u ON CONFLICT DO NOTHING"
)


class LandingSql(PgBase):
    """`LandingRecords`' reads and writes."""

    # -- strays ------------------------------------------------------------------
    def add_strays(
        self, watch: str, strays: Sequence[Stray], replaced: Iterable[Stray], now: datetime
    ) -> None:
        """Remember rows a write hit by mistake (and forget the strays they replace)."""
        stamp = iso(now)
        kept = [(*s.key, _dump(s.wrote), _dump(s.prior)) for s in strays]
        lines = [
            (stamp, watch, s.row_id or "*", "stray", f"a write hit it; {_told(s)}") for s in strays
        ]
        statements = [
            *each_batch(_DROP, [old.key for old in replaced], after=(watch,)),
            *each_batch(_STRAYS, last_by_key(kept, width=2), watch, stamp),
            *histories_of(lines),
        ]
        with self._tx(watch) as conn:
            run(conn, statements)

    def strays(self, watch: str) -> list[tuple[Stray, bool]]:
        """The rows still showing a write that missed its row, oldest first, each with
        whether its row was last seen gone (deleted: an undo may bring it back)."""
        found = self._rows(
            "SELECT row_id, fingerprint, wrote, prior, gone FROM strays WHERE watch = %s"
            ' ORDER BY at COLLATE "C", row_id COLLATE "C", fingerprint COLLATE "C"',
            (watch,),
        )
        return [(Stray(r[0], r[1], _cells(r[2]) or (), _cells(r[3])), bool(r[4])) for r in found]

    def drop_strays(self, watch: str, strays: Iterable[Stray]) -> None:
        """These strays were put back."""
        statements = each_batch(_DROP, [s.key for s in strays], after=(watch,))
        if statements:
            with self._tx(watch) as conn:
                run(conn, statements)

    def mark_strays_gone(self, watch: str, strays: Iterable[Stray], gone: bool = True) -> None:
        """These strays' rows left the sheet (or, `gone=False`, came back)."""
        statements = each_batch(_GONE, [s.key for s in strays], gone, after=(watch,))
        if statements:
            with self._tx(watch) as conn:
                run(conn, statements)

    # -- writes in flight ----------------------------------------------------------
    def expect_answer(self, watch: str, rows: Sequence[Sent]) -> None:
        """Before a write: what its rows must show, checked by the next read if no answer
        comes (a crash, a dropped connection)."""
        data = [[r.row_id, r.signature, r.wrote, r.skip, r.before, r.written] for r in rows]
        with self._tx(watch) as conn:
            conn.execute(
                "INSERT INTO unanswered VALUES (%s, %s)"
                " ON CONFLICT (watch) DO UPDATE SET aims = excluded.aims",
                (watch, json.dumps(data)),
            )

    def answered(self, watch: str) -> None:
        """The write's answer came (or it was refused): nothing left to check."""
        with self._tx(watch) as conn:
            conn.execute("DELETE FROM unanswered WHERE watch = %s", (watch,))

    def unanswered(self, watch: str) -> list[Sent]:
        """The rows of a write whose answer never came."""
        found = self._rows("SELECT aims FROM unanswered WHERE watch = %s", (watch,))
        if not found:
            return []
        return [
            Sent(str(r[0]), str(r[1]), _pairs(r[2]), tuple(r[3]), _pairs(r[4]), bool(r[5]))
            for r in json.loads(found[0][0])
        ]

    def needs_whole_read(self, watch: str) -> bool:
        """Whether a stray or an unanswered write waits to be checked against every row."""
        found = self._rows(
            "SELECT EXISTS (SELECT 1 FROM strays WHERE watch = %s AND NOT gone)"
            " OR EXISTS (SELECT 1 FROM unanswered WHERE watch = %s)",
            (watch, watch),
        )
        return bool(found[0][0])

    # -- rows the journal did not know ---------------------------------------------
    def adopt(self, watch: str, rows: Sequence[Adoption], now: datetime, why: str) -> None:
        """Record rows the journal did not know (never replacing a row it knows)."""
        stamp = iso(now)
        adopted = [
            (
                *(row.row_id, row.state, row.fingerprint, row.link, row.message),
                *(row.triggered_at, row.run_status, row.due, row.shown),
            )
            for row in sorted(rows, key=attrgetter("row_id"))  # as SQLite's: in key order
        ]
        statements = [
            *each_batch(_ADOPT, adopted, watch, stamp, stamp),
            *histories_of(
                [
                    (stamp, watch, r.row_id, ADOPTED_EVENT, adopted_detail(why, r.state))
                    for r in rows
                ]
            ),
        ]
        with self._tx(watch) as conn:
            run(conn, statements)

    def adopt_alike(
        self, watch: str, like: Adoption, row_ids: Sequence[str], now: datetime, why: str
    ) -> None:
        """`adopt` rows that show the same cells (`like`, its row id aside), a statement a
        batch, and one history line."""
        stamp, ids = iso(now), list(row_ids)
        alike = (
            *(watch, like.state, like.fingerprint, like.link, like.message),
            *(like.triggered_at, like.run_status, stamp if like.due else "", stamp, like.shown),
        )
        statements = [
            *each_batch(_ADOPT_ALIKE, [[i] for i in ids], *alike),
            *history_of(stamp, watch, ["*"], ADOPTED_EVENT, adopted_detail(why, like.state, ids)),
        ]
        with self._tx(watch) as conn:
            run(conn, statements)

    def adopt_shown(
        self, watch: str, like: Adoption, rows: ShownRows, now: datetime, why: str
    ) -> None:
        """`adopt_alike` rows that differ in their link, message and time triggered (see
        `LandingRecords.adopt_shown`): a statement a batch, and one history line."""
        stamp, ordered = iso(now), rows.in_key_order()
        alike = (watch, like.state, like.fingerprint, like.run_status)
        statements = [
            *each_batch(
                _ADOPT_SHOWN, ordered.rows(), *alike, stamp if like.due else "", stamp, like.shown
            ),
            *history_of(
                stamp,
                watch,
                ["*"],
                ADOPTED_EVENT,
                adopted_detail(why, like.state, ordered.row_ids),
            ),
        ]
        with self._tx(watch) as conn:
            run(conn, statements)

    def ids_with_fingerprint(self, watch: str, fingerprint: str) -> list[str]:
        """The rows of a watch recorded with these inputs (none for `""`: no inputs)."""
        found = self._rows(
            "SELECT row_id FROM rows WHERE watch = %s AND fingerprint = %s AND fingerprint <> ''"
            ' ORDER BY row_id COLLATE "C"',
            (watch, fingerprint),
        )
        return [r[0] for r in found]

    def known_ids(self, watch: str, row_ids: Iterable[str]) -> set[str]:
        """Which of these ids the journal has a row for: a statement per `MANY_IDS` ids
        (the 100,000 ids of a big tab's first cycle as one array parameter raised the
        client's peak by some 20 MB)."""
        unique = row_ids if isinstance(row_ids, Mapping | AbstractSet) else dict.fromkeys(row_ids)
        ids = iter(unique)
        known: set[str] = set()
        while chunk := list(islice(ids, MANY_IDS)):
            found = self._rows(
                "SELECT row_id FROM rows WHERE watch = %s AND row_id = ANY(%s)", (watch, chunk)
            )
            known.update(r[0] for r in found)
        return known


def _told(found: Stray) -> str:
    """What a stray's history line says of its row."""
    return "what it held is kept" if found.prior is not None else "nothing tells"
