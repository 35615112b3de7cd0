"""`reprojection`: which rows of a lean read show other result cells than the journal's.

The takeover's first cycle projects only the rows this finds, where it used to project
every row read whole; so for every row it must name exactly the ids `projection.project`
writes on a table read whole with every entry (ids on more than one row are named
anyway: the projection tells their owner by the inputs).
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from sheetsync.config import Watch
from sheetsync.config.schema import build
from sheetsync.core import narrow
from sheetsync.core.first_read import lean_view
from sheetsync.core.model import Entry, Result, ResultPage
from sheetsync.core.ownership import owners_of
from sheetsync.core.projection import project
from sheetsync.core.reprojection import reproject
from sheetsync.core.view import layout_of, scan

HEADER = ["url", "Status", "Run link", "Message", "sheetsync id", "Triggered at", "Run"]


def watch(**kw: Any) -> Watch:
    base: dict[str, Any] = {
        "name": "w",
        "spreadsheet": "s",
        "worksheet": "Q",
        "automation": "A",
        "columns": {"triggered_at": "Triggered at", "run_status": "Run"},
    }
    return build(Watch, {**base, **kw})


@pytest.fixture(autouse=True)
def _big_from_ten_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(narrow, "NARROW_FROM_ROWS", 10)


def entry(i: int, rng: random.Random) -> Entry:
    states = ["triggered", "error", "unknown", "queued", "foreign", "skipped", "claimed"]
    state = rng.choice([*states, "sending", "waiting", "abandoned"])
    link = f"https://run/{i}" if state == "triggered" else ""
    message = rng.choice(["", "ok", "axiom said no", "x" * 60_000])
    run = rng.choice(["", "", "running", "success", "overlapped"])
    return Entry(f"r{i}", state, link=link, message=message, run_status=run, triggered_at="t")


def shown(e: Entry, w: Watch) -> list[str]:
    """The row as the journal says it should look (a handled row's cells)."""
    from sheetsync.core.projection import desired_cells

    d = desired_cells(e, w)
    return [f"u-{e.row_id}", d["status"], d["link"], d["message"], d["id"], "t", d["run_status"]]


def spoil(row: list[str], rng: random.Random) -> list[str]:
    """What a person (or a former holder) may have left on a row, sometimes nothing."""
    row = list(row)
    kind = rng.randrange(9)
    if kind == 0:
        row[2] = "typed over"
    elif kind == 1:
        row[1] = "retry"
    elif kind == 2:
        row[3] = ""
    elif kind == 3:
        row[4] = f" {row[4]} "
    elif kind == 4:
        del row[5:]  # a short row: its last cells empty
    elif kind == 5:
        row[6] = "success"
    return row


def as_result(e: Entry) -> Result:
    return Result(e.row_id, e.state, e.link, e.message, e.triggered_at, e.run_status, e.shown)


@pytest.mark.parametrize("seed", range(20))
def test_it_names_exactly_the_rows_a_whole_projection_writes(seed: int) -> None:
    rng = random.Random(seed)
    w = watch()
    entries = {f"r{i}": entry(i, rng) for i in range(200)}
    rows = [spoil(shown(e, w), rng) for e in entries.values()]
    rows[7][4] = "r3"  # r3 on two rows
    rows[9][4] = "unknown-id"  # an id the journal does not know
    rows.insert(50, ["u-new"])  # a new row
    del entries["r120"]  # a row the journal lost: unknown too
    table = [HEADER, *rows]
    view = lean_view(iter(table), w)
    layout = layout_of(w, view.table)
    found = scan(view, layout, w)
    ordered = sorted(entries.values(), key=lambda e: e.row_id)
    pages = [
        ResultPage.of(as_result(e) for e in ordered[i : i + 17]) for i in range(0, len(ordered), 17)
    ]
    assert view.columns is not None
    got = reproject(pages, view.columns, layout, w, found)

    whole = project(table, layout, w, entries, owners_of(table, layout, entries))
    written = set(whole.showing) - set(found.extra)
    assert got.differ - set(found.extra) == written
    assert set(found.extra) <= got.differ  # r3: the projection tells its owner
    assert sorted(got.unknown) == ["r120", "unknown-id"]
    assert got.compared == len(entries) - 2  # r7 and r9 left the sheet (r3, unknown-id)


def test_a_result_page_is_columns_made_rows_only_when_asked_for() -> None:
    rows = [
        ("a", "triggered", "https://run/a", "", "t", "", 1),
        ("b", "error", "", "no", "", "", 0),
    ]
    page = ResultPage.of(rows)
    assert page.links == ["https://run/a", ""]
    assert page.shown == [True, False]  # SQLite's 1 and 0
    assert len(page) == 2
    assert page[1] == Result("b", "error", "", "no", "", "", False)
    assert page[-1].row_id == "b"
    assert list(page) == [Result(*r[:6], bool(r[6])) for r in rows]
    assert not ResultPage.of(())
    with pytest.raises(ValueError, match="different lengths"):
        ResultPage(["a"], [], [], [], [], [], [])
