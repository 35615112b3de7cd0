"""`writes`' pure decisions: which rows go, what the first write and a flush write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sheetsync.config import Watch
from sheetsync.config.schema import build
from sheetsync.core.landing import Aim
from sheetsync.core.layout import Layout
from sheetsync.core.model import Candidate, CellWrite, Entry, Projection
from sheetsync.core.view import View
from sheetsync.core.writes import (
    FlushScope,
    ReadWhole,
    Write,
    first_write,
    flush_scope,
    flush_write,
    header_moved,
    select,
)

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HEADER = ("url", "Status", "Run link", "Message", "sheetsync id")
LAYOUT = Layout(HEADER, (0,), {"status": 1, "link": 2, "message": 3, "id": 4})


def watch(**kw: Any) -> Watch:
    base: dict[str, Any] = {"name": "w", "spreadsheet": "s", "worksheet": "Q", "automation": "A"}
    return build(Watch, {**base, **kw})


def cand(number: int, *, fresh: bool = True, look: str = "") -> Candidate:
    return Candidate(number, f"r{number}", ("q",), "A", "f", fresh=fresh, look=look or str(number))


def ids(candidates: list[Candidate]) -> list[str]:
    return [c.row_id for c in candidates]


SLOTS = {"max_in_flight": 2, "track_runs": True}
SEEN_LONG_AGO = {"2": NOW - timedelta(seconds=60)}


@pytest.mark.parametrize(
    ("candidates", "settings", "seen", "in_flight", "paused", "expected"),
    [
        ([], {}, {}, 0, False, ([], 0, 0, 0)),
        ([cand(2), cand(3)], {}, {}, 0, False, (["r2", "r3"], 0, 0, 0)),
        ([cand(2), cand(3)], {}, {}, 0, True, ([], 0, 2, 0)),  # paused: none go, all counted
        ([cand(2)], {"settle_seconds": 30}, {}, 0, False, ([], 1, 0, 0)),  # first seen now
        ([cand(2)], {"settle_seconds": 30}, SEEN_LONG_AGO, 0, False, (["r2"], 0, 0, 0)),
        ([cand(2, fresh=False)], {"settle_seconds": 30}, {}, 0, False, (["r2"], 0, 0, 0)),
        ([cand(2), cand(3)], {"settle_seconds": 30}, {}, 0, True, ([], 2, 0, 0)),
        ([cand(2), cand(3), cand(4)], SLOTS, {}, 0, False, (["r2", "r3"], 0, 0, 1)),
        ([cand(2), cand(3)], SLOTS, {}, 2, False, ([], 0, 0, 2)),  # slots full
        ([cand(2), cand(3)], SLOTS, {}, 5, False, ([], 0, 0, 2)),  # over: none
    ],
)
def test_select(
    candidates: list[Candidate],
    settings: dict[str, Any],
    seen: dict[str, datetime],
    in_flight: int,
    paused: bool,
    expected: tuple[list[str], int, int, int],
) -> None:
    """Rows settle, then wait for slots beside the runs in flight; paused, none go."""
    got = select(
        candidates, LAYOUT, watch(**settings), seen, NOW, in_flight=in_flight, paused=paused
    )
    assert (ids(got.chosen), got.settling, got.paused, got.held) == expected
    assert [r for p in got.plans for r in p.row_ids] == ids(got.chosen)


def test_select_keeps_only_the_looks_seen_now() -> None:
    """A row that changed starts settling over: only this read's looks are remembered."""
    settling = watch(settle_seconds=30)
    got = select(
        [cand(3, look="new")], LAYOUT, settling, {"old": NOW}, NOW, in_flight=0, paused=False
    )
    assert got.first_seen == {"new": NOW}


TABLE = [list(HEADER), ["a", "", "", "", ""], ["b", "done", "", "", "r3"], ["c", "", "", "", ""]]
ENTRIES = {"r3": Entry("r3", "done"), "r4": Entry("r4", "done")}
AIM3 = Aim(3, "r3", None, ())
AIM4 = Aim(4, "r4", None, ())
PROJECTED = Projection(
    [CellWrite(3, 2, "done"), CellWrite(4, 2, "done")], [AIM3, AIM4], showing=["r3"], shown=["r4"]
)
SKIPS = [CellWrite(4, 2, "skipped"), CellWrite(4, 5, "r9")]
PUT_BACK = Write([CellWrite(9, 2, "")], [Aim(9, "", None, ())], repairs={})


