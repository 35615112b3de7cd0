"""`narrow`'s pure decisions: row runs, flush windows, the scan of status and id columns,
the rows that need their inputs, and the plan of the next narrow first read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from sheetsync.config import Watch
from sheetsync.config.schema import build
from sheetsync.core import narrow
from sheetsync.core.layout import Layout
from sheetsync.core.model import Entry
from sheetsync.core.narrow import (
    ReadPlan,
    first_ranges,
    narrow_columns,
    needs_inputs,
    next_plan,
    runs,
    settings_key,
    window_ranges,
    window_spans,
    window_view,
)
from sheetsync.core.view import Scan, View, as_rows, header_of, scan

HEADER = ("url", "Status", "sheetsync id")
LAYOUT = Layout(HEADER, (0,), {"status": 1, "id": 2})
WIDE = Layout(("url", "ok", "bot", "x", "Status", "sheetsync id"), (0,), {"status": 4, "id": 5})


def watch(**kw: Any) -> Watch:
    base: dict[str, Any] = {"name": "w", "spreadsheet": "s", "worksheet": "Q", "automation": "A"}
    return build(Watch, {**base, **kw})


@pytest.mark.parametrize(
    ("numbers", "gap", "expected"),
    [
        ([], 8, []),
        ([5], 8, [(5, 5)]),
        ([5, 5], 8, [(5, 5)]),  # duplicates count once
        ([3, 1, 2], 8, [(1, 3)]),  # unsorted input
        ([2, 10], 8, [(2, 10)]),  # exactly `gap` apart: one range
        ([2, 11], 8, [(2, 2), (11, 11)]),  # one more: two
        ([2, 3, 20, 21], 8, [(2, 3), (20, 21)]),
        ([2, 3], 0, [(2, 2), (3, 3)]),  # gap 0: only equal numbers merge
        ([2, 3], 1, [(2, 3)]),  # gap 1: neighbours merge
        ([2, 4, 6, 8], 2, [(2, 8)]),  # a chain merges link by link
    ],
)
def test_runs(numbers: list[int], gap: int, expected: list[tuple[int, int]]) -> None:
    """Row numbers become sorted inclusive runs; runs at most `gap` apart merge."""
    assert runs(numbers, gap) == expected


@pytest.mark.parametrize(
    ("numbers", "height", "expected"),
    [
        ([], 1000, []),  # nothing claimed: nothing to read
        ([100], 1000, [(36, 164)]),  # 64 rows either side
        ([100, 100], 1000, [(36, 164)]),
        ([10], 1000, [(2, 74)]),  # clipped at row 2: the header is read on its own
        ([2], 1000, [(2, 66)]),  # the first data row
        ([100], 120, [(36, 120)]),  # clipped at the last row
        ([1000], 1000, [(936, 1000)]),  # the last row
        ([1000], 500, []),  # a row past the sheet's end (rows deleted): nothing to read
        ([2], 1, []),  # a sheet with only its header
        ([100, 200], 1000, [(36, 264)]),  # overlapping windows: one range
        ([100, 229], 1000, [(36, 293)]),  # touching windows (164, 165): one range
        ([100, 500], 1000, [(36, 164), (436, 564)]),  # far apart: two ranges
    ],
)
def test_window_spans(numbers: list[int], height: int, expected: list[tuple[int, int]]) -> None:
    """A flush reads `WINDOW` rows either side of each claimed row, within rows 2..height."""
    assert window_spans(numbers, height) == expected


@pytest.mark.xfail(
    strict=True,
    reason="windows with up to 128 rows between them merge: runs() applies gap=2*WINDOW+1 "
    "to the window edges, not to the claimed rows, so a flush also reads rows near none",
)
def test_window_spans_keeps_windows_that_do_not_touch_apart() -> None:
    """Rows 100 and 300: their windows (36..164, 236..364) leave 71 rows between unread."""
    assert window_spans([100, 300], 1000) == [(36, 164), (236, 364)]


@pytest.mark.parametrize(
    ("title", "layout", "spans", "expected"),
    [
        ("Q", LAYOUT, [], ["'Q'!1:1"]),
        ("Q", LAYOUT, [(2, 66)], ["'Q'!1:1", "'Q'!A2:C66"]),
        ("Q", WIDE, [(2, 3), (9, 9)], ["'Q'!1:1", "'Q'!A2:F3", "'Q'!A9:F9"]),
        ("it's", LAYOUT, [(5, 6)], ["'it''s'!1:1", "'it''s'!A5:C6"]),
    ],
)
def test_window_ranges(
    title: str, layout: Layout, spans: list[tuple[int, int]], expected: list[str]
) -> None:
    """A flush reads the header row, then each span from column A to the layout's last."""
    assert window_ranges(title, layout, spans) == expected


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        (LAYOUT, [1, 2]),  # status, id
        (Layout(HEADER, (0,), {"status": 2, "id": 1}), [2, 1]),  # status first, wherever it is
        (Layout(("a", "r", "Status", "sheetsync id"), (0,), {"status": 2, "id": 3}, 1), [2, 3, 1]),
        (Layout(("a", "b", "S", "i"), (0,), {"status": 2, "id": 3}, 1, 0), [2, 3, 1, 0]),
        (Layout(("a", "r", "S", "i"), (0,), {"status": 2, "id": 3}, 1, 1), [2, 3, 1]),  # once
    ],
)
def test_narrow_columns(layout: Layout, expected: list[int]) -> None:
    """Every row's status and id, plus the ready and automation columns when configured."""
    assert narrow_columns(layout) == expected


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        ([], ()),
        ([["url"], ["Status"]], ("url", "Status")),
        ([["url"], [], ["x"]], ("url", "", "x")),  # a blank header cell in the middle stays
        ([["url"], [""], []], ("url",)),  # trailing blanks go
    ],
)
def test_header_of(columns: list[list[str]], expected: tuple[str, ...]) -> None:
    """A `1:1` read column by column (blank cells come back as empty columns) -> the header."""
    assert header_of(columns) == expected


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        ([], []),
        ([["a", "b"], ["c", "d"]], [("a", "c"), ("b", "d")]),
        ([["a", "b"], ["c"]], [("a", "c"), ("b", "")]),  # a column's trailing blanks are cut
        ([[], ["x"]], [("", "x")]),  # an empty column
    ],
)
def test_as_rows(columns: list[list[str]], expected: list[tuple[str, ...]]) -> None:
    """Columns become rows, each as wide as the answer, blanks where a column ended early."""
    assert [tuple(r) for r in as_rows(columns)] == expected


