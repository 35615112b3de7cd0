"""Big tabs are read narrowly: few requests, and the same rows sent, written and healed.

Every test here makes tabs of `N` rows "big" (`NARROW_FROM_ROWS` = 50), runs two
cycles (the first adds the result columns and sends every row; the second reads the
tab whole and saves the first read plan), then checks a narrow cycle against the real
emulators: exact request counts, what was read, what was sent and what the sheet shows.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

import pytest

import sheetsync.core.narrow
from sheetsync.core.report import CycleReport
from sheetsync.core.view import NarrowTable
from sheetsync.testing import AUTOMATION, World

HEADER = ["url", "product"]
N = 100
"""Rows below the header: a big tab once `NARROW_FROM_ROWS` is 50."""
STATUS, LINK = 3, 4
"""Columns (1-based) of `Status` and `Run link`: added right after the two inputs."""
TAIL = N + 2 - sheetsync.core.narrow.TAIL_MARGIN
"""The first row a narrow read takes whole once rows 2..N+1 are handled."""
WHOLE = "'Queue'"
WAIT = 20.0
HUMAN = "done by hand"
"""A status word sheetsync does not own: rows showing it are left alone."""


@pytest.fixture(autouse=True)
def _big_from_fifty_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sheetsync.core.narrow, "NARROW_FROM_ROWS", 50)


def rows(first: int, last: int) -> list[list[str]]:
    return [[f"https://shop.example/{i}", f"P{i}"] for i in range(first, last + 1)]


def url(n: int) -> str:
    """The url typed into sheet row `n` by `rows(1, N)` (row 2 holds product 1)."""
    return f"https://shop.example/{n - 1}"


def sent(world: World) -> Counter[str]:
    """How often each url was triggered (row mode: each trigger is [header, row])."""
    return Counter(t.data[1][0] for t in world.axiom.triggers)


def once_each(*urls: str) -> Counter[str]:
    return Counter(dict.fromkeys(urls, 1))


def every_row() -> list[str]:
    return [u for u, _ in rows(1, N)]


@dataclass
class Get:
    """One `values:batchGet` as the emulator received it."""

    dimension: str
    ranges: list[str]
    status: int

    @property
    def narrow(self) -> bool:
        return self.dimension == "COLUMNS" and WHOLE not in self.ranges


def cycle(world: World) -> tuple[CycleReport, list[Get]]:
    """One cycle of the only watch, with the counters reset: its report and its reads."""
    world.google.reset_counters()
    start = len(world.google.log)
    [report] = world.once()
    return report, gets_since(world, start)


def gets_since(world: World, start: int) -> list[Get]:
    return [
        Get(r.query["majorDimension"][0], r.query["ranges"], r.status)
        for r in world.google.log[start:]
        if r.path.endswith("values:batchGet")
    ]


def big_tab(
    world: World, data: list[list[str]] | None = None, *, grid: int = 0, **watch: object
) -> str:
    """A tab of `data` (default N rows), handled, whose next first read is narrow."""
    data = data or [HEADER, *rows(1, N)]
    if grid:  # exactly this many rows in the grid: reads past them are refused
        world.spreadsheet_id = world.google.create_spreadsheet("Queue", {"Queue": data}, rows=grid)
    else:
        world.sheet(data)
    world.config({"mode": "row", **watch})
    world.once()  # adds the result columns (no plan yet), sends the rows
    world.once()  # read whole: saves the plan the next cycle reads by
    assert world.runtime().journal.read_plan("w0") is not None
    return world.spreadsheet_id


def in_flight(world: World, edit: Callable[[], None]) -> tuple[CycleReport, list[Get]]:
    """A cycle whose first trigger's answer waits until `edit` changed the sheet."""
    world.google.reset_counters()
    start = len(world.google.log)
    report = world.once_while_held(edit, WAIT)
    return report, gets_since(world, start)


def inserting(world: World, values: list[list[str]], at: int = 2) -> Callable[[], None]:
    """An edit: `values` inserted as new rows before row `at` (rows below move down)."""
    return lambda: world.google.insert_rows(world.spreadsheet_id, "Queue", at, values=values)


def row_of(world: World, address: str) -> dict[str, str]:
    """The row whose url is `address`, as header -> cell."""
    values = world.values()
    [row] = [r for r in values[1:] if r and r[0] == address]
    return {h: (row[i] if i < len(row) else "") for i, h in enumerate(values[0])}


