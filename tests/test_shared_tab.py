"""A big tab two watches share is read narrowly, each watch by its own plan, in one request.

Each watch has its own result columns and its own automation; tabs of `N` rows are big
(`NARROW_FROM_ROWS` = 50). The tests count what the emulator was asked for and answered
(ranges, cells), what reached axiom per automation, and what the sheet shows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import sheetsync.core.narrow
import sheetsync.cycle.reading
from sheetsync.core.first_read import lean_views
from sheetsync.core.narrow import ReadPlan
from sheetsync.core.report import CycleReport
from sheetsync.core.view import NarrowTable, View
from sheetsync.testing import AUTOMATION, World

INPUTS = ["url", "product"]
FIRST = ["Status", "Run link", "Message", "sheetsync id"]
SECOND = ["Status 2", "Link 2", "Message 2", "id 2"]
HEADER = [*INPUTS, *FIRST, *SECOND]
HAND = ["by hand", "H", "done by hand", "", "", "", "done by hand"]
"""A row both watches' statuses say a person handled: left alone by both."""
OTHER = "Second bot"
"""The second watch's automation: a trigger tells which watch sent it."""
N = 100
TAIL = N + 2 - sheetsync.core.narrow.TAIL_MARGIN
WHOLE = "'Queue'"
NARROW_FIRST = ["'Queue'!1:1", "'Queue'!C2:C", "'Queue'!F2:F", f"'Queue'!A{TAIL}:J"]
"""The first watch's narrow first read (status C, id F, the tail A..J)."""
NARROW_SECOND = ["'Queue'!G2:G", "'Queue'!J2:J"]
"""What the second watch's adds: its status and id columns (the header, the tail: asked once)."""


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """Both emulators, axiom knowing both watches' automations."""
    w = World.start(tmp_path, (AUTOMATION, OTHER))
    try:
        yield w
    finally:
        w.stop()


@pytest.fixture(autouse=True)
def _big_from_fifty_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sheetsync.core.narrow, "NARROW_FROM_ROWS", 50)


def rows(first: int, last: int) -> list[list[str]]:
    return [[f"https://shop.example/{i}", f"P{i}"] for i in range(first, last + 1)]


def urls(first: int, last: int) -> list[str]:
    return [r[0] for r in rows(first, last)]


def url(i: int) -> str:
    [found] = urls(i, i)
    return found


def sent(world: World) -> dict[str, Counter[str]]:
    """How often each url was triggered, per automation (row mode: [header, row])."""
    out: dict[str, Counter[str]] = {AUTOMATION: Counter(), OTHER: Counter()}
    for t in world.axiom.triggers:
        out[t.name][t.data[1][0]] += 1
    return out


def once_each(found: Sequence[str]) -> dict[str, Counter[str]]:
    """Every url of `found` sent once by each watch."""
    return {name: Counter(dict.fromkeys(found, 1)) for name in (AUTOMATION, OTHER)}


def configure(world: World, **extra: Any) -> None:
    second = {"status": "Status 2", "link": "Link 2", "message": "Message 2", "id": "id 2"}
    base = {"mode": "row", "input_columns": INPUTS, **extra}
    world.config(base, {**base, "automation": OTHER, "columns": second})


def shared_tab(world: World, data: list[list[str]] | None = None, **extra: Any) -> str:
    """A tab of `data` (default: `N` rows) both watches handled, each with a read plan."""
    world.sheet(data or [HEADER, *rows(1, N)])
    configure(world, **extra)
    world.once()
    world.once()
    journal = world.runtime().journal
    assert journal.read_plan("w0") is not None and journal.read_plan("w1") is not None
    return world.spreadsheet_id


def gets(world: World, start: int) -> list[tuple[str, list[str]]]:
    """(major dimension, ranges) of each `values:batchGet` since `start`."""
    return [
        (r.query["majorDimension"][0], r.query["ranges"])
        for r in world.google.log[start:]
        if r.path.endswith("values:batchGet")
    ]


def cycle(world: World) -> list[CycleReport]:
    """One cycle of both watches, with the counters reset."""
    world.google.reset_counters()
    return world.once()


def row_of(world: World, address: str) -> dict[str, str]:
    values = world.values()
    [row] = [r for r in values[1:] if r and r[0] == address]
    return {h: (row[i] if i < len(row) else "") for i, h in enumerate(values[0])}


def assert_narrow_idle(world: World) -> None:
    """The next cycle: one narrow read (both watches' narrow columns; the header and the
    tail once), no write, nothing sent; fewer cells than the tab holds."""
    before, values = len(world.axiom.triggers), world.values()
    journal = world.runtime().journal
    plans = [ReadPlan.loads(journal.read_plan(name) or "") for name in ("w0", "w1")]
    assert None not in plans
    [tail] = {plan.tail for plan in plans if plan is not None}  # both: the same last row
    start = len(world.google.log)
    reports = cycle(world)
    assert [r.error for r in reports] == [None, None]
    assert len(world.axiom.triggers) == before
    first = ["'Queue'!1:1", "'Queue'!C2:C", "'Queue'!F2:F", f"'Queue'!A{tail}:J"]
    assert gets(world, start) == [("COLUMNS", [*first, "'Queue'!G2:G", "'Queue'!J2:J"])]
    assert world.google.reads() == 1 and world.google.writes() == 0
    width, height = len(values[0]), len(values)
    narrow = width + 4 * (height - 1) + width * (height + 1 - tail)
    assert world.google.cells_read() <= narrow < cells(values)


