"""The product on PostgreSQL: `once`, the daemon and two instances on one database.

Real engine, real adapters, both emulators, a fresh database per test (`pg_url`). Each
runtime opened here is one instance (its own holder id); `World.runtime()` is the first.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from sheetsync.adapters.store.protocol import Change
from sheetsync.service.daemon import Daemon
from sheetsync.service.wiring import Runtime, open_runtime
from sheetsync.testing import World

HEADER = ["url", "product"]
ROWS = [[f"https://shop.example/{i}", f"P{i}"] for i in range(1, 4)]


def fleet_config(world: World, pg_url: str, **watch: Any) -> None:
    """A config whose state is the test's PostgreSQL database."""
    world.config({"mode": "row", **watch}, state={"url": pg_url})


def sent(world: World) -> Counter[str]:
    """How often axiom received each row (by its url)."""
    return Counter(str(t.data[1][0]) for t in world.axiom.triggers)


def query(pg_url: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture
def peer(world: World) -> Iterator[list[Runtime]]:
    """Opens further instances of the world's config (closed after the test)."""
    opened: list[Runtime] = []
    yield opened
    for runtime in opened:
        runtime.close()


def another(world: World, opened: list[Runtime]) -> Runtime:
    """A second instance of the world's config on the same database."""
    clock = world.clock
    runtime = open_runtime(world.load(), sleep=clock.sleep, monotonic=clock.monotonic, now=clock)
    opened.append(runtime)
    return runtime


def test_once_on_postgresql_sends_each_row_once(world: World, pg_url: str) -> None:
    """`once` with `[state] url`: every row goes once, the journal is the database, and a
    new process (a new instance) sends nothing again."""
    world.sheet([HEADER, *ROWS])
    fleet_config(world, pg_url)
    reports = world.once()
    assert [r.error for r in reports] == [None] and reports[0].triggered == 3
    assert world.column("Status") == ["triggered"] * 3
    world.close_runtime()  # releases the spreadsheet: the next instance takes it at once
    world.clock.advance(10)
    assert [r.triggered for r in world.once()] == [0]
    assert sent(world) == Counter({row[0]: 1 for row in ROWS})
    states = query(pg_url, "SELECT state, count(*) FROM rows GROUP BY state")
    assert states == [("triggered", 3)]


def test_an_in_process_daemon_cycles_its_held_spreadsheets(world: World, pg_url: str) -> None:
    """The daemon on PostgreSQL: it holds the spreadsheet from its start, schedules it, and
    its cycle sends every row once; stopping releases the lease."""
    world.sheet([HEADER, *ROWS])
    fleet_config(world, pg_url)
    daemon = Daemon(world.folder / "sheetsync.toml", world.environ)
    try:
        assert dict(daemon.journal.held()) == {world.spreadsheet_id: 1}
        daemon.schedule(daemon.runtime)
        assert [list(team.groups) for team in daemon.teams] == [["w0"]]
        assert daemon.run_cycle(daemon.runtime, daemon.config.watches)
        assert daemon.run_cycle(daemon.runtime, daemon.config.watches)
    finally:
        daemon.runtime.close()
        daemon.notifier.close()
    assert world.column("Status") == ["triggered"] * 3
    assert sent(world) == Counter({row[0]: 1 for row in ROWS})
    assert query(pg_url, "SELECT holder FROM leases") == [("",)]  # released at close


def test_only_the_lease_holder_cycles_a_spreadsheet(
    world: World, pg_url: str, peer: list[Runtime]
) -> None:
    """Two instances on one database: the second holds nothing while the first lives,
    cycles nothing and sends nothing; once the first stops, it takes over and sends only
    the row typed since."""
    world.sheet([HEADER, *ROWS[:2]])
    fleet_config(world, pg_url)
    first = world.runtime()
    second = another(world, peer)
    assert dict(first.journal.held()) == {world.spreadsheet_id: 1}
    assert dict(second.journal.held()) == {}
    assert second.cycle_all() == []  # not its spreadsheet: no read, no trigger
    (lost,) = second.engine.run_group(second.config.watches)  # even when asked directly
    assert lost.lost and lost.error is None and world.axiom.triggers == []
    world.once()
    assert len(world.axiom.triggers) == 2

    world.close_runtime()  # SIGTERM: the first instance releases its spreadsheet
    events = second.journal.acquire()
    assert [(e.change, e.epoch) for e in events] == [(Change.ACQUIRED, 2)]
    world.google.insert_rows(world.spreadsheet_id, world.tab, 4, values=[ROWS[2]])
    reports = second.cycle_all()
    assert [(r.error, r.triggered) for r in reports] == [(None, 1)]
    assert sent(world) == Counter({row[0]: 1 for row in ROWS})
    assert world.column("Status") == ["triggered"] * 3


def lose(how: str, world: World, pg_url: str, first: Runtime, peer: list[Runtime]) -> None:
    """The first instance loses the spreadsheet to a second one, which takes it over."""
    if how == "released":  # e.g. its trust ran out: it knows it lost the lease
        first.journal.release()
    else:  # it does not know: a peer took the expired lease
        query(pg_url, "UPDATE leases SET expires_at = now() - interval '1 second'")
    second = another(world, peer)
    assert dict(second.journal.held()) == {world.spreadsheet_id: 2}


@pytest.mark.parametrize("how", ["taken over", "released"])
@pytest.mark.parametrize("when", ["mid-POST", "between triggers"])
def test_a_lease_lost_mid_cycle_sends_nothing_further(
    world: World, pg_url: str, peer: list[Runtime], how: str, when: str
) -> None:
    """The spreadsheet changes hands while the first row's trigger is in flight, or right
    after its answer was recorded. Either a peer took the expired lease (the fence refuses
    the next commit: the answer, or the next `sending`), or this instance knows it lost it
    (the cycle's trust check stops it). No further POST leaves; the cycle ends quietly; an
    answer that came too late reaches its row through the new holder, which sends the
    other rows: each row exactly once."""
    world.sheet([HEADER, *ROWS])
    fleet_config(world, pg_url)
    first = world.runtime()
    hold = threading.Event()
    reports: list[Any] = []
    thread = threading.Thread(target=lambda: reports.extend(first.cycle_all()))
    if when == "between triggers":

        def progress(_watch: str, done: int, _total: int) -> None:
            if done == 1:  # the first row's answer is recorded; the second is next
                lose(how, world, pg_url, first, peer)

        first.engine.progress = progress
        thread.start()
    else:
        fault = world.axiom.add_fault(path="/trigger", hold=hold, phase="after", count=1)
        thread.start()
        try:
            assert fault.arrived.wait(20), "the first trigger never reached axiom"
            lose(how, world, pg_url, first, peer)
        finally:
            hold.set()
    thread.join(30)
    assert not thread.is_alive()
    (report,) = reports
    assert report.lost and report.error is None
    assert len(world.axiom.triggers) == 1  # nothing further left the lost cycle
    late = query(pg_url, "SELECT state, epoch FROM late_outcomes")
    assert late == ([("triggered", 1)] if when == "mid-POST" else [])
    first_row = "unknown" if when == "mid-POST" else "triggered"  # recovered at takeover
    states = query(pg_url, "SELECT state, count(*) FROM rows GROUP BY state ORDER BY state")
    assert states == [("claimed", 2), (first_row, 1)]  # never `sending`: never sent

    world.clock.advance(10)
    (second,) = peer
    second.cycle_all()  # applies a late answer, then sends the rows still claimed
    assert sent(world) == Counter({row[0]: 1 for row in ROWS})
    assert world.column("Status") == ["triggered"] * 3
    assert query(pg_url, "SELECT count(*) FROM late_outcomes") == [(0,)]
