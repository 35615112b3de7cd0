"""`plan`'s small pure decisions: padding, ready words, row numbering, settling, slots."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from sheetsync.core.model import Candidate, TriggerPlan
from sheetsync.core.plan import (
    cell,
    fingerprint,
    is_ready,
    new_row_id,
    numbered,
    pad,
    settle,
    take_slots,
    waiting_delay,
)

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("row", "width", "expected"),
    [
        ([], 0, []),
        ([], 2, ["", ""]),  # an empty row: all blanks
        (["a", "b"], 3, ["a", "b", ""]),  # ragged: padded on the right
        (["a", "b", "c"], 2, ["a", "b"]),  # cells past the header: cut
        (["a", "b"], 2, ["a", "b"]),
        (["", " "], 3, ["", " ", ""]),  # spaces are kept as read
    ],
)
def test_pad(row: list[str], width: int, expected: list[str]) -> None:
    """A row is cut or padded with blanks to exactly the layout's width."""
    assert pad(row, width) == expected


@pytest.mark.parametrize(
    ("row", "index", "expected"),
    [(["a"], 0, "a"), (["a"], 1, ""), ([], 0, ""), (["a", ""], 1, ""), (["a", "b"], 5, "")],
)
def test_cell(row: list[str], index: int, expected: str) -> None:
    """A cell past a ragged row's end reads as blank, never as an error."""
    assert cell(row, index) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("TRUE", True),  # a ticked checkbox
        ("true", True),
        (" True ", True),  # spaces around do not matter
        ("yes", True),
        ("Y", True),
        ("x", True),
        ("X", True),
        ("✓", True),
        ("✔", True),
        ("☑", True),
        ("1", True),
        ("OK", True),
        ("Ready", True),
        ("WAHR", True),  # a ticked box in a German-locale sheet
        ("VRAI", True),  # ... and a French one
        ("", False),  # an empty ready cell: not yet
        ("FALSE", False),  # an unticked checkbox
        ("no", False),
        ("0", False),
        ("2", False),
        ("tru", False),
        ("yes please", False),  # a word must be the whole cell
        ("x x", False),
    ],
)
def test_is_ready(value: str, expected: bool) -> None:
    """Only the documented ready words, in any case, mark a row ready."""
    assert is_ready(value) is expected


TABLE = [["h"], ["r2"], ["r3"], ["r4"]]


@pytest.mark.parametrize(
    ("table", "rows", "expected"),
    [
        (TABLE, None, [2, 3, 4]),  # every data row, never the header
        ([["h"]], None, []),  # a sheet with only a header
        ([], None, []),  # an empty sheet
        (TABLE, [1], []),  # row 1 is the header: never a data row
        (TABLE, [4], [4]),  # the last row
        (TABLE, [5], []),  # past the last row
        (TABLE, [0, -1], []),
        (TABLE, [4, 2], [4, 2]),  # in the order asked
        (TABLE, [], []),
    ],
)
def test_numbered(table: list[list[str]], rows: list[int] | None, expected: list[int]) -> None:
    """Data rows are numbered as the sheet numbers them (header = row 1)."""
    got = list(numbered(table, rows))
    assert [n for n, _ in got] == expected
    assert all(row == table[n - 1] for n, row in got)


@pytest.mark.parametrize(
    ("left", "right", "same"),
    [
        (["a", "b"], ["a", "b"], True),
        (["a", "b"], ["b", "a"], False),  # order matters: columns are not interchangeable
        (["ab"], ["a", "b"], False),  # cells do not run together
        (["a,b"], ["a", "b"], False),
        (["a"], ["a", ""], False),  # a blank input is an input
        ([], [""], False),
        (["é"], ["é"], True),
    ],
)
def test_fingerprint(left: list[str], right: list[str], same: bool) -> None:
    """Equal inputs hash equal; anything a person could tell apart hashes apart."""
    assert (fingerprint(left) == fingerprint(right)) is same
    assert len(fingerprint(left)) == 16


def test_new_row_id_is_short_random_and_fresh() -> None:
    """An id is `r` and 12 hex digits, and two are never the same."""
    ids = {new_row_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"r[0-9a-f]{12}", i) for i in ids)


def candidate(look: str, *, fresh: bool = True, number: int = 2) -> Candidate:
    return Candidate(
        number, f"r{number}", ("x",), "A", "f", retry=not fresh, fresh=fresh, look=look
    )


