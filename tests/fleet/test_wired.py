"""The product on PostgreSQL: `once`, the daemon and two instances on one database.

Real engine, real adapters, both emulators, a fresh database per test (`pg_url`). Each
runtime opened here is one instance (its own holder id); `World.runtime()` is the first.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
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
def peer(world: World, pg_url: str) -> Iterator[list[Runtime]]:
    """Opens further instances of the world's config; they and the world's own are closed
    after the test, before its database is dropped."""
    del pg_url  # only its order matters: this fixture ends first
    opened: list[Runtime] = []
    yield opened
    for runtime in opened:
        runtime.close()
    world.close_runtime()


def another(world: World, opened: list[Runtime]) -> Runtime:
    """A second instance of the world's config on the same database."""
    clock = world.clock
    runtime = open_runtime(world.load(), sleep=clock.sleep, monotonic=clock.monotonic, now=clock)
    opened.append(runtime)
    return runtime


def test_once_on_postgresql_sends_each_row_once(world: World, pg_url: str) -> None:
    """`once` with `[state] url`: every row goes once, the journal and the paces are the
    database's, and a new process (a new instance) sends nothing again."""
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
    # the budgets are the database's, spent by every instance: axiom's and Google's calls
    calls = dict(
        query(pg_url, "SELECT split_part(key, '-', 1), count(*) FROM quota_calls GROUP BY 1")
    )
    assert calls["axiom"] == 3 and calls["google"] >= 4


def test_an_in_process_daemon_cycles_its_held_spreadsheets(world: World, pg_url: str) -> None:
    """The daemon on PostgreSQL: it holds the spreadsheet from its start, schedules it, and
    its cycle sends every row once; stopping releases the lease."""
    world.sheet([HEADER, *ROWS])
    fleet_config(world, pg_url)
    daemon = Daemon(world.folder / "sheetsync.toml", world.environ)
    try:
        assert dict(daemon.journal.held()) == {world.spreadsheet_id: 1}
        daemon.dispatcher.schedule(daemon.runtime)
        assert [list(team.groups) for team in daemon.dispatcher.teams] == [["w0"]]
        assert daemon.dispatcher.run_cycle(daemon.runtime, daemon.config.watches)
        assert daemon.dispatcher.run_cycle(daemon.runtime, daemon.config.watches)
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


def zombie_write(
    world: World, pg_url: str, peer: list[Runtime], meanwhile: Callable[[Runtime], None]
) -> Runtime:
    """The first instance claims the new row, but its claim write is held on its way (a
    pause, a partition); its lease expires and a second instance takes the spreadsheet
    over and runs `meanwhile`; then the held write lands, and the first instance, whose
    fence now fails, sends nothing. Returns the second instance."""
    world.sheet([HEADER, ROWS[0]])
    fleet_config(world, pg_url)
    first = world.runtime()
    hold = threading.Event()
    fault = world.google.add_fault(path=r"values:batchUpdate$", method="POST", hold=hold, count=1)
    reports: list[Any] = []
    thread = threading.Thread(target=lambda: reports.extend(first.cycle_all()))
    thread.start()
    try:
        assert fault.arrived.wait(20), "the claim write never came"
        query(pg_url, "UPDATE leases SET expires_at = now() - interval '1 second'")
        second = another(world, peer)
        meanwhile(second)
    finally:
        hold.set()
        thread.join(30)
    assert not thread.is_alive()
    assert [r.lost for r in reports] == [True]  # its `sending` was refused: no POST
    return second


def test_a_late_claim_write_in_the_grace_period_is_sent_once_as_its_claim(
    world: World, pg_url: str, peer: list[Runtime]
) -> None:
    """Within the grace period after a takeover the new holder keeps the former holder's
    unfound claim and does not claim its row as new; when the late write lands, the row
    shows that claim, and the new holder sends it: once."""

    def early(second: Runtime) -> None:
        (report,) = second.cycle_all()
        assert (report.error, report.new, report.triggered) == (None, 0, 0)

    second = zombie_write(world, pg_url, peer, early)
    assert world.axiom.triggers == []
    world.clock.advance(10)
    (report,) = second.cycle_all()
    assert report.triggered == 1
    assert sent(world) == Counter({ROWS[0][0]: 1})
    assert world.column("Status") == ["triggered"]
    assert query(pg_url, "SELECT count(*) FROM tombstones") == [(0,)]