def assert_idle(world: World) -> None:
    """The next cycle is narrow, sends nothing and writes nothing."""
    before = len(world.axiom.triggers)
    report, gets = cycle(world)
    assert report.error is None
    assert len(world.axiom.triggers) == before
    assert len(gets) == 1 and gets[0].narrow
    assert world.google.reads() == 1 and world.google.writes() == 0


# -- steady state ---------------------------------------------------------------------
def test_appended_rows_cost_two_narrow_reads_and_two_writes(world: World) -> None:
    """Three rows appended to a big tab are sent once each for 2 reads and 2 writes."""
    sid = big_tab(world)
    world.google.insert_rows(sid, "Queue", N + 2, values=rows(N + 1, N + 3))
    report, gets = cycle(world)
    assert report.error is None and report.triggered == 3
    assert sent(world) == once_each(*every_row(), *[u for u, _ in rows(N + 1, N + 3)])
    assert world.google.count("values.batchGet") == 2
    assert world.google.count("values.batchUpdate") == 2
    assert world.google.reads() == 2 and world.google.writes() == 2
    first, flush = gets
    assert first.dimension == "COLUMNS"
    assert first.ranges == ["'Queue'!1:1", "'Queue'!C2:C", "'Queue'!F2:F", f"'Queue'!A{TAIL}:F"]
    assert flush.narrow and flush.ranges[0] == "'Queue'!1:1"
    assert world.column("Status") == ["triggered"] * (N + 3)
    assert_idle(world)


def test_idle_narrow_cycle_costs_one_read(world: World) -> None:
    """Nothing new on a big tab: one narrow read, no write, nothing sent."""
    big_tab(world)
    before = world.values()
    assert_idle(world)
    assert world.values() == before


def test_a_tab_below_the_threshold_is_read_whole(world: World) -> None:
    """A tab of 40 rows (fewer than NARROW_FROM_ROWS) is read whole every cycle."""
    world.sheet([HEADER, *rows(1, 40)])
    world.config()
    world.once()
    world.once()
    assert world.runtime().journal.read_plan("w0") is None
    _, gets = cycle(world)
    assert [(g.dimension, g.ranges) for g in gets] == [("ROWS", [WHOLE])]


def test_two_tabs_share_one_narrow_read(world: World) -> None:
    """Two big tabs of one spreadsheet: an idle cycle is one read; work on one is two."""
    sid = world.sheet([HEADER, *rows(1, N)])
    world.google.add_sheet(sid, "Other", [HEADER, *rows(201, 200 + N)])
    world.config({"worksheet": "Queue"}, {"worksheet": "Other"})
    world.once()
    world.once()
    world.google.reset_counters()
    world.once()
    assert world.google.reads() == 1 and world.google.writes() == 0
    world.google.insert_rows(sid, "Other", N + 2, values=[["https://other/new", "O"]])
    world.google.reset_counters()
    start = len(world.google.log)
    queue, other = world.once()
    assert queue.triggered == 0 and other.triggered == 1
    assert world.google.reads() == 2 and world.google.writes() == 2
    first, flush = gets_since(world, start)
    assert first.dimension == flush.dimension == "COLUMNS"
    assert {r.split("!")[0] for r in first.ranges} == {"'Queue'", "'Other'"}
    assert {r.split("!")[0] for r in flush.ranges} == {"'Other'"}
    assert world.column("Status", "Other")[-1] == "triggered"


# -- rows a narrow read does not take whole -----------------------------------------------
def test_retry_typed_mid_sheet_is_sent_again_within_two_cycles(world: World) -> None:
    """`retry` typed into a handled row far above the tail: sent again once, next-but-one."""
    sid = big_tab(world)
    link = world.row(20)["Run link"]
    world.google.set_cell(sid, "Queue", 20, STATUS, "retry")
    first, _ = cycle(world)  # row 20 was not read whole: taken by the next cycle
    second, gets = cycle(world)
    assert first.triggered + second.triggered == 1
    assert "'Queue'!A20:F20" in gets[0].ranges
    assert sent(world) == once_each(*every_row()) + once_each(url(20))
    assert world.row(20)["Status"] == "triggered"
    assert world.row(20)["Run link"] not in {"", link}
    assert_idle(world)