def scanned(*rows: Sequence[str]) -> Scan:
    return scan(View([list(HEADER), *rows]), LAYOUT, watch())


@pytest.mark.parametrize(
    ("rows", "open_rows"),
    [
        ([], []),  # a sheet with only its header
        ([["a", "", ""]], [2]),  # a new row
        ([["a"]], [2]),  # a ragged row without a status cell
        ([["a", "triggered", "r1"]], []),  # handled
        ([["a", "Retry ", "r1"]], [2]),  # a person asked for another attempt
        ([["a", "SENDING", "r1"]], [2]),  # claimed, maybe never sent
        ([["a", "error", "r1"], ["b", "", ""], ["c", "queued", "r3"]], [3]),
        ([["a", " ", ""]], [2]),  # a status of spaces is empty
    ],
)
def test_scan_open_rows(rows: list[list[str]], open_rows: list[int]) -> None:
    """Open rows: an empty status, `retry` or `sending` (case and spaces ignored)."""
    assert scanned(*rows).open_rows == open_rows


@pytest.mark.parametrize(
    ("rows", "holders", "extra"),
    [
        ([], {}, {}),
        ([["a", "", ""]], {}, {}),  # no id: nothing held
        ([["a", "x", "r1"], ["b", "x", "r2"]], {"r1": 2, "r2": 3}, {}),
        ([["a", "x", " r1 "]], {"r1": 2}, {}),  # ids are stripped
        ([["a", "x", "r1"], ["b", "x", "r2"], ["a", "x", "r1"]], {"r1": 2, "r2": 3}, {"r1": [4]}),
        ([["a", "x", "r1"]] * 3, {"r1": 2}, {"r1": [3, 4]}),  # copied twice
        ([["a", "x", ""], ["b", "x", ""]], {}, {}),  # blank ids are never duplicates
    ],
)
def test_scan_holders_and_copies(
    rows: list[list[str]], holders: dict[str, int], extra: dict[str, list[int]]
) -> None:
    """Each id maps to the first row holding it; later rows holding it are `extra`."""
    found = scanned(*rows)
    assert (found.holders, found.extra) == (holders, extra)


