"""`migrate_state`: a SQLite journal moved into an empty PostgreSQL database reads the same,
keeps its paces and gates, and turns its `sending` rows `unknown` at the first takeover;
a used target, a served one, or a journal in use is refused.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest

from sheetsync.adapters.axiom.outage import OutageGate
from sheetsync.adapters.pacing import RollingLimiter
from sheetsync.adapters.store.journal_landing import Adoption
from sheetsync.adapters.store.journal_records import Outcome
from sheetsync.adapters.store.postgres import PostgresStore
from sheetsync.adapters.store.sqlite import SqliteStore
from sheetsync.adapters.store.state_migration import migrate_state
from sheetsync.adapters.store.units import plain_units
from sheetsync.core.landing import Sent, Stray
from sheetsync.errors import JournalError, JournalReason, StoreError, StoreReason
from sheetsync.testing import Clock

if TYPE_CHECKING:
    from tests.fleet.conftest import Backend

HIT = Stray("r9", "F", (("status", "sending"), ("id", "r9")), (("status", ""), ("id", "")))
UNTOLD = Stray("", "G", (("status", "ok"),), None)
UNITS = plain_units({"a": "S1", "b": "S1", "c": "S2"})
BUDGET = "axiom-0123456789abcdef"


def at(clock: Clock, seconds: float) -> datetime:
    return clock.start + timedelta(seconds=seconds)


def a_used_journal(path: Path, clock: Clock) -> None:
    """A journal with a row in every state a cycle leaves, and everything around them."""
    store = SqliteStore(path, UNITS, now=clock)
    store.open()
    store.acquire()
    ids = [f"r{i}" for i in range(1, 9)]
    rows = [(rid, f"fp-{rid}", "Scrape") for rid in ids]
    store.claim("a", rows, at(clock, 0), [(rid, n, f"inputs {rid}") for n, rid in enumerate(ids)])
    store.mark_sending("a", ["r1", "r2", "r3", "r4", "r5"], at(clock, 1))
    store.record(
        "a",
        ["r2"],
        Outcome("triggered", "https://v/2", "ok"),
        at(clock, 2),
        poll=(at(clock, 30), 30.0),
    )
    store.record("a", ["r3"], Outcome("triggered", "https://v/3", "ok"), at(clock, 3))
    store.record(
        "a", ["r4"], Outcome("waiting", "", "quota", at(clock, 600), "quota"), at(clock, 4)
    )
    store.record("a", ["r5"], Outcome("error", "", "boom"), at(clock, 5))
    store.abandon("a", ["r6"], at(clock, 6))
    store.mark_checked("a", ["r2", "r3"])
    store.mark_shown("a", [store.entries("a", at(clock, 7))["r3"]], {"r3": 40})
    store.skip("b", [("s1", "f1"), ("s2", "f2")], at(clock, 8))
    store.adopt("b", [Adoption("x1", "foreign", "fx")], at(clock, 9), "a write hit it")
    store.claim("c", [("z1", "fz", "Scrape")], at(clock, 10))
    store.mark_sending("c", ["z1"], at(clock, 10))
    store.record(
        "c",
        ["z1"],
        Outcome("triggered", "https://v/z", "ok"),
        at(clock, 11),
        poll=(at(clock, 40), 30.0),
    )  # a later run of Scrape: a/r2 is overlapped
    for watch in ("a", "b"):
        store.mark_started(watch, at(clock, 12))
    store.add_strays("a", [HIT, UNTOLD], (), at(clock, 12))
    store.mark_strays_gone("a", [UNTOLD])
    store.expect_answer("c", [Sent("z1", "S", (("status", "sending"),), (2,), ())])
    store.save_plan("a", '{"plan": 1}')
    store.save_cycle("a", at(clock, 13), 2, 1, "")
    limiter = RollingLimiter(2, 60.0, clock=clock.monotonic, sleep=clock.sleep, name=BUDGET)
    store.pace(limiter, clock).acquire()
    gate = OutageGate(clock=clock.monotonic, wall=clock)
    store.keep_gate(gate, BUDGET)
    assert gate.admit()
    gate.settle(False, "HTTP 504")
    store.close()


def views(store: SqliteStore | PostgresStore, now: datetime) -> dict[str, object]:
    """What a cycle and an operator read of every watch."""
    found: dict[str, object] = {}
    for watch in ("a", "b", "c"):
        found[watch] = (
            store.entries(watch, now),
            store.counts(watch),
            store.latest(watch, 100),
            store.has_started(watch),
            store.read_plan(watch),
            store.row_views(watch, limit=100),
            store.last_cycle(watch),
            store.waiting_by_reason(watch),
            store.in_flight(watch),
            store.due(watch, now + timedelta(hours=1)),
            store.due_waiting(watch, "quota", now + timedelta(hours=1)),
            store.strays(watch),
            store.unanswered(watch),
            store.needs_whole_read(watch),
            store.known_ids(watch, ["r1", "s1", "x1", "z1", "nope"]),
            store.ids_with_fingerprint(watch, "fp-r3"),
        )
    found["running"] = store.running(["Scrape"])
    found["today"] = store.triggered_since(now - timedelta(days=1))
    return found


def test_a_migrated_journal_reads_the_same(tmp_path: Path, pg_backend: Backend) -> None:
    """Every read of every watch is the same before the first takeover; then the journal's
    `sending` rows are `unknown`, never sent again; the pace and the gate hold."""
    clock, pg_url = pg_backend.clock, pg_backend.target
    path = tmp_path / "state.db"
    a_used_journal(path, clock)
    clock.advance(20)
    before = SqliteStore(path, UNITS, lock=False)
    expected = views(before, clock.now)
    before.close()
    migrated = migrate_state(path, pg_url, now=clock)
    assert migrated.copied["rows"] == 12 and migrated.copied["events"] > 12
    assert migrated.copied["quota_calls"] == 1 and migrated.copied["strays"] == 2
    store = pg_backend.make(UNITS)
    assert isinstance(store, PostgresStore)
    store.open()
    assert not store.created and store.created_at == "2026-01-05T09:00:00Z"
    assert views(store, clock.now) == expected
    recovered = {e.unit: e.recovered for e in store.acquire()}
    assert recovered == {"S1": 1, "S2": 0}
    assert store.entries("a", clock.now)["r1"].state == "unknown"
    pace = store.pace(RollingLimiter(2, 60.0, name=BUDGET), clock)
    pace.acquire()
    assert pace.delay() == pytest.approx(40.0)  # the journal's call at 0 s, 20 s ago
    gate = OutageGate(clock=clock.monotonic, wall=clock)
    store.keep_gate(gate, BUDGET)
    assert gate.state == "closed"
    tracked = store.running(["Scrape"])
    assert [t.rows for t in tracked] == [(("c", "z1"),)]
    store.polled(tracked[0], "success", "SUCCESS", (clock.now, 30.0), clock.now)
    assert store.entries("a", clock.now)["r2"].run_status == "untracked"  # as SQLite does


def test_a_target_with_state_is_refused_and_left_alone(tmp_path: Path, pg_url: str) -> None:
    """Merging two journals could lose which rows were sent: a used target is refused."""
    clock = Clock()
    path = tmp_path / "state.db"
    a_used_journal(path, clock)
    migrate_state(path, pg_url, now=clock)
    with pytest.raises(StoreError) as refused:
        migrate_state(path, pg_url, now=clock)
    assert refused.value.reason is StoreReason.CONFLICT and "rows" in str(refused.value)
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT count(*) FROM rows").fetchone()
    assert row == (12,)


def test_a_served_target_and_a_journal_in_use_are_refused(tmp_path: Path, pg_url: str) -> None:
    """An instance serving the database, a sheetsync running on the journal, or no
    journal at the path: refused."""
    clock = Clock()
    path = tmp_path / "state.db"
    a_used_journal(path, clock)
    serving = PostgresStore(pg_url, UNITS)
    serving.open()
    serving.acquire()
    try:
        with pytest.raises(StoreError) as refused:
            migrate_state(path, pg_url)
        assert refused.value.reason is StoreReason.CONFLICT and "instance" in str(refused.value)
    finally:
        serving.close()
    running = SqliteStore(path, UNITS)
    try:
        with pytest.raises(JournalError) as locked:
            migrate_state(path, pg_url)
        assert locked.value.reason is JournalReason.LOCKED
    finally:
        running.close()
    with pytest.raises(JournalError, match="no journal there"):
        migrate_state(tmp_path / "typo.db", pg_url)
    assert not (tmp_path / "typo.db").exists()
    assert migrate_state(path, pg_url).copied["rows"] == 12
