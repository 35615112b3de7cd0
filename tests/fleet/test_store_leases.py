"""Leases on the real PostgreSQL: acquisition, renewal, expiry by the database clock,
takeover with a new epoch, fencing of the old holder, fair spreading and release.

Several `PostgresStore`s on one database stand for several instances. Local trust runs
on a fake clock; a lease expires when the database's clock says so (the tests move
`expires_at` into the database's past instead of waiting).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib.metadata import version

import psycopg
import pytest

from sheetsync.adapters.store.journal_records import Outcome
from sheetsync.adapters.store.leases import boottime
from sheetsync.adapters.store.postgres import PostgresStore
from sheetsync.adapters.store.protocol import Change, LeaseEvent
from sheetsync.adapters.store.settings import TEST_TIMINGS, LeaseTimings
from sheetsync.adapters.store.units import Units, plain_units
from sheetsync.distribution import DISTRIBUTION
from sheetsync.errors import LeaseLostError

NOW = datetime(2025, 1, 1, tzinfo=UTC)
FOUR = plain_units({"a": "S1", "b": "S2", "c": "S3", "d": "S4"})


class Clock:
    """A fake CLOCK_BOOTTIME."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fleet(pg_url: str) -> Iterator[Callable[..., PostgresStore]]:
    """Opens stores (instances) on one fresh database; closes them all afterwards."""
    made: list[PostgresStore] = []

    def make(
        units: Units = FOUR,
        clock: Callable[[], float] | None = None,
        timings: LeaseTimings = TEST_TIMINGS,
    ) -> PostgresStore:
        store = PostgresStore(pg_url, units, timings=timings, clock=clock or Clock())
        store.open()
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