@pytest.mark.parametrize(
    ("claims", "projection", "skips", "expected_cells", "shown", "showing", "skip_ids"),
    [
        ([], Projection(), [], [], [], [], set()),
        (  # a claim: `sending` and its id; nothing else
            [cand(2)],
            Projection(),
            [],
            [CellWrite(2, 2, "sending"), CellWrite(2, 5, "r2")],
            [],
            [],
            set(),
        ),
        (  # the projection of rows not claimed now is written and shown
            [],
            PROJECTED,
            [],
            PROJECTED.writes,
            ["r4"],
            ["r3"],
            set(),
        ),
        (  # a row claimed now is not projected nor shown: the flush shows it
            [Candidate(3, "r3", ("b",), "A", "f", fresh=True)],
            PROJECTED,
            [],
            [CellWrite(4, 2, "done"), CellWrite(3, 2, "sending"), CellWrite(3, 5, "r3")],
            ["r4"],
            [],
            set(),
        ),
        (  # skips go first, and their ids are told apart
            [],
            Projection(),
            SKIPS,
            SKIPS,
            [],
            [],
            {"r9"},
        ),
    ],
)
def test_first_write(
    claims: list[Candidate],
    projection: Projection,
    skips: list[CellWrite],
    expected_cells: list[CellWrite],
    shown: list[str],
    showing: list[str],
    skip_ids: set[str],
) -> None:
    """What the first write claims, skips and writes, in the order it writes them."""
    got = first_write(watch(), LAYOUT, TABLE, ENTRIES, claims, projection, Write(), skips)
    assert got.write.cells == expected_cells
    assert [e.row_id for e in got.write.shown] == shown
    assert list(got.write.showing) == showing
    assert got.skip_ids == skip_ids
    assert got.claims == claims


def test_first_write_puts_back_after_skips_and_before_the_projection() -> None:
    """Added headers, skips, put-backs, projection, claims: the order the write takes."""
    layout = Layout(HEADER, (0,), LAYOUT.results, added=("sheetsync id",))
    got = first_write(watch(), layout, TABLE, ENTRIES, [cand(2)], PROJECTED, PUT_BACK, SKIPS)
    assert got.write.cells == [
        CellWrite(1, 5, "sheetsync id"),
        *SKIPS,
        *PUT_BACK.cells,
        *PROJECTED.writes,
        CellWrite(2, 2, "sending"),
        CellWrite(2, 5, "r2"),
    ]
    # one aim per written row: the skipped row's, the put-back's, the projection's, the claim's
    assert got.write.aims[1:4] == [*PUT_BACK.aims, AIM3, AIM4]
    assert [a.row for a in got.write.aims] == [4, 9, 3, 4, 2]


def narrow_view(rows: dict[int, list[str]], header: tuple[str, ...] = HEADER) -> View:
    table: list[list[str]] = [list(header)] + [[] for _ in range(max(rows) - 1)]
    for number, row in rows.items():
        table[number - 1] = row
    return View(table, set(rows))


ROW3 = ["b", "sending", "", "", "r3"]


@pytest.mark.parametrize(
    ("view", "changed", "claimed", "expected"),
    [
        (View(TABLE), set(), set(), set()),  # a whole read: nothing changed, nothing claimed
        (View(TABLE), {"r7"}, {"r3"}, {"r3", "r7"}),  # whole: every changed row may move
        (narrow_view({3: ROW3}), set(), {"r3"}, {"r3"}),
        (narrow_view({3: ROW3}), {"r7"}, {"r3"}, {"r3"}),  # r7 is not in a window: it waits
        (narrow_view({3: ROW3}), set(), {"r5"}, "a claimed row left its window"),
        (narrow_view({3: ROW3}, ("url", "Status")), set(), {"r3"}, "header changed"),
    ],
)
def test_flush_scope(
    view: View, changed: set[str], claimed: set[str], expected: set[str] | str
) -> None:
    """A narrow flush read must hold the claimed rows under the header read 1 saw."""
    got = flush_scope(view, LAYOUT, watch(), changed, claimed)
    if isinstance(expected, str):
        assert got == ReadWhole(expected)
    else:
        assert isinstance(got, FlushScope)
        assert got.only == expected


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (View(TABLE), None),  # a whole read finds its layout anew
        (View([["url", "Status"]]), None),
        (narrow_view({3: ROW3}), None),
        (narrow_view({3: ROW3}, ("url", "Status")), ReadWhole("header changed")),
        (narrow_view({3: ROW3}, (*HEADER, "")), None),  # trailing blanks are no change
    ],
)
def test_header_moved(view: View, expected: ReadWhole | None) -> None:
    """Only a narrow read compares its header with the one read 1 saw."""
    assert header_moved(view, LAYOUT) == expected


def test_flush_write_projects_then_puts_back() -> None:
    """A flush writes the projection, then the put-backs, and shows what the journal holds."""
    got = flush_write(ENTRIES, PROJECTED, PUT_BACK)
    assert got.cells == [*PROJECTED.writes, *PUT_BACK.cells]
    assert got.aims == [AIM3, AIM4, *PUT_BACK.aims]
    assert got.shown == [ENTRIES["r4"]]
    assert got.showing == {"r3": ENTRIES["r3"]}