def test_a_late_claim_write_after_the_grace_period_is_never_a_new_row(
    world: World, pg_url: str, peer: list[Runtime], caplog: pytest.LogCaptureFixture
) -> None:
    """After the grace period the new holder gives the unfound claim up (a tombstone) and
    sends the row under its own claim; the former holder's write then lands on it with the
    given-up id: the row is the live claim's, is never sent again, and gets the live
    claim's id back, so its result shows."""

    def late(second: Runtime) -> None:
        second.cycle_all()  # the grace period starts
        world.clock.advance(second.engine.claims.grace + 1)
        (report,) = second.cycle_all()
        assert report.triggered == 1

    second = zombie_write(world, pg_url, peer, late)
    assert query(pg_url, "SELECT count(*) FROM tombstones") == [(1,)]
    assert world.column("Status") == ["sending"]  # the late write: the given-up claim's id
    for _ in range(3):
        world.clock.advance(10)
        second.cycle_all()
    assert sent(world) == Counter({ROWS[0][0]: 1})
    assert "shows a claim a former holder gave up" in caplog.text
    # the row took the live claim's id back, and shows its result
    (live,) = query(pg_url, "SELECT row_id FROM rows WHERE state = 'triggered'")
    assert world.column("sheetsync id") == [live[0]]
    assert world.column("Status") == ["triggered"]


def test_a_daemon_takes_over_a_released_spreadsheet_and_lets_go_at_reload(
    world: World, pg_url: str
) -> None:
    """Two daemons on one database: the second schedules nothing while the first holds the
    spreadsheet; when the first stops (its lease released), the second's lease thread
    takes it, its main loop reschedules, and its cycle sends the rows once. A reload
    whose config drops the spreadsheet releases it."""
    world.sheet([HEADER, *ROWS[:2]])
    state = {"url": pg_url, "lease_seconds": 2, "renew_seconds": 0.5, "acquire_seconds": 0.2}
    path = world.config({"mode": "row"}, state=state)
    first = Daemon(path, world.environ)
    second = Daemon(path, world.environ)
    try:
        second.dispatcher.schedule(second.runtime)
        assert dict(second.journal.held()) == {} and second.dispatcher.teams == []
        first.runtime.close()  # a stop: the spreadsheet is released
        second.journal.start()
        deadline = time.monotonic() + 20
        while not second.dispatcher.teams and time.monotonic() < deadline:
            second.beat()  # the main loop's tick: follows the leases
            time.sleep(0.05)
        assert [list(team.groups) for team in second.dispatcher.teams] == [["w0"]]
        assert second.dispatcher.run_cycle(second.runtime, second.config.watches)
        assert sent(world) == Counter({row[0]: 1 for row in ROWS[:2]})

        old = world.spreadsheet_id
        world.sheet([HEADER])  # another spreadsheet: the old one leaves the config
        world.config({"mode": "row"}, state=state)
        second.reload()
        assert second.config.watches[0].spreadsheet_id != old
        assert query(pg_url, f"SELECT holder FROM leases WHERE unit = '{old}'") == [("",)]
    finally:
        second.runtime.close()
        first.notifier.close()
        second.notifier.close()


def test_an_uncertain_sending_commit_sends_nothing_and_the_row_goes_next_cycle(
    world: World, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection breaks during the `sending` COMMIT (it did commit, but the client
    cannot know: `UNCERTAIN`): no POST leaves, the row is made `claimed` again, and the
    next cycle sends it once."""
    from sheetsync.adapters.store.postgres import PostgresStore
    from sheetsync.errors import StoreError, StoreReason

    world.sheet([HEADER, ROWS[0]])
    fleet_config(world, pg_url)
    commit = PostgresStore.mark_sending
    broken = iter([True])

    def uncertain(self: PostgresStore, watch: str, row_ids: Any, now: Any) -> None:
        commit(self, watch, row_ids, now)
        if next(broken, False):
            raise StoreError("connection lost during COMMIT", StoreReason.UNCERTAIN)

    monkeypatch.setattr(PostgresStore, "mark_sending", uncertain)
    (report,) = world.once()
    assert report.error_reason == "journal" and world.axiom.triggers == []
    assert query(pg_url, "SELECT state FROM rows") == [("claimed",)]
    world.clock.advance(10)
    (report,) = world.once()
    assert report.error is None and report.triggered == 1
    assert sent(world) == Counter({ROWS[0][0]: 1})
    assert world.column("Status") == ["triggered"]