def test_scan_of_a_narrow_read_opens_rows_past_the_column_end() -> None:
    """A narrow read's status column stops at its last value: rows below it are open."""
    table = [list(HEADER), ["", "triggered", "r1"], (), ()]
    view = View(table, known={4}, columns={1: ["triggered"], 2: ["r1"]})
    found = scan(view, LAYOUT, watch())
    assert (found.open_rows, found.holders) == ([3, 4], {"r1": 2})


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([], set()),
        ([1], set()),  # the header holds no id
        ([2, 3, 4], {"r1", "r3"}),  # a row without an id adds nothing
        ([4], {"r3"}),  # the last row
        ([5], set()),  # past the last row
    ],
)
def test_scan_ids_on(rows: list[int], expected: set[str]) -> None:
    """The ids some rows hold, by row number."""
    assert Scan([], {}, ["r1", "", "r3"]).ids_on(rows) == expected


def entry(state: str, *, checked: bool = True) -> Entry:
    return Entry("r1", state, checked=checked)


@pytest.mark.parametrize(
    ("found", "entries", "expected"),
    [
        (Scan([], {}, []), {}, []),
        (Scan([3, 9], {}, []), {}, [3, 9]),  # open rows
        (Scan([3], {"r1": 5}, []), {"r1": entry("claimed")}, [3, 5]),  # claimed, not sent
        (Scan([], {"r1": 5}, []), {"r1": entry("waiting")}, [5]),
        (Scan([], {"r1": 5}, []), {"r1": entry("abandoned")}, [5]),
        (Scan([], {"r1": 5}, []), {"r1": entry("triggered")}, []),  # done: no inputs needed
        (Scan([], {"r1": 5}, []), {"r1": entry("triggered", checked=False)}, [5]),  # unchecked
        (Scan([], {}, []), {"r1": entry("claimed")}, []),  # its id left the sheet
        (Scan([5], {"r1": 5}, []), {"r1": entry("claimed")}, [5]),  # once, not twice
        (Scan([], {"r1": 2}, [], {"r1": [7]}), {}, [2, 7]),  # a copy: both, to find the owner
        (Scan([8], {"r1": 2}, [], {"r1": [7, 9]}), {"r1": entry("success")}, [2, 7, 8, 9]),
    ],
)
def test_needs_inputs(found: Scan, entries: dict[str, Entry], expected: list[int]) -> None:
    """Rows a cycle must read whole: open, held by a resendable or unchecked claim, copies."""
    assert needs_inputs(found, entries) == expected


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Narrow from 40 rows (whatever SHEETSYNC_TEST_NARROW set), so tables stay small."""
    monkeypatch.setattr(narrow, "NARROW_FROM_ROWS", 40)


def sheet(height: int, last: int, last_row: Sequence[str] = ("a", "triggered", "r")) -> list[Any]:
    """A header and `height - 1` rows: handled down to row `last`, blank below."""
    rows = [["a", "triggered", f"r{n}"] for n in range(2, last)]
    rows += [list(last_row)] if last >= 2 else []
    rows += [["a", "", ""] for _ in range(max(last, 1) + 1, height + 1)]
    return [list(HEADER), *rows]


@pytest.mark.usefixtures("small")
@pytest.mark.parametrize(
    ("height", "last", "last_row", "needed", "tail", "rows"),
    [
        (100, 80, ("a", "x", "r"), [3, 60, 90], 49, (3,)),  # tail: 32 rows above the last
        (100, 100, ("a", "x", "r"), [], 69, ()),  # handled to the last row
        (100, 1, (), [2, 50], 2, ()),  # nothing handled yet: read from row 2 down
        (100, 40, ("a", "", "r40"), [], 9, ()),  # an id alone marks a handled row
        (100, 40, ("a", "x", ""), [], 9, ()),  # a status alone too
        (100, 40, ("a", "  ", " "), [], 8, ()),  # blanks do not: row 39 is the last
        (100, 20, ("a", "x", "r"), [2, 3], 2, ()),  # the tail never reaches above row 2
        (100, 80, ("a", "x", "r"), [48, 49, 50], 49, (48,)),  # rows at or below the tail go
    ],
)
def test_next_plan(
    height: int,
    last: int,
    last_row: Sequence[str],
    needed: list[int],
    tail: int,
    rows: tuple[int, ...],
) -> None:
    """The next narrow read: whole rows from `tail` down, and the needed rows above it."""
    w = watch()
    plan = next_plan(sheet(height, last, last_row), LAYOUT, w, needed)
    assert plan == ReadPlan(HEADER, settings_key(w), tail, rows)


@pytest.mark.usefixtures("small")
def test_next_plan_reads_small_tabs_whole() -> None:
    """Below `NARROW_FROM_ROWS` rows (39 here) a tab is read whole: no plan."""
    assert next_plan(sheet(39, 20), LAYOUT, watch(), []) is None


@pytest.mark.usefixtures("small")
def test_next_plan_reads_whole_while_result_headers_are_missing() -> None:
    """A layout that still adds result columns needs the whole sheet (and a header write)."""
    added = Layout(HEADER, (0,), {"status": 1, "id": 2}, added=("sheetsync id",))
    assert next_plan(sheet(100, 50), added, watch(), []) is None


@pytest.mark.usefixtures("small")
@pytest.mark.parametrize(("count", "planned"), [(100, True), (101, False)])
def test_next_plan_gives_up_past_max_runs(count: int, planned: bool) -> None:
    """At most `MAX_RUNS` (100) separate runs of needed rows; one more: read whole."""
    needed = [2 + 10 * i for i in range(count)]  # 10 apart: each its own run
    plan = next_plan(sheet(1100, 1100), LAYOUT, watch(), needed)
    assert (plan is not None) is planned


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "null",
        "[]",
        '{"header": []}',
        '{"header":[],"settings":"s","tail":"x","rows":[]}',
    ],
)
def test_read_plan_loads_garbage_as_none(text: str) -> None:
    """A stored plan that cannot be read means a full read, never a crash."""
    assert ReadPlan.loads(text) is None


@pytest.mark.parametrize(
    "plan", [ReadPlan((), "", 2), ReadPlan(HEADER, "k", 49, (3, 4)), ReadPlan(("é", ""), "k", 2)]
)
def test_read_plan_round_trips(plan: ReadPlan) -> None:
    """What `dumps` writes, `loads` reads back equal."""
    assert ReadPlan.loads(plan.dumps()) == plan


@pytest.mark.parametrize(
    ("changes", "same"),
    [
        ({"interval_seconds": 30.0}, True),  # when to read does not change the layout
        ({"automation": "B"}, True),
        ({"input_columns": ["url"]}, False),
        ({"ready_column": "ok"}, False),
        ({"track_runs": True}, False),  # adds the run status column
        ({"worksheet": "R"}, False),
        ({"columns": {"status": "State"}}, False),
    ],
)
def test_settings_key(changes: dict[str, Any], same: bool) -> None:
    """Only settings that decide the layout change the key (and force a full read)."""
    assert (settings_key(watch(**changes)) == settings_key(watch())) is same


@pytest.mark.parametrize(
    ("plan", "layout", "expected"),
    [
        (ReadPlan(HEADER, "k", 2), LAYOUT, ["'Q'!1:1", "'Q'!B2:B", "'Q'!C2:C", "'Q'!A2:C"]),
        (
            ReadPlan(HEADER, "k", 50, (3, 4, 20, 60)),  # 60 is below the tail: read with it
            WIDE,
            ["'Q'!1:1", "'Q'!E2:E", "'Q'!F2:F", "'Q'!A3:F4", "'Q'!A20:F20", "'Q'!A50:F"],
        ),
        (  # rows 8 apart: one range
            ReadPlan(HEADER, "k", 50, (3, 11)),
            LAYOUT,
            ["'Q'!1:1", "'Q'!B2:B", "'Q'!C2:C", "'Q'!A3:C11", "'Q'!A50:C"],
        ),
    ],
)
def test_first_ranges(plan: ReadPlan, layout: Layout, expected: list[str]) -> None:
    """Header, narrow columns, needed rows (merged when close), then the tail to the end."""
    assert first_ranges("Q", plan, layout) == expected


@pytest.mark.parametrize(
    ("spans", "answers", "expected"),
    [
        ([], [[["url"], ["Status"]]], [("url", "Status")]),  # only the header
        ([(2, 3)], [[["url"]], [["a", "b"], ["x"]]], [("url",), ("a", "x"), ("b", "")]),
        ([(2, 3)], [[["url"]], [["a"]]], [("url",), ("a",), ()]),  # rows past the data: empty
        ([(4, 4)], [[["url"]], [["d"]]], [("url",), (), (), ("d",)]),  # rows outside: empty
    ],
)
def test_window_view(
    spans: list[tuple[int, int]], answers: list[Any], expected: list[tuple[str, ...]]
) -> None:
    """A flush read becomes a table in sheet order; it knows the rows of its spans only."""
    view = window_view(spans, answers)
    assert [tuple(r) for r in view.table] == expected
    assert view.known == {n for a, b in spans for n in range(a, b + 1)}