@pytest.mark.parametrize(
    ("fresh", "seen_ago", "seconds", "goes", "kept_ago"),
    [
        (True, None, 0.0, True, None),  # no settle_seconds: everything goes, nothing kept
        (True, 100.0, 0.0, True, None),
        (True, None, 30.0, False, 0.0),  # first seen now: the wait starts now
        (True, 29.0, 30.0, False, 29.0),  # not long enough
        (True, 30.0, 30.0, True, 30.0),  # exactly S seconds: goes ("at least S")
        (True, 31.0, 30.0, True, 31.0),
        (False, None, 30.0, True, None),  # retry / claimed / waiting rows do not wait again
        (False, 5.0, 30.0, True, None),
    ],
)
def test_settle_one_row(
    fresh: bool, seen_ago: float | None, seconds: float, goes: bool, kept_ago: float | None
) -> None:
    """A new row goes once it looked the same for `settle_seconds`; others go at once."""
    first_seen = {} if seen_ago is None else {"L": NOW - timedelta(seconds=seen_ago)}
    ready, keep = settle([candidate("L", fresh=fresh)], first_seen, NOW, seconds)
    assert (len(ready) == 1) is goes
    expected = {} if kept_ago is None else {"L": NOW - timedelta(seconds=kept_ago)}
    assert keep == expected


def test_settle_forgets_looks_not_seen_again() -> None:
    """A row that changed starts over: the old look is dropped, the new one starts now."""
    ready, keep = settle([candidate("new")], {"old": NOW - timedelta(hours=1)}, NOW, 30.0)
    assert ready == []
    assert keep == {"new": NOW}


def test_settle_rows_that_look_alike_share_one_wait() -> None:
    """Two rows with the same look (a duplicated row) go together once it has settled."""
    rows = [candidate("L", number=2), candidate("L", number=3)]
    ready, keep = settle(rows, {"L": NOW - timedelta(seconds=40)}, NOW, 30.0)
    assert [c.row_number for c in ready] == [2, 3]
    assert keep == {"L": NOW - timedelta(seconds=40)}


def test_settle_keeps_sheet_order_among_mixed_rows() -> None:
    """Settled and not-fresh rows go in sheet order; the unsettled one stays behind."""
    rows = [
        candidate("a", number=2),
        candidate("b", fresh=False, number=3),
        candidate("c", number=4),
    ]
    seen = {"a": NOW - timedelta(seconds=60), "c": NOW - timedelta(seconds=1)}
    ready, keep = settle(rows, seen, NOW, 30.0)
    assert [c.row_number for c in ready] == [2, 3]
    assert set(keep) == {"a", "c"}


def plans(count: int) -> list[TriggerPlan]:
    return [TriggerPlan("A", (f"r{i}",), [[str(i)]]) for i in range(count)]


@pytest.mark.parametrize(
    ("count", "in_flight", "max_in_flight", "taken"),
    [
        (3, 0, None, 3),  # unlimited
        (3, 99, None, 3),  # unlimited whatever runs
        (3, 0, 1, 1),  # sequential: one at a time
        (3, 0, 5, 3),  # room for more than there is
        (3, 1, 2, 1),  # one slot left
        (3, 2, 2, 0),  # full
        (3, 3, 2, 0),  # over-full (a lowered limit): none, never a negative slice
        (0, 0, 1, 0),  # nothing to send
        (1, 0, 1, 1),
    ],
)
def test_take_slots(count: int, in_flight: int, max_in_flight: int | None, taken: int) -> None:
    """`max_in_flight` takes the first triggers (sheet order) that fit beside running runs."""
    given = plans(count)
    assert take_slots(given, in_flight, max_in_flight) == given[:taken]


@pytest.mark.parametrize(
    ("reason", "waits", "rand", "expected"),
    [
        ("server", 0, 0.5, 60.0),  # the first wait: a minute
        ("server", 1, 0.5, 120.0),  # doubles
        ("server", 3, 0.5, 480.0),
        ("server", 4, 0.5, 900.0),  # 960 capped at 15 minutes
        ("server", 0, 0.0, 48.0),  # jitter: -20 %
        ("server", 0, 1.0, 72.0),  # ... to +20 %
        ("server", 10, 1.0, 1080.0),  # the cap is jittered too
        ("quota", 0, 0.0, 300.0),  # a spent allowance: every 5 minutes, no jitter
        ("quota", 7, 1.0, 300.0),
    ],
)
def test_waiting_delay(reason: str, waits: int, rand: float, expected: float) -> None:
    """Account-level waits double from 60 s up to 900 s (±20 %); quota waits are 300 s."""
    assert waiting_delay(reason, waits, rand) == pytest.approx(expected)
