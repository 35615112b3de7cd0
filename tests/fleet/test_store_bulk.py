"""PostgreSQL: what a journal operation sends does not grow with the number of its rows.

A big sheet's `once` failed on PostgreSQL ("consuming input failed: Connection timed
out") while it marked 100,000 rows shown with one UPDATE each (README, Performance).
Each operation here runs on 10 rows and on 2,000 (of a fresh journal each time): the
statements it sends, counted at psycopg's cursor (an `executemany` counts one per
parameter set, as the server runs one statement each), must be as many on 2,000 rows as
on 10, and its effect must reach every row. A batch bigger than `pg_bulk.BATCH` is split:
every row still lands.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from sheetsync.adapters.store import pg_bulk
from sheetsync.adapters.store.journal_landing import MANY_IDS, Adoption, ShownRows
from sheetsync.adapters.store.journal_records import Outcome
from sheetsync.adapters.store.protocol import Store
from sheetsync.core.landing import Stray

if TYPE_CHECKING:
    from tests.fleet.conftest import Backend

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
SMALL, BIG = 10, 2_000
TABLES = "rows, events, places, strays, tombstones, runs, late_outcomes, plans, watches"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class Statements:
    """Statements psycopg sends from the test's thread."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import psycopg

        self.count = 0
        thread = threading.get_ident()
        execute, many = psycopg.Cursor.execute, psycopg.Cursor.executemany

        def one(cursor: Any, query: Any, params: Any = None, **kw: Any) -> Any:
            if threading.get_ident() == thread:
                self.count += 1
            return execute(cursor, query, params, **kw)

        def each(cursor: Any, query: Any, params_seq: Any, **kw: Any) -> Any:
            seq = list(params_seq)
            if threading.get_ident() == thread:
                self.count += len(seq)
            return many(cursor, query, seq, **kw)

        monkeypatch.setattr(psycopg.Cursor, "execute", one)
        monkeypatch.setattr(psycopg.Cursor, "executemany", each)

    def during(self, action: Callable[[], object]) -> int:
        """How many statements `action` sent."""
        before = self.count
        action()
        return self.count - before


Scenario = Callable[[Store, list[str], Statements], int]
"""Sets a journal up for rows `ids` of watch a, runs one operation on them (counted),
checks its effect on every row; returns the statements the operation sent."""


def claimed(store: Store, ids: list[str], *, sending: bool = False) -> None:
    store.claim("a", [(i, f"fp-{i}", "Scrape") for i in ids], at(0))
    if sending:
        store.mark_sending("a", ids, at(1))


def tracked(store: Store, ids: list[str]) -> None:
    claimed(store, ids, sending=True)
    store.record("a", ids, Outcome("triggered", "l"), at(2), poll=(at(7), 5.0))


def claim(store: Store, ids: list[str], counted: Statements) -> int:
    places = [(i, n, f"row {n}") for n, i in enumerate(ids, start=2)]
    rows = [(i, f"fp-{i}", "Scrape") for i in ids]
    sent = counted.during(lambda: store.claim("a", rows, at(0), places))
    assert store.counts("a") == {"claimed": len(ids)}
    assert store.ids_to_check("a") == set(ids)
    return sent


def skip(store: Store, ids: list[str], counted: Statements) -> int:
    sent = counted.during(lambda: store.skip("a", [(i, f"fp-{i}") for i in ids], at(0)))
    assert store.counts("a") == {"skipped": len(ids)}
    return sent


def mark_shown(store: Store, ids: list[str], counted: Statements) -> int:
    claimed(store, ids, sending=True)
    store.record("a", ids, Outcome("triggered", "https://v/1", "ok"), at(2))
    entries = list(store.unshown("a", at(3)).values())
    assert len(entries) == len(ids)
    places = {i: n for n, i in enumerate(ids, start=2)}
    sent = counted.during(lambda: store.mark_shown("a", entries, places))
    assert store.unshown("a", at(3)) == {}
    return sent


