"""The soak's account of a misplaced row explains a row without an id too: what it shows,
whose run its link is, and the watch's record of rows written by mistake."""

from __future__ import annotations

from sheetsync.testing import World
from sheetsync.testing_fleet import Fleet
from sheetsync.testing_fleet_report import misplaced, rows_report

HEADER = ["url", "product", "Status", "Run link", "Message", "sheetsync id"]


def test_a_misplaced_row_without_an_id_is_explained(world: World, pg_url: str) -> None:
    """A row showing `triggered` and a link no run of its own has, without an id: listed
    as misplaced, and its paragraph says whose run the link is and who held the unit."""
    fleet = Fleet(world, pg_url)
    (sheet,) = fleet.spreadsheets(1, rows=0)
    google = world.google
    for col, name in enumerate(HEADER, start=1):
        google.set_cell(sheet, "Queue", 1, col, name)
    url = fleet.add_row(sheet, "soak-7")
    google.set_cell(sheet, "Queue", 2, 3, "triggered")
    google.set_cell(sheet, "Queue", 2, 4, "https://lar-1.axiom.ai/vnc.html")

    wrong = misplaced(fleet)
    report = rows_report(fleet, lambda r: r.url == url)

    assert wrong == [f"{url} (Status 'triggered', Run link 'https://lar-1.axiom.ai/vnc.html')"]
    assert "no id on the sheet; Run link 'https://lar-1.axiom.ai/vnc.html' (a run of no row)" in (
        report
    )
    assert f"* unit {sheet} (w0): unit never leased" in report
