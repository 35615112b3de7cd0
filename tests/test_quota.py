"""Issue 6 acceptance: a cycle's Sheets cost is constant, and one identity never meets a 429.

Counted by the Google emulator, never timed: a cycle with work is two batched reads and
two batched writes whatever the number of rows, an idle cycle is one read, and 100
watches polling every 10 s on one identity run for a simulated 10 minutes against an
emulator that enforces 60 reads and 60 writes a minute on the same fake clock.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sheetsync.config import Watch
from sheetsync.emulator.axiom import AxiomEmulator
from sheetsync.emulator.google import GoogleEmulator
from sheetsync.engine import group_watches
from sheetsync.report import CycleReport
from sheetsync.testing import AUTOMATION, KEY_ENV, TEST_KEY, Clock, World

HEADER = ["url", "product"]
RESULTS = ["Status", "Run link", "Message", "sheetsync id"]
METADATA_READ = "spreadsheets.get"
GRID_WRITE = "spreadsheets.batchUpdate"


def rows(n: int, prefix: str = "p") -> list[list[str]]:
    return [[f"https://shop.example/{prefix}{i}", f"Product {i}"] for i in range(1, n + 1)]


def append(world: World, new: list[list[str]], tab: str | None = None) -> None:
    """A person pastes rows below the last one."""
    tab = tab or world.tab
    end = len(world.values(tab)) + 1
    world.google.insert_rows(world.spreadsheet_id, tab, end, values=new)


# -- the cost of one cycle -------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "new"),
    [("batch", 1), ("batch", 100), ("batch", 10_000), ("row", 100)],
    ids=["batch-1", "batch-100", "batch-10000", "row-100"],
)
def test_a_cycle_with_work_costs_two_reads_and_two_writes(
    world: World, mode: str, new: int
) -> None:
    """Any number of new rows costs at most two batchGets and two batchUpdates; idle, one read."""
    world.sheet([[*HEADER, *RESULTS], *rows(new)])
    world.config(
        {"mode": mode, "max_rows_per_trigger": 10_000},
        axiom={"calls_per_minute": 10_000},
    )
    google = world.google
    [report] = world.once()
    assert report.error is None
    assert report.triggered == new
    assert world.column("Status") == ["triggered"] * new
    assert google.reads() <= 2, [(r.method, r.path) for r in google.log]
    assert google.writes() <= 2
    assert google.count("values.batchGet") == google.reads()
    assert google.count("values.batchUpdate") == google.writes()
    assert len(world.axiom.triggers) == (1 if mode == "batch" else new)

    google.reset_counters()
    [idle] = world.once()
    assert idle.error is None and idle.new == 0
    assert (google.reads(), google.writes()) == (1, 0)


def test_metadata_is_fetched_once_and_the_grid_grown_once(world: World) -> None:
    """Adding result columns to a narrow grid costs one metadata read and one resize, once."""
    world.sheet([HEADER, *rows(100)], cols=2)
    world.config({"mode": "batch", "max_rows_per_trigger": 10_000})
    google = world.google
    [first] = world.once()
    assert first.error is None and first.triggered == 100
    assert google.count(METADATA_READ) == 1
    assert google.count(GRID_WRITE) == 1
    assert google.reads() - google.count(METADATA_READ) <= 2
    assert google.writes() - google.count(GRID_WRITE) <= 2
    assert world.values()[0] == [*HEADER, *RESULTS]

    append(world, rows(50, "later"))
    google.reset_counters()
    [second] = world.once()
    assert second.triggered == 50
    assert google.count(METADATA_READ) == google.count(GRID_WRITE) == 0
    assert google.reads() <= 2 and google.writes() <= 2


# -- many watches on one identity, on a fake clock ----------------------------------------
INTERVAL = 10.0
DURATION = 600.0
SPREADSHEETS = 5
TABS = 20


@dataclass
class Simulation:
    """What a simulated run of the scheduler saw."""

    cycles: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    late: list[tuple[float, float]] = field(default_factory=list)
    """(when a job was due, how late it started), both in simulated seconds."""


def simulate(
    clock: Clock,
    jobs: Sequence[Sequence[Watch]],
    run: Callable[[Sequence[Watch]], list[CycleReport]],
    *,
    interval: float = INTERVAL,
    duration: float = DURATION,
    before: Callable[[float], None] = lambda _now: None,
) -> Simulation:
    """A scheduler on the fake clock: run the next due job, then plan its next run.

    Like the daemon's APScheduler jobs (coalesce, no misfire limit), a late job runs once
    as soon as it can and is next due at the first interval mark after it finished.
    Pacing waits advance the same clock, so a job that waits for the budget makes the
    others late, as it would in real time.
    """
    sim = Simulation()
    due = [(0.0, index) for index in range(len(jobs))]
    heapq.heapify(due)
    while due[0][0] < duration:
        at, index = heapq.heappop(due)
        clock.advance(max(0.0, at - clock.elapsed))
        before(clock.elapsed)
        sim.late.append((at, clock.elapsed - at))
        for report in run(jobs[index]):
            sim.cycles[report.watch] += 1
            if report.error:
                sim.errors.append(f"{report.watch}: {report.error}")
        following = at + interval
        while following <= clock.elapsed:
            following += interval
        heapq.heappush(due, (following, index))
    return sim


@pytest.fixture
def paced_world(tmp_path: Path) -> Iterator[World]:
    """A world whose Google emulator enforces 60 reads and 60 writes a minute on its clock."""
    clock = Clock()
    google = GoogleEmulator(reads_per_minute=60, writes_per_minute=60, clock=clock.monotonic)
    axiom = AxiomEmulator(api_key=TEST_KEY, automations=[AUTOMATION])
    google.start()
    axiom.start()
    world = World(tmp_path, google, axiom, clock=clock, environ={KEY_ENV: TEST_KEY})
    google.write_service_account_file(tmp_path / "service-account.json")
    try:
        yield world
    finally:
        world.stop()


def hundred_watches(world: World) -> list[tuple[str, str]]:
    """5 spreadsheets x 20 small tabs, one watch each, every 10 s; one new row per tab."""
    tabs: list[tuple[str, str]] = []
    watches = []
    for s in range(SPREADSHEETS):
        content = {f"T{t}": [[*HEADER, *RESULTS], *rows(1, f"s{s}t{t}-")] for t in range(TABS)}
        sid = world.google.create_spreadsheet(f"Book {s}", content, rows=8, cols=8)
        for t in range(TABS):
            tabs.append((sid, f"T{t}"))
            watches.append(
                {
                    "name": f"s{s}t{t}",
                    "spreadsheet": sid,
                    "worksheet": f"T{t}",
                    "interval_seconds": INTERVAL,
                    "mode": "row",
                }
            )
    world.config(*watches)
    return tabs


def people_add_rows(world: World, tabs: list[tuple[str, str]]) -> Callable[[float], None]:
    """Every 10 simulated seconds of the first five minutes, someone adds a row to a tab."""
    added = 0

    def before(now: float) -> None:
        nonlocal added
        while added * 10.0 <= min(now, 300.0):
            sid, tab = tabs[(added * 7) % len(tabs)]
            end = len(world.google.values(sid, tab)) + 1
            world.google.insert_rows(sid, tab, end, values=rows(1, f"late{added}-"))
            added += 1

    return before


def assert_every_row_triggered(world: World, tabs: list[tuple[str, str]]) -> None:
    for sid, tab in tabs:
        values = world.google.values(sid, tab)
        status = values[0].index("Status")
        assert [r[status] for r in values[1:]] == ["triggered"] * (len(values) - 1), tab


def test_100_watches_every_10s_for_10_minutes_never_meet_a_429(paced_world: World) -> None:
    """Watch by watch, 600 reads a minute are asked of a 55/min budget: later cycles, no 429."""
    world = paced_world
    tabs = hundred_watches(world)
    runtime = world.runtime()
    sim = simulate(
        world.clock,
        [[w] for w in runtime.config.watches],
        lambda job: [runtime.cycle(job[0])],
        before=people_add_rows(world, tabs),
    )
    assert world.google.quota_rejections == 0
    assert sim.errors == []
    assert len(sim.cycles) == 100
    # 55 reads a minute for ten minutes, shared by 100 watches, some cycles with work
    assert min(sim.cycles.values()) >= 3, sim.cycles.most_common()[-3:]
    assert world.google.reads() <= 55 * (world.clock.elapsed / 60 + 1)
    assert_every_row_triggered(world, tabs)


def test_watches_grouped_by_spreadsheet_keep_their_interval(paced_world: World) -> None:
    """Grouped per spreadsheet, the same 100 watches cost 30 reads a minute: every 10 s holds."""
    world = paced_world
    tabs = hundred_watches(world)
    runtime = world.runtime()
    groups = group_watches(runtime.config.watches)
    assert len(groups) == SPREADSHEETS
    sim = simulate(world.clock, groups, runtime.cycle_group, before=people_add_rows(world, tabs))
    assert world.google.quota_rejections == 0
    assert sim.errors == []
    assert len(sim.cycles) == 100
    # the opening backlog (100 rows at axiom's 90 calls a minute) delays the first minute;
    # after it, every group starts on its 10 s mark
    assert max(late for at, late in sim.late if at >= 120.0) < 1.0
    assert min(sim.cycles.values()) >= DURATION / INTERVAL - 10, sim.cycles.most_common()[-3:]
    assert_every_row_triggered(world, tabs)