def cells(values: list[list[str]]) -> int:
    return sum(len(r) for r in values)


# -- a served cycle ------------------------------------------------------------------
def test_a_served_cycle_reads_a_shared_tab_narrowly_and_sends_each_row_once_per_watch(
    world: World,
) -> None:
    """Rows appended to a shared big tab: two narrow reads (the header and the tail asked
    once for both watches), two writes; each watch sends each new row once."""
    sid = shared_tab(world)
    assert sent(world) == once_each(urls(1, N))
    world.google.insert_rows(sid, "Queue", N + 2, values=rows(N + 1, N + 3))
    start = len(world.google.log)
    reports = cycle(world)
    assert [(r.error, r.triggered) for r in reports] == [(None, 3), (None, 3)]
    assert sent(world) == once_each(urls(1, N + 3))
    first, flush = gets(world, start)
    assert first == ("COLUMNS", NARROW_FIRST + NARROW_SECOND)
    assert flush[0] == "COLUMNS" and WHOLE not in flush[1]
    assert flush[1].count("'Queue'!1:1") == 1  # one header and one window for both
    assert world.google.reads() == 2 and world.google.writes() == 2
    assert world.column("Status") == ["triggered"] * (N + 3)
    assert world.column("Status 2") == ["triggered"] * (N + 3)
    ids = world.column("sheetsync id") + world.column("id 2")
    assert len(set(ids)) == 2 * (N + 3) and all(ids)
    assert_narrow_idle(world)


def test_rows_split_by_ready_columns_go_to_their_own_watch_only(world: World) -> None:
    """Each watch has its own ready column: a row ticked for one is sent by it alone, and
    by the other once ticked there too (its cells read whole on a narrow cycle)."""
    header = [*HEADER, "Ready 1", "Ready 2"]
    data = [[*r, *[""] * 8, "TRUE", "TRUE"] for r in rows(1, N)]
    sid = shared_tab(world, [header, *data])
    configure_ready(world)
    world.once()
    for i, line in enumerate(rows(N + 1, N + 4)):
        ticks = ["TRUE", ""] if i % 2 == 0 else ["", "TRUE"]
        world.google.insert_rows(sid, "Queue", N + 2 + i, values=[[*line, *[""] * 8, *ticks]])
    reports = cycle(world)
    assert [(r.error, r.triggered) for r in reports] == [(None, 2), (None, 2)]
    assert sent(world)[AUTOMATION] == Counter(dict.fromkeys([*urls(1, N + 1), url(N + 3)], 1))
    assert sent(world)[OTHER] == Counter(dict.fromkeys([*urls(1, N), url(N + 2), url(N + 4)], 1))
    world.google.set_cell(sid, "Queue", N + 2, 12, "TRUE")  # row N+1, now ready for w1 too
    start = len(world.google.log)
    reports = cycle(world)
    assert [r.triggered for r in reports] == [0, 1]
    assert all(g[0] == "COLUMNS" and WHOLE not in g[1] for g in gets(world, start))
    assert sent(world)[AUTOMATION] == Counter(dict.fromkeys([*urls(1, N + 1), url(N + 3)], 1))
    assert sent(world)[OTHER] == Counter(dict.fromkeys([*urls(1, N + 2), url(N + 4)], 1))
    assert row_of(world, url(N + 2))["Status"] == ""  # never ticked for w0
    assert row_of(world, url(N + 3))["Status 2"] == ""  # never ticked for w1


@pytest.mark.sqlite_only(
    "World.config starts a new process: on PostgreSQL a takeover, which drops both watches'"
    " plans, so neither is read narrowly (it failed there before the takeover was kept lean)"
)
def test_one_watch_read_whole_beside_the_other_s_narrow_read_of_the_tab(world: World) -> None:
    """The second watch's settings changed (its plan no longer fits) and the process is new
    (`world.config`): the tab is read whole for it in a request of its own, kept lean and
    compared with the journal (`core.reprojection`), beside the request that reads the
    first watch's narrow ranges; each sends the new row once, and the next cycle reads
    narrowly for both."""
    sid = shared_tab(world)
    second = {"status": "Status 2", "link": "Link 2", "message": "Message 2", "id": "id 2"}
    base = {"mode": "row", "input_columns": INPUTS}
    world.config(
        base, {**base, "automation": OTHER, "columns": second, "add_missing_columns": False}
    )
    world.google.insert_rows(sid, "Queue", N + 2, values=rows(N + 1, N + 1))
    start = len(world.google.log)
    reports = cycle(world)
    assert [(r.error, r.triggered) for r in reports] == [(None, 1), (None, 1)]
    assert gets(world, start)[:2] == [("COLUMNS", NARROW_FIRST), ("COLUMNS", [WHOLE])]
    assert sent(world) == once_each(urls(1, N + 1))
    assert world.row(N + 2)["Status"] == world.row(N + 2)["Status 2"] == "triggered"
    assert_narrow_idle(world)