def test_row_inserted_mid_sheet_is_sent_once_within_two_cycles(world: World) -> None:
    """A row inserted and typed in above the tail is sent once; no other row goes again."""
    sid = big_tab(world)
    world.google.insert_rows(sid, "Queue", 20)
    world.google.set_cell(sid, "Queue", 20, 1, "https://new")
    world.google.set_cell(sid, "Queue", 20, 2, "N")
    reports = [cycle(world)[0] for _ in range(2)]
    assert [r.triggered for r in reports] == [0, 1]
    assert sent(world) == once_each(*every_row(), "https://new")
    assert world.row(20)["Status"] == "triggered"
    assert world.row(21)["url"] == url(20)
    assert_idle(world)


def test_cleared_status_above_the_tail_comes_back_without_a_trigger(world: World) -> None:
    """A handled row's status cleared far above the tail is restored, never re-sent.

    (The README says "the next cycle restores" it; a narrow read takes two cycles.)
    """
    sid = big_tab(world)
    world.google.set_cell(sid, "Queue", 10, STATUS, "")
    cycle(world)
    cycle(world)
    assert world.row(10)["Status"] == "triggered"
    assert sent(world) == once_each(*every_row())
    assert_idle(world)


def test_cleared_run_link_on_a_row_read_whole_is_restored(world: World) -> None:
    """A Run link cleared on a handled row in the tail (read whole) is written back."""
    sid = big_tab(world)
    row = N  # below TAIL: every narrow first read takes it whole
    link = world.row(row)["Run link"]
    world.google.set_cell(sid, "Queue", row, LINK, "")
    cycle(world)
    assert world.row(row)["Run link"] == link


def test_a_row_ticked_ready_mid_sheet_is_sent_once(world: World) -> None:
    """ready_column: a row left unticked is not sent; ticked later, it is sent once."""
    data = [[*HEADER, "Ready"], *[[u, p, "yes"] for u, p in rows(1, N)]]
    data[19][2] = ""  # sheet row 20
    sid = big_tab(world, data, ready_column="Ready")
    assert sent(world) == once_each(*[u for u in every_row() if u != url(20)])
    assert_idle(world)
    world.google.set_cell(sid, "Queue", 20, 3, "TRUE")
    report, _ = cycle(world)
    assert report.triggered == 1
    assert sent(world) == once_each(*every_row())
    assert world.row(20)["Status"] == "triggered"
    assert_idle(world)


# -- the plan no longer fits the sheet --------------------------------------------------
def test_rows_deleted_so_the_tail_is_past_the_grid(world: World) -> None:
    """40 rows deleted between cycles: the narrow read is refused; the plan is cut to the
    grid the refusal names and the tab read narrowly again (never whole)."""
    sid = big_tab(world, grid=N + 1)
    world.google.delete_rows(sid, "Queue", 2, count=40)
    assert world.google.grid_size(sid, "Queue")[0] < TAIL
    world.google.insert_rows(sid, "Queue", N + 2 - 40, values=[["https://new", "N"]])
    report, gets = cycle(world)
    assert report.error is None and report.triggered == 1
    assert [(g.dimension, g.status) for g in gets] == [
        ("COLUMNS", 400),  # the tail reaches past the shrunk grid
        ("COLUMNS", 200),  # cut to the grid's rows: the new row is in the tail
        ("COLUMNS", 200),  # a narrow cycle flushes narrowly
    ]
    assert all(WHOLE not in g.ranges for g in gets)
    assert sent(world) == once_each(*every_row(), "https://new")
    assert world.column("Status") == ["triggered"] * (N - 40 + 1)
    assert_idle(world)


def test_rows_deleted_in_flight_so_the_window_is_past_the_grid(world: World) -> None:
    """Rows deleted while a trigger is in flight: the flush reads whole, results land right."""
    sid = big_tab(world, grid=N + 1)
    new = rows(N + 1, N + 3)
    world.google.insert_rows(sid, "Queue", N + 2, values=new)
    report, gets = in_flight(world, lambda: world.google.delete_rows(sid, "Queue", 2, count=5))
    assert report.error is None and report.missing == 0
    assert [(g.dimension, g.status) for g in gets] == [
        ("COLUMNS", 200),
        ("COLUMNS", 400),  # the window reaches past the shrunk grid
        ("ROWS", 200),
    ]
    assert all(row_of(world, u)["Status"] == "triggered" for u, _ in new)
    links = [row_of(world, u)["Run link"] for u, _ in new]
    assert len(set(links)) == 3
    assert sent(world) == once_each(*every_row(), *[u for u, _ in new])
    assert_idle(world)


