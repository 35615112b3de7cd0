"""Issues 6 and 14: a cycle's Sheets cost is constant; one identity shares its budget fairly.

Counted by the Google emulator, never timed: a cycle with work is two batched reads and
two batched writes whatever the number of rows, an idle cycle is one read, and many
spreadsheets polled every 10 s on one identity run for a simulated 10 minutes, dealt out
by the daemon's rota, against an emulator that enforces 60 reads and 60 writes a minute
on the same fake clock.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sheetsync.emulator._http import Request
from sheetsync.emulator.axiom import AxiomEmulator
from sheetsync.emulator.google import GoogleEmulator
from sheetsync.simulation import simulate
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


# -- many spreadsheets on one identity, on a fake clock ---------------------------------
INTERVAL = 10.0
DURATION = 600.0
SPREADSHEETS = 5
TABS = 20


@pytest.fixture
def paced_world(tmp_path: Path) -> Iterator[World]:
    """A world whose Google emulator enforces 60 reads and 60 writes a minute on its clock
    (axiom's emulator counts on the same clock)."""
    clock = Clock()
    google = GoogleEmulator(reads_per_minute=60, writes_per_minute=60, clock=clock.monotonic)
    axiom = AxiomEmulator(api_key=TEST_KEY, automations=[AUTOMATION], clock=clock.monotonic)
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


def hundred_spreadsheets(world: World) -> list[tuple[str, str]]:
    """100 spreadsheets of one tab (header only), one watch each, every 10 s."""
    tabs: list[tuple[str, str]] = []
    watches = []
    for s in range(100):
        sid = world.google.create_spreadsheet(f"Book {s}", {"Q": [[*HEADER, *RESULTS]]})
        tabs.append((sid, "Q"))
        watches.append(
            {"name": f"s{s}", "spreadsheet": sid, "worksheet": "Q", "interval_seconds": INTERVAL}
        )
    world.config(*watches)
    return tabs


def people_add_rows(
    world: World, tabs: list[tuple[str, str]], until: float = 300.0
) -> tuple[Callable[[float], None], dict[str, float]]:
    """Every 10 simulated seconds until `until`, someone adds a row to a tab; returns the
    hook and, per row (its url), when it was added."""
    added: dict[str, float] = {}

    def before(now: float) -> None:
        while len(added) * 10.0 <= min(now, until):
            sid, tab = tabs[(len(added) * 7) % len(tabs)]
            end = len(world.google.values(sid, tab)) + 1
            [row] = rows(1, f"late{len(added)}-")
            world.google.insert_rows(sid, tab, end, values=[row])
            added[row[0]] = now

    return before, added


def most_within(times: list[float], window: float) -> int:
    """The most of `times` (sorted) within any `window` seconds."""
    return max(bisect.bisect_left(times, t + window) - i for i, t in enumerate(times))


def assert_every_row_triggered(world: World, tabs: list[tuple[str, str]]) -> None:
    for sid, tab in tabs:
        values = world.google.values(sid, tab)
        status = values[0].index("Status")
        assert [r[status] for r in values[1:]] == ["triggered"] * (len(values) - 1), tab


def test_watches_grouped_by_spreadsheet_keep_their_interval(paced_world: World) -> None:
    """100 tabs of 5 spreadsheets cost 30 reads a minute (one per spreadsheet every 10 s):
    within the budget, every spreadsheet keeps its 10 s, give or take one slot."""
    world = paced_world
    tabs = hundred_watches(world)
    hook, _ = people_add_rows(world, tabs)
    sim = simulate(world.clock, world.runtime(), duration=DURATION, before=hook)
    assert world.google.quota_rejections == 0
    assert sim.errors == []
    assert len(sim.cycles) == 100
    budget = sim.team.budget()
    assert not budget.over and budget.needed == 30
    for key in sim.team.groups:
        # the opening backlog (100 rows at axiom's 90 calls a minute) delays the first
        # minute; after it, every cycle comes on its 10 s mark, up to one slot late
        later = [b - a for a, b in itertools.pairwise(t for t in sim.starts[key] if t >= 120)]
        assert all(abs(i - INTERVAL) <= sim.team.spacing for i in later), (key, later)
        assert len(later) >= (DURATION - 120) / INTERVAL - 2
    assert_every_row_triggered(world, tabs)


def test_100_spreadsheets_every_10s_share_the_budget_fairly(paced_world: World) -> None:
    """100 spreadsheets at 10 s on one identity ask 600 reads a minute of 55: no 429, reads
    spread evenly, every spreadsheet served at the announced interval (+-20 %), every added
    row triggered within two of them."""
    world = paced_world
    tabs = hundred_spreadsheets(world)
    hook, added = people_add_rows(world, tabs, until=360.0)
    reads: list[float] = []  # when each Sheets read reached Google, on the fake clock

    def on_request(request: Request) -> None:
        if request.path.endswith("values:batchGet"):
            reads.append(world.clock.elapsed)

    world.google.on_request = on_request
    sim = simulate(world.clock, world.runtime(), duration=DURATION, before=hook)

    assert world.google.quota_rejections == 0
    assert sim.errors == []
    budget = sim.team.budget()
    assert budget.over and budget.needed == 600 and budget.available == 55
    effective = budget.effective(INTERVAL)
    assert effective == pytest.approx(100 * 60 / 55)
    assert "need 600 Sheets reads/min" in budget.describe()
    assert f"about every {effective:.0f} s" in budget.describe()
    for key in sim.team.groups:
        intervals = sim.intervals(key)
        assert len(intervals) >= 4, key
        assert all(0.8 * effective <= i <= 1.2 * effective for i in intervals), (key, intervals)
    # no bursts: a slot is 60/55 s, so 10 s hold about 9 reads (a cycle with work two)
    assert most_within(reads, 10.0) <= 11
    assert most_within(reads, 60.0) <= 55
    triggered = {t.data[1][0]: t.at for t in world.axiom.triggers}
    assert set(triggered) == set(added)
    late = {url: triggered[url] - at for url, at in added.items()}
    assert max(late.values()) <= 2 * effective, sorted(late.values())[-3:]
    assert_every_row_triggered(world, tabs)