def mark_sending(store: Store, ids: list[str], counted: Statements) -> int:
    claimed(store, ids)
    sent = counted.during(lambda: store.mark_sending("a", ids, at(1)))
    assert store.counts("a") == {"sending": len(ids)}
    return sent


def mark_unsent(store: Store, ids: list[str], counted: Statements) -> int:
    claimed(store, ids, sending=True)
    sent = counted.during(lambda: store.mark_unsent("a", ids, at(2)))
    assert store.counts("a") == {"claimed": len(ids)}
    return sent


def mark_checked(store: Store, ids: list[str], counted: Statements) -> int:
    claimed(store, ids)
    sent = counted.during(lambda: store.mark_checked("a", ids))
    assert not store.has_unchecked("a")
    return sent


def abandon(store: Store, ids: list[str], counted: Statements) -> int:
    claimed(store, ids)
    sent = counted.during(lambda: store.abandon("a", ids, at(1)))
    assert store.counts("a") == {"abandoned": len(ids)} and len(store.tombstones("a")) == len(ids)
    return sent


def record(store: Store, ids: list[str], counted: Statements) -> int:
    claimed(store, ids, sending=True)
    outcome = Outcome("triggered", "l")
    sent = counted.during(lambda: store.record("a", ids, outcome, at(2), poll=(at(7), 5.0)))
    assert store.counts("a") == {"triggered": len(ids)}
    assert [len(run.rows) for run in store.due("a", at(7))] == [len(ids)]
    return sent


def record_waiting(store: Store, ids: list[str], counted: Statements) -> int:
    claimed(store, ids, sending=True)
    wait = Outcome("waiting", "", "quota", at(60), "quota")
    sent = counted.during(lambda: store.record("a", ids, wait, at(2)))
    assert set(store.waits("a", ids).values()) == {1}
    return sent


def reschedule(store: Store, ids: list[str], counted: Statements) -> int:
    tracked(store, ids)
    [run] = store.due("a", at(7))
    sent = counted.during(lambda: store.polled(run, "running", "running", (at(20), 10.0), at(7)))
    assert store.due("a", at(19)) == [] and len(store.due("a", at(20))[0].rows) == len(ids)
    return sent


def poll_failed(store: Store, ids: list[str], counted: Statements) -> int:
    tracked(store, ids)
    [run] = store.due("a", at(7))
    sent = counted.during(lambda: store.poll_failed(run, "timeout", (at(30), 20.0), at(7)))
    assert store.due("a", at(29)) == [] and len(store.due("a", at(30))[0].rows) == len(ids)
    return sent


def run_ended(store: Store, ids: list[str], counted: Statements) -> int:
    tracked(store, ids)
    [run] = store.due("a", at(7))
    sent = counted.during(lambda: store.polled(run, "success", "SUCCESS", (at(20), 5.0), at(7)))
    assert {e.run_status for e in store.entries("a", at(8)).values()} == {"success"}
    return sent


def expire(store: Store, ids: list[str], counted: Statements) -> int:
    tracked(store, ids)
    sent = counted.during(lambda: store.expire("a", at(50), "50 s", at(200)))
    assert store.in_flight("a") == 0
    return sent


def takeover(store: Store, ids: list[str], counted: Statements) -> int:
    claimed(store, ids, sending=True)
    sent = counted.during(lambda: store.recover(at(3)))
    assert store.counts("a") == {"unknown": len(ids)}
    return sent


def strays(store: Store, ids: list[str], counted: Statements) -> int:
    found = [Stray(i, f"fp-{i}", (("status", "ok"),), None) for i in ids]
    sent = counted.during(lambda: store.add_strays("a", found, [], at(1)))
    sent += counted.during(lambda: store.mark_strays_gone("a", found))
    assert [gone for _, gone in store.strays("a")] == [True] * len(ids)
    sent += counted.during(lambda: store.drop_strays("a", found))
    assert store.strays("a") == []
    return sent