def expire(pg_url: str, unit: str) -> None:
    """Let the database's clock pass the lease's end (as if `lease` seconds went by)."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE leases SET expires_at = now() - interval '1 second' WHERE unit = %s", (unit,)
        )


def acquired(events: list[LeaseEvent]) -> list[str]:
    return sorted(e.unit for e in events if e.change is Change.ACQUIRED)


def test_units_spread_fairly_over_instances(fleet: Callable[..., PostgresStore]) -> None:
    """Alone, an instance takes every unit; peers joining get ceil(units / live) each."""
    a = fleet()
    assert acquired(a.acquire()) == ["S1", "S2", "S3", "S4"]
    b, c = fleet(), fleet()
    assert b.acquire() == [] and c.acquire() == []  # nothing free yet
    lost = a.acquire()  # three live instances: a keeps ceil(4 / 3) = 2
    assert [e.change for e in lost] == [Change.LOST, Change.LOST]
    b.acquire()
    c.acquire()
    counts = sorted(len(s.held()) for s in (a, b, c))
    assert counts == [0, 2, 2] and sum(counts) == 4
    held = [set(s.held()) for s in (a, b, c)]
    assert held[0] | held[1] | held[2] == {"S1", "S2", "S3", "S4"}
    assert not (held[0] & held[1] or held[1] & held[2] or held[0] & held[2])
    assert len(a.instances()) == 3
    assert {i.version for i in a.instances()} == {version(DISTRIBUTION)}  # not "unknown"
    assert {h.holder for h in a.holdings()} == {s.holder for s in (a, b, c) if s.held()}


def test_expiry_is_by_the_database_clock_and_takeover_bumps_the_epoch(
    fleet: Callable[..., PostgresStore], pg_url: str
) -> None:
    """A lease the database says is over goes to a peer at epoch + 1; the old holder's
    transactions are refused from then on, although its own clock still trusts it."""
    clock = Clock()
    a = fleet(plain_units({"a": "S1"}), clock)
    a.acquire()
    epoch = a.held()["S1"]
    b = fleet(plain_units({"a": "S1"}))
    assert b.acquire() == []  # not expired by the database's clock
    expire(pg_url, "S1")
    assert acquired(b.acquire()) == ["S1"]
    assert b.held() == {"S1": epoch + 1}
    assert a.trusted("S1")  # a's clock alone cannot tell...
    with pytest.raises(LeaseLostError) as refused:
        a.claim("a", [("r1", "fp", "Scrape")], NOW)  # ...but its fence can
    assert (refused.value.unit, refused.value.epoch) == ("S1", epoch)
    assert b.entries("a", NOW) == {}
    assert [(e.change, e.epoch) for e in a.renew()] == [(Change.LOST, epoch)]
    assert not a.trusted("S1")


def test_local_trust_ends_before_the_lease_and_renewal_extends_it(
    fleet: Callable[..., PostgresStore], pg_url: str
) -> None:
    """Trust lasts lease - margin from the attempt's start; a renewal extends the lease in
    the database (by its clock) and the trust."""
    clock = Clock()
    a = fleet(plain_units({"a": "S1"}), clock)
    a.acquire()
    clock.now += TEST_TIMINGS.lease - TEST_TIMINGS.trust_margin - 0.01
    assert a.trusted("S1")
    clock.now += 0.02
    assert not a.trusted("S1")
    expire(pg_url, "S1")  # renewing an expired lease nobody took is safe: same epoch
    assert a.renew() == []
    assert a.trusted("S1")
    left = a.holdings()[0].expires_in
    assert TEST_TIMINGS.lease - 1 < left <= TEST_TIMINGS.lease


def test_a_takeover_waits_for_the_old_holders_open_transaction(
    fleet: Callable[..., PostgresStore], pg_url: str
) -> None:
    """The epoch bump waits until the old holder's fenced transaction commits: every commit
    of epoch e lands before the commit that creates e + 1."""
    units = plain_units({"a": "S1"})
    a, b = fleet(units), fleet(units)
    a.acquire()
    epoch = a.held()["S1"]
    result: list[LeaseEvent] = []
    with a.fenced("S1", epoch) as conn:
        conn.execute(
            "INSERT INTO events (at, watch, row_id, state) VALUES ('x', 'a', 'r', 'old holder')"
        )
        expire(pg_url, "S1")
        taker = threading.Thread(target=lambda: result.extend(b.acquire()))
        taker.start()
        assert wait_for_lock_wait(pg_url), "the takeover did not wait for the open transaction"
        assert taker.is_alive() and result == []
    taker.join(timeout=10)
    assert acquired(result) == ["S1"] and b.held() == {"S1": epoch + 1}
    assert [e.state for e in b.latest("a")] == ["old holder"]
    with pytest.raises(LeaseLostError), a.fenced("S1", epoch):
        pass


def wait_for_lock_wait(pg_url: str) -> bool:
    """Whether some backend is seen waiting on a lock (polled for at most 5 s)."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for _ in range(500):
            found = conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()"
            ).fetchone()
            if found:
                return True
            time.sleep(0.01)
    return False


def test_release_hands_units_over_at_once(fleet: Callable[..., PostgresStore]) -> None:
    """Released units go to a peer's next round, without waiting for the lease to end."""
    a = fleet()
    a.acquire()
    epochs = a.held()
    a.close()
    b = fleet()
    assert acquired(b.acquire()) == ["S1", "S2", "S3", "S4"]
    assert {u: e - 1 for u, e in b.held().items()} == epochs
    assert [i.holder for i in b.instances()] == [b.holder]


def test_takeover_recovers_the_unit_and_applies_late_answers(
    fleet: Callable[..., PostgresStore], pg_url: str
) -> None:
    """At takeover `sending` becomes `unknown`; an answer the old holder gets afterwards
    cannot be committed under its epoch, waits in the mailbox, and lands on the row."""
    units = plain_units({"a": "S1"})
    a, b = fleet(units), fleet(units)
    a.acquire()
    a.claim("a", [("r1", "fp", "Scrape")], NOW)
    a.mark_sending("a", ["r1"], NOW)
    a.save_plan("a", "narrow plan")
    expire(pg_url, "S1")
    events = b.acquire()
    assert [(e.change, e.recovered) for e in events] == [(Change.ACQUIRED, 1)]
    assert b.entries("a", NOW)["r1"].state == "unknown"
    assert b.read_plan("a") is None  # the first cycle reads whole: everything re-projected
    assert [e.change for e in a.renew()] == [Change.LOST]  # a knows, and answers late anyway
    with pytest.raises(LeaseLostError):
        a.record("a", ["r1"], Outcome("triggered", "https://v/1", "ok"), NOW)
    assert b.entries("a", NOW)["r1"].state == "unknown"
    assert b.apply_late("S1", NOW) == 1
    entry = b.entries("a", NOW)["r1"]
    assert (entry.state, entry.link) == ("triggered", "https://v/1")
    assert b.apply_late("S1", NOW) == 0
    assert b.latest("a", 1)[0].detail == f"late answer from epoch {b.held()['S1'] - 1}"


