"""Issue 14 point 1: the first cycle of a big tab (no journal for it, or a lost one).

Its tab is read whole in the one request a first read always was, but the cycle keeps
whole only the rows whose inputs it needs (rows that may be new, `waiting` rows, copies
of an id); of every other row it keeps the status, id and other result cells, which is
what a lost journal adopts it with. Every test here makes tabs of 50 rows "big".
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

import sheetsync.core.narrow
import sheetsync.cycle.reading
from sheetsync.core.first_read import lean_views
from sheetsync.core.plan import fingerprint
from sheetsync.core.view import NarrowTable, View
from sheetsync.invariants import sent_urls
from sheetsync.testing import World

HEADER = ["url", "product", "Status", "Run link", "Message", "sheetsync id"]
HANDLED = 120


@pytest.fixture(autouse=True)
def _big_from_fifty_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sheetsync.core.narrow, "NARROW_FROM_ROWS", 50)


@pytest.fixture
def views(monkeypatch: pytest.MonkeyPatch) -> list[View]:
    """The views first reads kept, as the cycle got them."""
    kept: list[View] = []

    def spying(rows: Iterator[list[str]], watches: Any) -> dict[str, View]:
        views = lean_views(rows, watches)
        kept.extend(views.values())
        return views

    monkeypatch.setattr(sheetsync.cycle.reading, "lean_views", spying)
    return kept


def handled(i: int) -> list[str]:
    """A row someone's sheetsync handled: triggered, its link, its id."""
    return [f"https://{i}", f"P{i}", "triggered", f"https://run/{i}", "", f"r{i:011d}"]


def gets(world: World, start: int) -> list[list[str]]:
    """The ranges of each `values:batchGet` since `start`."""
    return [
        r.query["ranges"] for r in world.google.log[start:] if r.path.endswith("values:batchGet")
    ]


def cells(table: list[list[str]]) -> int:
    return sum(len(row) for row in table)


def test_a_lost_journal_on_a_big_tab_keeps_whole_only_rows_that_may_be_new(
    world: World, views: list[View]
) -> None:
    """Same requests as ever (2 reads + 2 writes); whole rows kept: the new rows (mid-tab
    and at the bottom), the waiting row, the retry row and the copy of an id; every id is
    adopted, the rows not kept whole without their inputs; each row that may go goes once,
    the others are left as they are; the next cycle reads narrowly by the saved plan."""
    rows = [handled(i) for i in range(HANDLED)]
    rows.insert(40, ["https://mid", "M"])
    rows.insert(80, ["https://w", "W", "waiting", "", "Rate limit (sheetsync retries)", "rw1"])
    rows.insert(90, ["https://again", "A", "retry", "https://run/old", "", "rx1"])
    rows.append(handled(7))  # a person copied row 7 (its id too) to the bottom
    rows += [["https://new1", "N1"], ["https://new2", "N2"]]
    table = [HEADER, *rows]
    world.sheet(table)
    world.config({"mode": "row"})
    before = {row[0]: row for row in world.values()[1:]}
    world.google.reset_counters()
    start = len(world.google.log)
    world.once()

    [view] = views
    assert isinstance(view.table, NarrowTable) and view.adoptable
    at = {row[0]: n for n, row in enumerate(table, start=1) if row}
    copy = len(table) - 2
    wanted = {at["https://mid"], at["https://w"], at["https://again"], copy}
    assert view.known == wanted | {at["https://new1"], at["https://new2"]}
    assert world.google.reads() == 2 and world.google.writes() == 2
    assert gets(world, start)[0] == ["'Queue'"]  # the first read: the tab, in one range

    journal = world.runtime().journal
    ids = [r[5] for r in rows if len(r) > 5]
    assert journal.known_ids("w0", ids) == set(ids)
    entries = journal.entries_needed("w0", world.clock.now, ["r00000000003", "rw1"])
    assert entries["r00000000003"].state == "triggered"
    assert entries["r00000000003"].fingerprint == ""  # not read whole: inputs not recorded
    assert entries["rw1"].fingerprint == fingerprint(["https://w", "W"])

    going = ["https://mid", "https://w", "https://again", "https://new1", "https://new2"]
    assert sent_urls(world.axiom) == Counter(dict.fromkeys(going, 1))
    after = {row[0]: row for row in world.values()[1:]}
    assert all(after[u] == before[u] for u in before if u not in going)
    assert world.runtime().journal.read_plan("w0") is not None

    world.google.reset_counters()
    start = len(world.google.log)
    world.once()
    assert world.google.reads() == 1 and world.google.writes() == 0
    assert gets(world, start)[0] != ["'Queue'"]
    assert world.google.cells_read() < cells(world.values())  # two columns, a tail
    assert len(views) == 1  # read by its plan, not whole
    assert len(world.axiom.triggers) == len(going)


