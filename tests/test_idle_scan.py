"""An idle cycle of a big tab keeps the last cycle's scan (its open rows and where each id
is) while the status and id columns read are as before, and scans again as soon as a cell
of them, the tab's height or a status word changed. Counted, not timed: calls of
`core.view.scan` from the cycle's preparation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

import sheetsync.core.narrow
import sheetsync.cycle.memory
from sheetsync.core.view import scan
from sheetsync.testing import World

N = 100
STATUS, ID = 3, 6
"""Columns (1-based) of `Status` and `sheetsync id` (url, product, Status, Run link,
Message, sheetsync id)."""


@pytest.fixture(autouse=True)
def _big_from_fifty_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sheetsync.core.narrow, "NARROW_FROM_ROWS", 50)


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Each call of the real `scan` by `Memory.scan`, as the height of the table scanned."""
    calls: list[int] = []

    def counted(view, layout, watch):  # type: ignore[no-untyped-def]
        calls.append(len(view.table))
        return scan(view, layout, watch)

    monkeypatch.setattr(sheetsync.cycle.memory, "scan", counted)
    yield calls


def served(world: World) -> str:
    world.sheet([["url", "product"], *([f"https://shop.example/{i}", f"P{i}"] for i in range(N))])
    world.config({"mode": "row"})
    world.once()  # adds the result columns, sends every row
    world.once()  # read whole: saves the plan the next cycles read by
    return world.spreadsheet_id


def sent(world: World) -> Counter[str]:
    return Counter(t.data[1][0] for t in world.axiom.triggers)


def test_idle_cycles_scan_once_then_keep_it(world: World, scans: list[int]) -> None:
    served(world)
    scans.clear()
    for _ in range(4):
        [report] = world.once()
        assert report.error is None and report.triggered == 0
    assert scans == [N + 1]  # the first narrow read scanned; three idle ones kept it


def test_a_changed_cell_height_or_status_word_scans_again(world: World, scans: list[int]) -> None:
    sid = served(world)
    world.once()
    scans.clear()
    world.google.set_cell(sid, "Queue", 20, STATUS, "retry")  # a status cell
    world.once()  # scans: row 20 may go; it is not read whole, the plan takes it next
    world.once()  # the same cells: kept; row 20 read whole by the plan, sent again
    assert scans == [N + 1]
    assert sent(world)["https://shop.example/18"] == 2
    world.once()  # row 20 shows triggered again: scans
    world.once()  # kept
    assert scans == [N + 1] * 2
    world.google.insert_rows(sid, "Queue", 30)  # the height
    world.once()
    world.once()
    assert scans == [N + 1] * 2 + [N + 2]
    world.google.set_cell(sid, "Queue", 40, ID, "")  # an id cell cleared
    world.once()  # scans (a row showing a status and no id is left as it is)
    world.once()  # the same cells: kept
    assert scans == [N + 1] * 2 + [N + 2] * 2
    world.config({"mode": "row", "statuses": {"retry": "again"}})  # a status word
    world.once()
    assert len(scans) == 5
    assert sum(sent(world).values()) == N + 1  # nothing else went again
    assert world.row(20)["Status"] == "triggered"