def test_abandoned_claims_leave_tombstones_with_their_epoch(
    fleet: Callable[..., PostgresStore],
) -> None:
    """An abandoned claim is remembered with the epoch it was claimed under."""
    a = fleet(plain_units({"a": "S1"}))
    a.acquire()
    a.claim("a", [("r1", "fp1", "Scrape")], NOW)
    a.abandon("a", ["r1"], NOW)
    assert a.tombstones("a") == {"r1": [(a.held()["S1"], "fp1")]}


def test_different_watches_for_a_spreadsheet_are_refused(
    fleet: Callable[..., PostgresStore], pg_url: str
) -> None:
    """An instance whose watches of a spreadsheet differ from its live holder's is refused."""
    a = fleet(plain_units({"a": "S1"}))
    a.acquire()
    b = fleet(plain_units({"a": "S1", "other": "S1"}))
    events = b.acquire()
    assert [(e.change, e.unit) for e in events] == [(Change.REFUSED, "S1")]
    assert b.held() == {}


def lease_end(pg_url: str) -> float:
    """When the one lease of the database ends, in seconds of the database's clock."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        row = conn.execute("SELECT extract(epoch FROM expires_at) FROM leases").fetchone()
    assert row is not None
    return float(row[0])


def test_the_lease_thread_renews_and_takes_over(
    fleet: Callable[..., PostgresStore], pg_url: str
) -> None:
    """On its own thread and connection: renews held leases, takes a dead peer's units."""
    units = plain_units({"a": "S1"})
    quick = LeaseTimings(lease=1.0, renew=0.2, acquire=0.1)
    a = fleet(units, boottime, quick)
    a.acquire()
    b = fleet(units, boottime, quick)
    a.start()
    b.start()
    first = lease_end(pg_url)
    assert eventually(lambda: lease_end(pg_url) > first + 0.1)
    epoch = a.held()["S1"]
    a._leases.stop()  # a freezes: no renewal, no release
    assert eventually(lambda: b.held() == {"S1": epoch + 1}, seconds=5)
    assert [(e.change, e.unit) for e in b.events()] == [(Change.ACQUIRED, "S1")]


def eventually(check: Callable[[], bool], seconds: float = 3.0) -> bool:
    """Poll a condition the lease thread makes true (bounded: fails rather than hangs)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def test_runs_of_one_name_on_two_holders_settle_without_crossing_units(
    fleet: Callable[..., PostgresStore],
) -> None:
    """B's new run of a name never writes A's rows; A settles its own (overlapped, then
    untracked once B's run is seen to end) in its own fenced transactions."""
    units = plain_units({"a": "S1", "c": "S2"})
    a, b = fleet(units), fleet(units)
    a.acquire()
    a.release(["S2"])
    b.acquire()
    assert (list(a.held()), list(b.held())) == (["S1"], ["S2"])
    for store, watch, row in ((a, "a", "r1"), (b, "c", "r9")):
        store.claim(watch, [(row, "fp", "Scrape")], NOW)
        store.mark_sending(watch, [row], NOW)
        store.record(watch, [row], Outcome("triggered", "l"), NOW, poll=(NOW, 5.0))
    assert b.entries("a", NOW)["r1"].run_status == "running"  # b did not touch a's row
    assert a.due("a", NOW) == []  # a settles first: its run is no longer the latest
    assert a.entries("a", NOW)["r1"].run_status == "overlapped"
    assert a.in_flight("a") == 1
    run = b.due("c", NOW)[0]
    b.polled(run, "success", "SUCCESS", (NOW, 5.0), NOW)
    assert a.entries("a", NOW)["r1"].run_status == "overlapped"
    assert a.in_flight("a") == 0  # settled: the newer run ended, so this one has too
    assert a.entries("a", NOW)["r1"].run_status == "untracked"
    assert b.entries("c", NOW)["r9"].run_status == "success"