@pytest.mark.parametrize(
    ("cell", "value", "payload_header", "payload_row"),
    [
        ((1, 7), "notes", [*HEADER, "notes"], ["https://new", "N", "fragile"]),
        ((1, 2), "name", ["url", "name"], ["https://new", "N"]),
    ],
    ids=["column-added", "column-renamed"],
)
def test_changed_header_reads_narrowly_again_and_still_sends(
    world: World,
    cell: tuple[int, int],
    value: str,
    payload_header: list[str],
    payload_row: list[str],
) -> None:
    """A header changed since the plan was made: read again narrowly by the new header
    (one more read, never the whole tab), then narrow by the new plan."""
    sid = big_tab(world)
    world.google.set_cell(sid, "Queue", *cell, value)
    world.google.insert_rows(sid, "Queue", N + 2, values=[["https://new", "N"]])
    world.google.set_cell(sid, "Queue", N + 2, 7, "fragile")
    report, gets = cycle(world)
    assert report.error is None and report.triggered == 1
    assert [(g.dimension, g.ranges[0]) for g in gets] == [
        ("COLUMNS", "'Queue'!1:1"),
        ("COLUMNS", "'Queue'!1:1"),  # by the header the first read found
        ("COLUMNS", "'Queue'!1:1"),  # the flush's windows
    ]
    assert all(g.narrow for g in gets)
    assert world.google.writes() == 2
    assert world.axiom.triggers[-1].data == [payload_header, payload_row]
    assert sent(world) == once_each(*every_row(), "https://new")
    assert world.row(N + 2)["Status"] == "triggered"
    assert_idle(world)


# -- rows move while a trigger is in flight ---------------------------------------------
@pytest.mark.parametrize(("inserted", "reads"), [(3, 2), (70, 3)])
def test_rows_inserted_above_in_flight(world: World, inserted: int, reads: int) -> None:
    """Rows inserted above a claimed row meanwhile: its result follows it, and no one else
    gets it. Within WINDOW rows the flush reads only its window; further, the whole tab."""
    sid = big_tab(world)
    world.google.set_cell(sid, "Queue", 20, STATUS, "retry")
    cycle(world)  # takes row 20 whole on the next cycle
    humans = [[f"https://human/{i}", "", HUMAN] for i in range(inserted)]
    report, gets = in_flight(world, inserting(world, humans))
    assert report.error is None and report.triggered == 1
    assert len(gets) == reads and all(g.status == 200 for g in gets)
    assert gets[1].narrow  # the window around row 20
    assert world.google.writes() == 2
    moved = world.row(20 + inserted)
    assert moved["url"] == url(20) and moved["Status"] == "triggered"
    for number in range(2, 2 + inserted):
        row = world.row(number)
        assert row["Status"] == HUMAN and row["Run link"] == row["sheetsync id"] == ""
    assert sent(world) == once_each(*every_row()) + once_each(url(20))
    assert_idle(world)


def test_rows_inserted_above_appended_rows_in_flight(world: World) -> None:
    """New rows at the bottom, two rows inserted at the top meanwhile: results follow."""
    sid = big_tab(world)
    new = rows(N + 1, N + 2)
    world.google.insert_rows(sid, "Queue", N + 2, values=new)
    humans = [["https://human/1", "", HUMAN], ["https://human/2", "", HUMAN]]
    report, gets = in_flight(world, inserting(world, humans))
    assert report.error is None and report.triggered == 2
    # the flush window stops at the rows the first read saw, so these moved out of it:
    # the tab is read whole (3 reads; 2 would do with the window reaching further down)
    assert len(gets) <= 3 and world.google.writes() == 2
    assert [world.row(N + 4 + i)["url"] for i in range(2)] == [u for u, _ in new]
    assert [world.row(N + 4 + i)["Status"] for i in range(2)] == ["triggered"] * 2
    assert world.row(2)["Status"] == world.row(3)["Status"] == HUMAN
    assert sent(world) == once_each(*every_row(), *[u for u, _ in new])
    assert_idle(world)


