"""Every query a narrow cycle asks the journal is served by an index narrower than the watch.

On a big tab the journal holds one row per sheet row. A query that walks a whole watch
costs tens of milliseconds at 100,000 rows, on every cycle. SQLite picks its plan without
statistics, so an ORDER BY or a missing index quietly turns a lookup into such a walk:
`EXPLAIN QUERY PLAN` of each statement a cycle really ran says which it is.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest

import sheetsync.core.narrow
from sheetsync.adapters.store.sqlite import SqliteStore
from sheetsync.testing import AUTOMATION, World

pytestmark = pytest.mark.sqlite_only(
    "SQLite's query plans and partial indexes (EXPLAIN QUERY PLAN on the journal file)"
)

HEADER = ["url", "product"]
_STEP = re.compile(r"(SCAN|SEARCH) rows(?: USING (?:COVERING )?INDEX (\w+))?(?: \((.*)\))?")


def rows(first: int, last: int) -> list[list[str]]:
    return [[f"https://shop.example/{i}", f"P{i}"] for i in range(first, last + 1)]


def settle(world: World, done: int) -> None:
    """Cycles a minute apart until `done` runs have ended (one runs at a time)."""
    for _ in range(20 * done):
        world.clock.advance(60)
        world.once()
        if world.column("Run status").count("success") == done:
            return
    raise AssertionError(world.column("Run status"))


def walks(detail: str, partial: set[str]) -> bool:
    """Whether a step of a query plan visits every row of a watch (or of the table).

    A partial index holds only the few rows in its condition (running, not shown...).
    """
    match = _STEP.match(detail)
    if match is None:
        return False
    kind, index, terms = match.groups()
    if index in partial:
        return False
    return kind == "SCAN" or terms in (None, "watch=?")


def plan(db: sqlite3.Connection, sql: str, params: Any) -> list[str]:
    """The plan of the statement as it ran: the same text, the same bound parameters."""
    return [step[3] for step in db.execute(f"EXPLAIN QUERY PLAN {sql}", params)]


class Recorder:
    """Stands in for the journal's connection and keeps each statement it ran (and the
    parameters of one run of it)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.asked: dict[str, Any] = {}

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        if sql.lstrip().split(" ", 1)[0] in {"SELECT", "UPDATE", "DELETE"}:
            self.asked.setdefault(sql, params)
        return self.db.execute(sql, params)

    def executemany(self, sql: str, seq: Any) -> sqlite3.Cursor:
        seq = list(seq)
        if seq:
            self.asked.setdefault(sql, seq[0])
        return self.db.executemany(sql, seq)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


def partial_indexes(db: sqlite3.Connection) -> set[str]:
    found = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'"
    )
    return {name for (name,) in found}


def test_the_walk_detector_knows_a_walk() -> None:
    """The rule itself, on plans SQLite really printed before the indexes were fixed."""
    partial = {"rows_sending", "rows_polled"}
    assert walks("SEARCH rows USING INDEX sqlite_autoindex_rows_1 (watch=?)", partial)
    assert walks("SEARCH rows USING INDEX rows_by_state (watch=?)", partial)
    assert walks("SCAN rows", partial)
    assert not walks("SEARCH rows USING INDEX rows_by_state (watch=? AND state=?)", partial)
    assert not walks(
        "SEARCH rows USING INDEX sqlite_autoindex_rows_1 (watch=? AND row_id=?)", partial
    )
    assert not walks("SCAN rows USING INDEX rows_sending", partial)
    assert not walks("SEARCH rows USING INDEX rows_polled (watch=? AND poll_at<?)", partial)