def configure_ready(world: World) -> None:
    second = {"status": "Status 2", "link": "Link 2", "message": "Message 2", "id": "id 2"}
    base = {"mode": "row", "input_columns": INPUTS}
    world.config(
        {**base, "ready_column": "Ready 1"},
        {**base, "automation": OTHER, "columns": second, "ready_column": "Ready 2"},
    )


# -- people move rows --------------------------------------------------------------
@pytest.mark.parametrize("edit", ["insert", "delete", "sort"])
def test_rows_moved_between_cycles_still_get_their_results(world: World, edit: str) -> None:
    """Rows inserted above, deleted above or the tab sorted between two cycles: the new
    rows go once per watch and each watch's results land on the row holding its id."""
    sid = shared_tab(world)
    world.google.insert_rows(sid, "Queue", N + 2, values=rows(N + 1, N + 3))
    if edit == "insert":
        world.google.insert_rows(sid, "Queue", 2, values=[HAND])
    elif edit == "delete":
        world.google.delete_rows(sid, "Queue", 2, count=5)
    else:
        world.google.sort(sid, "Queue", 2, ascending=False)  # by product, P99 first
    for _ in range(2):  # a row moved off the plan is read whole by the next cycle
        assert [r.error for r in cycle(world)] == [None, None]
    assert sent(world) == once_each(urls(1, N + 3))
    for address in urls(N + 1, N + 3):
        row = row_of(world, address)
        assert row["Status"] == row["Status 2"] == "triggered"
        assert row["Run link"] and row["Link 2"] and row["Run link"] != row["Link 2"]
    if edit == "insert":
        hand = row_of(world, "by hand")
        assert hand["Status"] == hand["Status 2"] == "done by hand"
        assert hand["sheetsync id"] == hand["id 2"] == ""
    assert_narrow_idle(world)


def test_rows_inserted_while_triggers_are_in_flight_get_their_results(world: World) -> None:
    """Rows inserted above the claimed rows before the flush: both watches' results land on
    the rows holding their ids (not on the rows that moved under the claimed positions),
    and the inserted rows go once per watch on the next cycle."""
    sid = shared_tab(world)
    world.google.insert_rows(sid, "Queue", N + 2, values=rows(N + 1, N + 3))
    inserted = [["https://inserted/1", "I1"], ["https://inserted/2", "I2"]]
    world.google.reset_counters()
    world.once_while_held(lambda: world.google.insert_rows(sid, "Queue", N - 5, values=inserted))
    for address in urls(N + 1, N + 3):
        row = row_of(world, address)
        assert row["Status"] == row["Status 2"] == "triggered"
    for address, _ in inserted:
        row = row_of(world, address)
        assert row["Status"] == row["Status 2"] == row["sheetsync id"] == row["id 2"] == ""
    world.once()
    world.once()
    assert sent(world) == once_each([*urls(1, N + 3), *(a for a, _ in inserted)])
    assert_narrow_idle(world)


# -- a first read -----------------------------------------------------------------
def test_a_shared_tab_first_read_is_walked_once_and_kept_lean_for_each_watch(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shared big tab new to sheetsync (rows handled by both, 2 new): its one whole read
    is walked once for both watches, each keeping whole only its rows that may be new;
    each new row goes once per watch, and the next cycles read narrowly."""
    kept: list[dict[str, View]] = []
    done_rows = enumerate(rows(1, N))

    def spying(found: Iterator[list[str]], watches: Any) -> dict[str, View]:
        kept.append(lean_views(found, watches))
        return kept[-1]

    monkeypatch.setattr(sheetsync.cycle.reading, "lean_views", spying)
    done = [
        [*r, "triggered", "l", "", f"a{i}", "triggered", "m", "", f"b{i}"] for i, r in done_rows
    ]
    world.sheet([HEADER, *done, *rows(N + 1, N + 2)])
    configure(world)
    start = len(world.google.log)
    reports = world.once()
    assert [(r.error, r.triggered) for r in reports] == [(None, 2), (None, 2)]
    assert gets(world, start)[0] == ("COLUMNS", [WHOLE])
    [views] = kept
    assert set(views) == {"w0", "w1"}
    for view in views.values():
        assert isinstance(view.table, NarrowTable) and view.known == {N + 2, N + 3}
    assert sent(world) == once_each(urls(N + 1, N + 2))
    world.once()
    assert_narrow_idle(world)