# -- failed writes heal -----------------------------------------------------------------
def test_failed_result_write_heals_next_cycle(world: World) -> None:
    """The final write fails: the rows show `sending`; the next cycle writes the results
    (reading whole: a 5xx may have been applied, so that write is checked against every
    row) and sends nothing again."""
    sid = big_tab(world)
    new = rows(N + 1, N + 2)
    world.google.insert_rows(sid, "Queue", N + 2, values=new)
    world.google.add_fault(path=r"values:batchUpdate$", method="POST", status=500, count=1, skip=1)
    report, _ = cycle(world)
    assert report.error is not None and report.triggered == 2
    assert world.column("Status")[-2:] == ["sending", "sending"]
    report, gets = cycle(world)
    assert report.error is None and report.new == 0
    assert [g.ranges for g in gets] == [[WHOLE]]
    assert world.google.writes() == 1
    assert world.column("Status")[-2:] == ["triggered", "triggered"]
    assert sent(world) == once_each(*every_row(), *[u for u, _ in new])
    assert world.runtime().journal.unshown("w0", world.clock.now) == {}
    assert_idle(world)


@pytest.fixture
def tracked(tmp_path: Path) -> Iterator[World]:
    """A world whose axiom emulator counts run time on the world's clock."""
    w = World.start(tmp_path, share_clock=True)
    try:
        yield w
    finally:
        w.stop()


def test_a_run_result_whose_write_failed_lands_through_a_narrow_cycle(tracked: World) -> None:
    """A tracked run ends; writing it fails; the next narrow cycle writes it (the row is
    far above the tail, never read whole: it is written because the sheet lacks it)."""
    world = tracked
    data = [[*HEADER, "Status"], ["https://tracked", "T"]]
    data += [[u, p, HUMAN] for u, p in rows(2, N)]
    world.axiom.set_run_statuses(AUTOMATION, ["Running", "Success"])
    big_tab(world, data, track_runs=True)
    assert world.row(2)["Run status"] == "running"
    refused = world.google.add_fault(
        path=r"values:batchUpdate$", method="POST", status=500, count=1
    )
    for _ in range(4):
        world.clock.advance(15)
        cycle(world)
        if refused.hits:
            break
    assert refused.hits == 1
    assert world.row(2)["Run status"] == "running"
    report, gets = cycle(world)
    assert report.error is None
    assert len(gets) == 1 and gets[0].narrow
    assert not any(r.startswith("'Queue'!A2:") for r in gets[0].ranges)
    assert world.google.writes() == 1
    assert world.row(2)["Run status"] == "success"
    assert len(world.axiom.triggers) == 1
    assert_idle(world)


def test_world_sheet_takes_a_grid_height(world: World) -> None:
    """The test helper makes a tab with an exact grid height (as `big_tab(grid=...)` needs)."""
    sid = world.sheet([HEADER, *rows(1, 3)], rows=4)
    assert world.google.grid_size(sid, "Queue")[0] == 4


def _rows_as_built_before(
    header: list[str], spread: list[list[str]], height: int, whole: dict[int, list[str]]
) -> list[Sequence[str]]:
    """The narrow table as `first_view` materialised it before `NarrowTable`."""
    table: list[Sequence[str]] = [header]
    table.extend(zip_longest(*spread, fillvalue=""))
    del table[height:]
    table.extend([()] * (height - len(table)))
    for number, row in whole.items():
        if number <= height:
            table[number - 1] = row
    return table


@pytest.mark.parametrize("seed", range(20))
def test_narrow_table_rows_are_the_rows_a_list_would_hold(seed: int) -> None:
    """Built on demand, every row, slice, negative index and the width are as before."""
    rng = random.Random(seed)
    spread: list[list[str]] = [[] for _ in range(rng.randint(1, 6))]
    for col in rng.sample(range(len(spread)), rng.randint(1, len(spread))):
        spread[col] = [rng.choice(["", "triggered", "r1"]) for _ in range(rng.randint(0, 40))]
    longest = max(map(len, spread))
    height = longest + 1 + rng.randint(0, 5)
    whole = {
        n: [rng.choice("abc") for _ in range(rng.randint(0, 8))]
        for n in rng.sample(range(2, height + 4), rng.randint(0, 6))
    }
    header = ["url", "product", "Status"][: rng.randint(1, 3)]
    expected = _rows_as_built_before(header, spread, height, whole)
    table = NarrowTable(header, spread, height, whole)
    assert len(table) == len(expected)
    assert [table[i] for i in range(len(table))] == [
        tuple(r) if isinstance(r, tuple) else r for r in expected
    ]
    assert table[1:] == expected[1:] and table[-1] == expected[-1]
    assert table.width == max(map(len, expected))
    with pytest.raises(IndexError):
        table[len(table)]