def adopt(store: Store, ids: list[str], counted: Statements) -> int:
    rows = [Adoption(i, "triggered", f"fp-{i}", link="l", shown=False) for i in ids]
    sent = counted.during(lambda: store.adopt("a", rows, at(1), "adopted"))
    like = Adoption("", "triggered", "fp", link="l")
    others = [f"o{i}" for i in ids]
    sent += counted.during(lambda: store.adopt_alike("a", like, others, at(1), "adopted"))
    own = [(f"s{i}", f"https://run/{i}", "", "") for i in ids]
    sent += counted.during(
        lambda: store.adopt_shown("a", like, ShownRows.of(own), at(1), "adopted")
    )
    assert store.counts("a") == {"triggered": 3 * len(ids)}
    assert set(store.unshown("a", at(1))) == set(ids)
    assert store.entries_needed("a", at(1), [own[-1][0]])[own[-1][0]].link == own[-1][1]
    return sent


def reads(store: Store, ids: list[str], counted: Statements) -> int:
    claimed(store, ids)
    sent = counted.during(lambda: store.known_ids("a", ids))
    sent += counted.during(lambda: store.entries_needed("a", at(1), ids))
    sent += counted.during(lambda: store.ids_to_check("a"))
    assert store.known_ids("a", ids) == set(ids) and store.ids_to_check("a") == set(ids)
    return sent


SCENARIOS: list[Scenario] = [
    claim,
    skip,
    mark_shown,
    mark_sending,
    mark_unsent,
    mark_checked,
    abandon,
    record,
    record_waiting,
    reschedule,
    poll_failed,
    run_ended,
    expire,
    takeover,
    strays,
    adopt,
    reads,
]


@pytest.fixture
def fresh(pg_backend: Backend) -> Iterator[Callable[[], Store]]:
    """A store on an emptied journal (the leases kept), each time it is called."""
    store = pg_backend.open()

    def emptied() -> Store:
        pg_backend.execute(f"TRUNCATE {TABLES}")
        return store

    yield emptied


def row_ids(n: int) -> list[str]:
    return [f"r{i:05d}" for i in range(n)]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_statements_do_not_grow_with_the_rows(
    scenario: Scenario, fresh: Callable[[], Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As many statements for 2,000 rows as for 10, and a handful at that."""
    counted = Statements(monkeypatch)
    small = scenario(fresh(), row_ids(SMALL), counted)
    big = scenario(fresh(), row_ids(BIG), counted)
    print(scenario.__name__, small, big)
    assert (small, big) == (small, small)
    assert 0 < big <= 25


@pytest.mark.parametrize("scenario", [claim, mark_shown, record, strays, adopt, takeover])
def test_a_write_bigger_than_a_batch_is_split_and_reaches_every_row(
    scenario: Scenario, fresh: Callable[[], Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches of 7: 20 rows take more statements than 5 rows, and every row lands."""
    monkeypatch.setattr(pg_bulk, "BATCH", 7)
    counted = Statements(monkeypatch)
    few = scenario(fresh(), row_ids(5), counted)
    many = scenario(fresh(), row_ids(20), counted)
    assert many > few


def test_many_ids_are_looked_up_a_batch_at_a_time(
    fresh: Callable[[], Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`known_ids` of a big tab's 100,000 ids (a first cycle) sends them `MANY_IDS` at a
    time: as one array parameter they raised the client's peak by some 20 MB."""
    store = fresh()
    store.adopt(
        "a", [Adoption("x5000", "triggered", "fp"), Adoption("x12000", "foreign", "")], at(0), "t"
    )
    import psycopg

    sizes: list[int] = []
    execute = psycopg.Cursor.execute

    def sized(cursor: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        sizes.extend(len(p) for p in params or () if isinstance(p, list))
        return execute(cursor, query, params, **kw)

    monkeypatch.setattr(psycopg.Cursor, "execute", sized)
    ids = {f"x{i}": i for i in range(12_001)}  # a dict, as `Scan.holders` is
    assert store.known_ids("a", ids) == {"x5000", "x12000"}
    assert sizes == [MANY_IDS, MANY_IDS, 2_001]
    sizes.clear()
    assert store.known_ids("a", ["x5000", "x1", "x5000"]) == {"x5000"}
    assert sizes == [2]  # each id once