def test_start_from_now_on_a_big_tab_skips_rows_already_there(
    world: World, views: list[View]
) -> None:
    """`start_from = "now"`: the rows already there that no one handled are marked
    skipped, the journal keeps their inputs, nothing is sent; a row added later is."""
    rows = [[f"https://{i}", f"P{i}", "done by hand"] for i in range(HANDLED)]
    rows[30] = ["https://early", "E"]
    rows.append(["https://last", "L"])
    world.sheet([HEADER, *rows])
    world.config({"mode": "row", "start_from": "now"})
    world.once()

    [view] = views
    assert view.known == {32, HANDLED + 2}
    assert sent_urls(world.axiom) == Counter()
    assert world.row(32)["Status"] == "skipped" and world.row(HANDLED + 2)["Status"] == "skipped"
    skipped = world.row(32)["sheetsync id"]
    journal = world.runtime().journal
    assert journal.ids_with_fingerprint("w0", fingerprint(["https://early", "E"])) == [skipped]
    assert world.row(10)["Status"] == "done by hand"

    world.google.insert_rows(
        world.spreadsheet_id, "Queue", HANDLED + 3, values=[["https://x", "X"]]
    )
    world.once()
    assert sent_urls(world.axiom) == Counter({"https://x": 1})


def test_a_small_tab_is_kept_whole(world: World, views: list[View]) -> None:
    """Below 50 rows the first read's view is the whole tab, as before."""
    world.sheet([HEADER, *[handled(i) for i in range(20)], ["https://new", "N"]])
    world.config({"mode": "row"})
    world.once()
    [view] = views
    assert view.known is None and len(view.table) == 22
    assert sent_urls(world.axiom) == Counter({"https://new": 1})


def test_header_problems_of_a_big_tab_are_still_reported(
    world: World, views: list[View], caplog: pytest.LogCaptureFixture
) -> None:
    """Data under a blank header cell and right of the header: the warning names the
    first row of each, though those rows are handled rows."""
    header = ["url", "product", "", "Status", "Run link", "Message", "sheetsync id"]
    rows = [[*r[:2], "", *r[2:]] for r in (handled(i) for i in range(HANDLED))]
    rows[60][2] = "typed under no header"
    rows[70] += ["", "beyond"]
    world.sheet([header, *rows])
    world.config({"mode": "row"})
    caplog.set_level(logging.WARNING)
    world.once()
    assert isinstance(views[0].table, NarrowTable)
    [warning] = [r.getMessage() for r in caplog.records if "no header" in r.getMessage()]
    assert "C62" in warning and "I72" in warning


def test_the_first_cycle_after_a_takeover_keeps_the_tab_lean_and_projects_every_row(
    world: World, views: list[View]
) -> None:
    """A takeover (its read plans dropped) reads the tab whole and keeps it lean, as a
    first read does; every row's result cells are compared with the journal, so a result
    cell a person changed on a handled row is put back; a later cycle reads by the plan
    again."""
    world.sheet([HEADER, *[handled(i) for i in range(HANDLED)], ["https://new", "N"]])
    world.config({"mode": "row"})
    world.once()
    assert len(views) == 1
    world.close_runtime()
    journal = world.runtime().journal
    for unit in journal.held():
        journal.recover_unit(unit, world.clock.now)  # as a new holder does
    world.google.set_cell(world.spreadsheet_id, "Queue", 11, 4, "typed over")
    world.once()
    assert len(views) == 2 and views[1].known == set()  # every row handled: none whole
    assert world.row(11)["Run link"] == "https://run/9"
    world.google.reset_counters()
    world.once()
    assert world.google.reads() == 1 and world.google.cells_read() < cells(world.values())


@pytest.mark.sqlite_only(
    "a new process keeps the read plan on SQLite only; on PostgreSQL every start is a"
    " takeover that drops it (FLEET.md; tests/test_first_read_recovery.py)"
)
def test_a_new_process_on_the_same_state_file_reads_by_the_saved_plan(world: World) -> None:
    """SQLite, one process at a time: the next `sheetsync once` reads narrowly by the plan
    the last one saved (a process start recovers `sending` rows, keeps the plans)."""
    world.sheet([HEADER, *[handled(i) for i in range(HANDLED)], ["https://new", "N"]])
    world.config({"mode": "row"})
    world.once()
    world.close_runtime()
    world.google.reset_counters()
    world.once()
    assert world.google.reads() == 1 and world.google.cells_read() < cells(world.values())
