"""A big tab's first read after a takeover (PostgreSQL): the new holder's recovery drops
the spreadsheet's read plan, so its first cycle reads every row (kept lean) and compares
its result cells with the journal's (`core.reprojection`), and puts
back what a person changed on a handled row; then it reads by its plan again.

(On SQLite a restart keeps the plan: one process owns every spreadsheet, nothing changed
hands.)
"""

from __future__ import annotations

import pytest

import sheetsync.core.narrow
from sheetsync.testing import World

HEADER = ["url", "product", "Status", "Run link", "Message", "sheetsync id"]


@pytest.fixture(autouse=True)
def _big_from_fifty_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sheetsync.core.narrow, "NARROW_FROM_ROWS", 50)


def handled(i: int) -> list[str]:
    return [f"https://{i}", f"P{i}", "triggered", f"https://run/{i}", "", f"r{i:011d}"]


def test_the_first_cycle_after_a_takeover_reads_and_projects_every_row(
    world: World, pg_url: str
) -> None:
    world.sheet([HEADER, *[handled(i) for i in range(120)], ["https://new", "N"]])
    world.config({"mode": "row"}, state={"url": pg_url})
    world.once()
    world.close_runtime()  # releases the spreadsheet: the next process takes it over
    world.google.set_cell(world.spreadsheet_id, "Queue", 11, 4, "typed over")
    world.google.reset_counters()
    world.once()
    assert world.row(11)["Run link"] == "https://run/9"
    whole = sum(len(row) for row in world.values())
    world.google.reset_counters()
    world.once()
    assert world.google.reads() == 1 and world.google.cells_read() < whole
    assert len(world.payloads()) == 1  # the new row, once, in the first cycle
    world.close_runtime()
