"""A takeover's first cycle on a big tab is kept lean and re-projects only what differs.

After a takeover (PostgreSQL) or a restart without a read plan that fits (SQLite), the
first cycle of a big tab must put back every result cell that does not show the journal
(a former holder may have died before its write, or written after it lost the
spreadsheet). It used to read every row whole, load every journal entry and mark every
row shown again: on 100,000 rows, 190 MB and 8x a served cycle's CPU (README,
Performance). Now it reads the tab as a first read keeps it (`first_read`), compares
each row's result cells with the journal's results page by page
(`core.reprojection`), and loads and writes only the rows that differ.

Counted here on a 3,005-row tab (big: `NARROW_FROM_ROWS` is 2,000) where a person
changed the result cells of 5 handled rows and typed one new row: the cycle keeps the
new row whole and no other, loads the entries of the 5 rows (and the new row's claim),
not 3,004, and marks shown only the rows it wrote; the sheet ends as the journal says.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

import sheetsync.cycle.reading
from sheetsync.adapters.store.journal_reads import RowReads
from sheetsync.adapters.store.pg_journal import JournalSql
from sheetsync.core.first_read import lean_views
from sheetsync.core.model import Entry
from sheetsync.core.view import View
from sheetsync.errors import SheetError
from sheetsync.invariants import sent_urls
from sheetsync.testing import World

HEADER = ["url", "product", "Status", "Run link", "Message", "sheetsync id"]
HANDLED = 3_004
CHANGED = {  # sheet row -> (column, what a person typed over sheetsync's cell)
    10: (4, "typed over"),
    500: (4, ""),
    1_000: (5, "a note"),
    2_000: (3, "error"),
    3_000: (6, " r00000002998 "),  # its id, padded: the projection writes it back clean
}


def handled(i: int) -> list[str]:
    return [f"https://{i}", f"P{i}", "triggered", f"https://run/{i}", "", f"r{i:011d}"]


class Counts:
    """Journal entries loaded, rows marked shown and views kept during a cycle."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entries = 0
        self.shown = 0
        self.views: list[View] = []
        for cls in (RowReads, JournalSql):
            for name in ("entries", "entries_needed", "unshown"):
                monkeypatch.setattr(cls, name, self._loading(getattr(cls, name)))
        for store in _stores():
            monkeypatch.setattr(store, "mark_shown", self._marking(store.mark_shown))
        monkeypatch.setattr(sheetsync.cycle.reading, "lean_views", self._keeping)

    def _loading(self, method: Any) -> Any:
        def counted(store: Any, *args: Any, **kw: Any) -> dict[str, Entry]:
            found: dict[str, Entry] = method(store, *args, **kw)
            self.entries += len(found)
            return found

        return counted

    def _marking(self, method: Any) -> Any:
        def counted(store: Any, watch: str, shown: Any, *args: Any, **kw: Any) -> None:
            rows = list(shown)
            self.shown += len(rows)
            method(store, watch, rows, *args, **kw)

        return counted

    def _keeping(self, rows: Iterator[list[str]], watches: Any) -> dict[str, View]:
        views = lean_views(rows, watches)
        self.views.extend(views.values())
        return views


def _stores() -> list[Any]:
    from sheetsync.adapters.store.journal import Journal
    from sheetsync.adapters.store.postgres import PostgresStore

    return [Journal, PostgresStore]


@pytest.fixture(params=["restart without a plan", "takeover"])
def taken(request: pytest.FixtureRequest, world: World) -> World:
    """A served 3,004-row tab, then a new process whose first cycle has no read plan:
    SQLite's restart with its plans dropped, or a PostgreSQL takeover."""
    world.sheet([HEADER, *[handled(i) for i in range(HANDLED)]])
    if request.param == "takeover":
        world.config({"mode": "row"}, state={"url": request.getfixturevalue("pg_url")})
    else:
        world.config({"mode": "row"})
    world.once()  # the first cycle ever: adopts every row (the journal did not know them)
    world.close_runtime()
    if request.param != "takeover":
        journal = world.runtime().journal
        for unit in journal.held():
            journal.recover_unit(unit, world.clock.now)  # plans dropped, as a takeover does
    return world


def test_the_first_cycle_after_a_takeover_loads_and_writes_only_what_differs(
    taken: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = taken
    sid = world.spreadsheet_id
    for number, (col, value) in CHANGED.items():
        world.google.set_cell(sid, "Queue", number, col, value)
    world.google.set_cell(sid, "Queue", HANDLED + 2, 1, "https://new")
    world.google.set_cell(sid, "Queue", HANDLED + 2, 2, "N")
    counts = Counts(monkeypatch)
    world.google.reset_counters()
    [report] = world.once()

    assert report.error is None and report.triggered == 1
    [view] = counts.views
    assert view.known == {HANDLED + 2}  # whole: the new row alone (was: all 3,005)
    assert counts.entries <= len(CHANGED) + 2  # was: 3,004 and more
    assert counts.shown <= len(CHANGED) + 2  # the rows written (was: every row)
    assert world.google.reads() == 2 and world.google.writes() == 2
    for number in CHANGED:
        i = number - 2
        assert world.values()[number - 1] == handled(i), number
    assert world.row(HANDLED + 2)["Status"] == "triggered"
    assert sent_urls(world.axiom) == Counter({"https://new": 1})

    world.google.reset_counters()
    counts.views.clear()
    world.once()  # the next cycle reads by the plan the takeover saved
    assert world.google.reads() == 1 and world.google.writes() == 0 and not counts.views


def test_a_comparison_that_failed_midway_is_made_again(
    taken: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure while the takeover's first cycle compares (here, raised by the journal's
    pages): that cycle fails, the next one compares again and puts the cell back."""
    taken.google.set_cell(taken.spreadsheet_id, "Queue", 10, 4, "typed over")
    pages = {cls: cls.result_pages for cls in (RowReads, JournalSql)}
    failed: list[bool] = []

    def once_broken(cls: Any) -> Any:
        def broken(store: Any, *args: Any, **kw: Any) -> Any:
            if not failed:
                failed.append(True)
                raise SheetError("a failure midway")
            return pages[cls](store, *args, **kw)

        return broken

    for cls in pages:
        monkeypatch.setattr(cls, "result_pages", once_broken(cls))
    [first] = taken.once()
    assert failed and first.error is not None
    for _ in range(2):
        taken.once()
    assert taken.values()[9][3] == handled(8)[3]
