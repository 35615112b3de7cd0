"""What a first read keeps of a tab it takes column by column (`first_read.lean_view`:
the rows here are as a row-major read gives them, read as a column-major one does)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from sheetsync.config import Watch
from sheetsync.config.schema import build
from sheetsync.core import first_read, narrow
from sheetsync.core.first_read import columns_of, lean_view, lean_views, table_of
from sheetsync.core.view import NarrowTable

HEADER = ["url", "Status", "Run link", "Message", "sheetsync id"]


def watch(**kw: Any) -> Watch:
    base: dict[str, Any] = {"name": "w", "spreadsheet": "s", "worksheet": "Q", "automation": "A"}
    return build(Watch, {**base, **kw})


@pytest.fixture(autouse=True)
def _big_from_ten_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(narrow, "NARROW_FROM_ROWS", 10)


def done(i: int) -> list[str]:
    return [f"u{i}", "triggered", "https://run", "", f"r{i}"]


def test_a_small_tab_is_kept_whole() -> None:
    """Fewer rows than NARROW_FROM_ROWS: the rows as read, every one."""
    rows = [HEADER, *(done(i) for i in range(8))]
    view = lean_view(iter(rows), watch())
    assert view.known is None and list(view.table) == rows


def test_a_header_that_does_not_map_keeps_the_tab_whole() -> None:
    """A header the cycle reports a problem with: the whole tab, for the report."""
    header = ["url", "Status", "status ", "sheetsync id"]  # the status column twice
    rows = [header, *([f"u{i}", "triggered", "", f"r{i}"] for i in range(20))]
    view = lean_view(iter(rows), watch())
    assert view.known is None and len(view.table) == 21


def test_a_big_tab_keeps_every_row_s_results_and_whole_only_rows_to_look_at() -> None:
    """Result cells for every row (one string per repeated value); whole: the empty,
    `retry`, `sending` and `waiting` rows and a second holder of an id."""
    rows = [HEADER, *(done(i) for i in range(20))]
    rows[4] = ["u3"]
    rows[6] = ["u5", "retry", "https://run", "", "r5"]
    rows[8] = ["u7", " Sending ", "", "", "r7"]
    rows[10] = ["u9", "waiting", "", "Rate limit", "r9"]
    rows[15] = done(2)  # a copy of row 4's id
    rows.append(["u20"])
    view = lean_view(iter(rows), watch())
    assert isinstance(view.table, NarrowTable) and view.adoptable
    assert view.known == {5, 7, 9, 11, 16, 22}
    assert view.table[3] == ("", "triggered", "https://run", "", "r2")  # row 4: results only
    assert view.table[4] == ["u3"]
    links = (view.columns or {})[2]
    assert links[0] is links[1]  # one string for the cells showing the same link
    assert len(view.table) == 22


def test_columns_the_cycle_adds_are_read_as_empty() -> None:
    """No `sheetsync id` column yet (the cycle adds it): rows hold no id, and cells to
    the right of the header are not taken for ids."""
    header = ["url", "Status"]
    rows = [header, *([f"u{i}", "done", "", "", "stray"] for i in range(20))]
    view = lean_view(iter(rows), watch())
    assert view.known == {2}  # the first row with data under no header, for the warning
    assert 4 not in (view.columns or {})


SECOND = {"status": "Status 2", "link": "Link 2", "message": "Message 2", "id": "id 2"}


def test_two_watches_of_one_tab_each_keep_their_own_rows_whole_from_one_walk() -> None:
    """A tab two watches share (each its own result columns), walked once: each view keeps
    its watch's result cells for every row and whole only the rows open for that watch;
    a watch whose header does not map gets the whole tab, the other stays lean."""
    header = [*HEADER, *SECOND.values()]
    rows = [header, *([*done(i), "triggered", "", "", f"s{i}"] for i in range(20))]
    rows[4] = done(3)  # new to the second watch only
    rows[7] = [*rows[7][:1], "", "", "", "", "triggered", "", "", "s6"]  # to the first only
    first, second = watch(), watch(name="w2", columns=SECOND)
    views = lean_views(columns_of(rows), {"w": (first, ()), "w2": (second, ())})
    assert views["w"].known == {8} and views["w2"].known == {5}
    assert views["w"].table[4] == ("", "triggered", "https://run", "", "r3")
    assert views["w2"].table[4] == rows[4]  # whole: new to the second watch
    assert views["w2"].table[7][0] == "" and views["w2"].table[7][5] == "triggered"
    broken = watch(name="w3", columns=SECOND, ready_column="Ready")  # no such column
    views = lean_views(columns_of(rows), {"w": (first, ()), "w3": (broken, ())})
    assert views["w"].known == {8} and views["w3"].known is None
    assert list(views["w3"].table) == rows


def google_rows(rows: list[list[str]]) -> list[list[str]]:
    """Rows as a row-major read gives them: no empty cells at a row's end, no empty rows
    at the tab's end."""
    out = [list(row) for row in rows]
    for row in out:
        while row and not row[-1]:
            row.pop()
    while out and not out[-1]:
        out.pop()
    return out


@pytest.mark.parametrize("seed", range(6))
def test_columns_and_rows_of_a_tab_correspond_as_google_s_two_reads_do(seed: int) -> None:
    """A tab's columns (no empty cells at a column's end, no empty column at the tab's
    end, empty columns between kept as []) and its rows made from them again."""
    rng = random.Random(seed)
    rows = [
        [rng.choice(["", "", " ", "a", "b\nc", "\x00"]) for _ in range(rng.randint(0, 7))]
        for _ in range(rng.randint(0, 40))
    ]
    columns = columns_of(rows)
    assert all(cells and cells[-1] for cells in columns[-1:])
    assert all(not cells or cells[-1] for cells in columns)
    assert table_of(columns) == google_rows(rows)
    assert table_of([]) == [] and columns_of([]) == []


def test_a_column_holding_the_separator_stays_a_list_and_rows_keep_its_cells() -> None:
    """Columns no watch keeps are held as one string (`SEP` between cells) unless a cell
    holds `SEP` itself: then as read; either way a row kept whole shows every cell."""
    rows = [["url", *HEADER[1:]], *(done(i) for i in range(20))]
    rows += [[f"a{first_read.SEP}b", ""], ["plain"]]
    view = lean_view(iter(rows), watch())
    assert view.known == {22, 23}
    assert view.table[21] == [f"a{first_read.SEP}b"] and view.table[22] == ["plain"]
