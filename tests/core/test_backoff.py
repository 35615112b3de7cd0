"""The pure waits outside `plan` and `backoff`: run polls, runtime left, write ranges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sheetsync.adapters.google.writes import row_ranges
from sheetsync.core.plan import CellWrite
from sheetsync.cycle.allowance import runtime_left
from sheetsync.cycle.tracking import next_poll

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("step", "cap", "after", "next_step"),
    [
        (5.0, 60.0, 10.0, 10.0),  # doubles
        (20.0, 60.0, 40.0, 40.0),
        (40.0, 60.0, 60.0, 60.0),  # capped
        (60.0, 60.0, 60.0, 60.0),  # stays at the cap
        (5.0, 5.0, 5.0, 5.0),  # a cap equal to the first poll: never grows
    ],
)
def test_next_poll(step: float, cap: float, after: float, next_step: float) -> None:
    """A poll that found no end: the next comes after twice the interval, up to the cap."""
    assert next_poll(NOW, step, cap) == (NOW + timedelta(seconds=after), next_step)


def test_polls_follow_the_documented_times() -> None:
    """README: polls at 5, 15, 35, 75, 135, 195 s after the trigger (5 s doubling to 60 s)."""
    at, step, times = NOW + timedelta(seconds=5), 5.0, []
    for _ in range(6):
        times.append((at - NOW).total_seconds())
        at, step = next_poll(at, step, 60.0)
    assert times == [5, 15, 35, 75, 135, 195]


@pytest.mark.parametrize(
    ("figures", "left", "text"),
    [
        ({}, True, "axiom reports no remaining figure"),  # unknown: try rather than stall
        ({"allowance": 100.0}, True, "axiom reports no remaining figure"),
        ({"remaining": 12.5, "allowance": 100.0}, True, "12.5 of 100 minutes left"),
        ({"remaining": 0.0, "allowance": 100.0}, False, "0 of 100 minutes left"),  # spent
        ({"remaining": -2.0}, False, "-2 minutes left"),  # overdrawn
        ({"remaining": 0.5}, True, "0.5 minutes left"),  # half a minute is left
    ],
)
def test_runtime_left(figures: dict[str, float], left: bool, text: str) -> None:
    """Rows waiting for the runtime allowance go once /remaining-runtime shows minutes left."""
    assert runtime_left(figures) == (left, text)


def ranged(data: list[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    assert all(d["majorDimension"] == "ROWS" for d in data)
    return [(d["range"], d["values"][0]) for d in data]


@pytest.mark.parametrize(
    ("cells", "reach", "expected"),
    [
        ([], 0, []),
        ([CellWrite(5, 3, "x")], 0, [("'Q'!A5:C5", [None, None, "x"])]),  # None: left alone
        ([CellWrite(5, 1, "x")], 0, [("'Q'!A5:A5", ["x"])]),
        ([CellWrite(5, 2, "x")], 4, [("'Q'!A5:D5", [None, "x", None, None])]),  # to `reach`
        ([CellWrite(5, 4, "x")], 2, [("'Q'!A5:D5", [None, None, None, "x"])]),  # past it
        (
            [CellWrite(7, 2, "b"), CellWrite(3, 1, "a"), CellWrite(7, 1, "c")],
            0,
            [("'Q'!A3:A3", ["a"]), ("'Q'!A7:B7", ["c", "b"])],  # one range per row, sorted
        ),
        ([CellWrite(2, 1, "old"), CellWrite(2, 1, "new")], 0, [("'Q'!A2:A2", ["new"])]),
        ([CellWrite(2, 1, "")], 0, [("'Q'!A2:A2", [""])]),  # a blank written, not skipped
        ([CellWrite(2, 27, "z")], 0, [("'Q'!A2:AA2", [None] * 26 + ["z"])]),
    ],
)
def test_row_ranges(
    cells: list[CellWrite], reach: int, expected: list[tuple[str, list[Any]]]
) -> None:
    """Writes become one range per row from column A, so the answer shows the whole row."""
    assert ranged(row_ranges("Q", cells, reach)) == expected