def test_narrow_cycles_never_walk_the_journal(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New rows, tracked runs polled to the end, a quota wait and its retry, a restart's
    recovery: not one statement visits every row of the watch."""
    monkeypatch.setattr(sheetsync.core.narrow, "NARROW_FROM_ROWS", 0)
    world.sheet([["url", "product"], *rows(1, 6)])
    world.config({"track_runs": True, "max_in_flight": 1})
    world.axiom.set_run_statuses(AUTOMATION, ["Running", "Success"] * 9)
    settle(world, 2)
    journal = world.runtime().journal
    assert isinstance(journal, SqliteStore)
    recorder = Recorder(journal.db)
    journal.db = recorder  # type: ignore[assignment]

    sheet = world.spreadsheet_id
    for i, row in enumerate(rows(7, 9)):
        world.google.insert_rows(sheet, "Queue", 8 + i, values=[row])
    world.axiom.set_quota_exceeded(True)
    world.once()
    world.axiom.set_quota_exceeded(False)
    world.axiom.remaining = {"used": 100, "allowance": 600, "remaining": 500}
    settle(world, 9)
    journal.recover(world.clock.now)
    journal.db = recorder.db

    assert world.column("Run status") == ["success"] * 9  # every path above really ran
    assert len(recorder.asked) >= 15, sorted(recorder.asked)
    for part in ("wait_reason = ?", "COUNT(DISTINCT trigger_id)", "poll_at <= ?", "'sending'"):
        assert any(part in sql for sql in recorder.asked), part  # quota, slots, polls, recovery
    walking = {sql: plan(recorder.db, sql, params) for sql, params in recorder.asked.items()}
    partial = partial_indexes(recorder.db)
    assert {"rows_to_show", "rows_running", "rows_polled", "rows_in_flight"} <= partial
    bad = {sql: steps for sql, steps in walking.items() if any(walks(s, partial) for s in steps)}
    assert not bad, "\n".join(f"{sql}\n    {' / '.join(steps)}" for sql, steps in bad.items())


def test_rows_by_their_inputs_are_found_without_a_walk(tmp_path: Any) -> None:
    """`ids_with_fingerprint` (a stray's past, a skipped row back from an undo) searches
    an index: 20,000 rows, the plan and the rows visited."""
    from datetime import UTC, datetime

    from sheetsync.adapters.store.journal import Journal

    journal = Journal(tmp_path / "j.db")
    try:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        journal.skip("w", [(f"r{i}", f"fp{i}") for i in range(20_000)], now)
        ran: list[str] = []
        journal.db.set_trace_callback(ran.append)  # the statement as run, values in place
        assert journal.ids_with_fingerprint("w", "fp7") == ["r7"]
        journal.db.set_trace_callback(None)
        (asked,) = [sql for sql in ran if "fingerprint" in sql]
        db = sqlite3.connect(tmp_path / "j.db")
        plan = db.execute(f"EXPLAIN QUERY PLAN {asked}").fetchall()
        db.close()
        assert any("INDEX rows_by_inputs (watch=? AND fingerprint=?)" in p[-1] for p in plan)
    finally:
        journal.close()


def test_a_restart_keeps_the_saved_read_plans(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: the start-up recovery leaves every watch's read plan in place, so a big
    tab's first cycle after a restart is narrow, as before the journal became a store (a
    PostgreSQL takeover drops the unit's plans instead: another instance served it)."""
    monkeypatch.setattr(sheetsync.core.narrow, "NARROW_FROM_ROWS", 0)
    world.sheet([HEADER, *rows(1, 3)])
    world.config()
    world.once()
    world.once()
    plan = world.runtime().journal.read_plan("w0")
    assert plan is not None
    world.close_runtime()
    assert world.runtime().journal.read_plan("w0") == plan


def test_rows_recorded_without_inputs_stay_out_of_the_inputs_index(tmp_path: Any) -> None:
    """A lost journal adopts a big tab's rows without their inputs (an empty fingerprint):
    they are not indexed by inputs, and a journal from before (`rows_by_fingerprint`, every
    row) loses that index at its next open."""
    from datetime import UTC, datetime

    from sheetsync.adapters.store.journal import Journal
    from sheetsync.adapters.store.journal_landing import Adoption

    path = tmp_path / "j.db"
    journal = Journal(path)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        like = Adoption("", "triggered", "")
        journal.adopt_alike("w", like, [f"r{i:03d}" for i in range(300)], now, "lost")
        journal.skip("w", [("s1", "fp1")], now)
    finally:
        journal.close()
    db = sqlite3.connect(path)
    try:
        partial = {r[1]: r[4] for r in db.execute("PRAGMA index_list(rows)")}
        assert partial["rows_by_inputs"] == 1  # a partial index (the review: not only named)
        (sql,) = db.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'rows_by_inputs'"
        ).fetchone()
        assert sql.endswith("WHERE fingerprint <> ''")
        db.execute("CREATE INDEX rows_by_fingerprint ON rows (watch, fingerprint)")
        db.commit()
    finally:
        db.close()
    Journal(path).close()
    db = sqlite3.connect(path)
    try:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    finally:
        db.close()
    assert "rows_by_fingerprint" not in names and "rows_by_inputs" in names
