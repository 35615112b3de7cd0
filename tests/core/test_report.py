"""`report.CycleReport`: the one INFO line of a cycle, and its first failure."""

from __future__ import annotations

from typing import Any

import pytest

from sheetsync.core.report import CycleReport


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        ({}, "watch w: 0 rows seen, 0 new, 0 triggered in 0.00s"),
        (
            {"seen": 10, "new": 2, "triggered": 2, "seconds": 1.234},
            "watch w: 10 rows seen, 2 new, 2 triggered in 1.23s",
        ),
        (  # outcomes in name order; `triggered` is already counted
            {"triggered": 3, "outcomes": {"waiting": 1, "error": 2, "triggered": 3}},
            "watch w: 0 rows seen, 0 new, 3 triggered, 2 error, 1 waiting in 0.00s",
        ),
        (
            {"skipped": 4},
            "watch w: 0 rows seen, 0 new, 0 triggered, 4 skipped (start_from = now) in 0.00s",
        ),
        (
            {"missing": 1},
            "watch w: 0 rows seen, 0 new, 0 triggered, "
            "1 deleted before their result was written in 0.00s",
        ),
        ({"polled": 2}, "watch w: 0 rows seen, 0 new, 0 triggered, 2 run(s) polled in 0.00s"),
        (
            {"settling": 1},
            "watch w: 0 rows seen, 0 new, 0 triggered, 1 settling (settle_seconds) in 0.00s",
        ),
        (
            {"held": 5},
            "watch w: 0 rows seen, 0 new, 0 triggered, "
            "5 waiting for a run to end (max_in_flight) in 0.00s",
        ),
        (
            {"paused": 1},
            "watch w: 0 rows seen, 0 new, 0 triggered, "
            "1 held until axiom answers clearly again in 0.00s",
        ),
    ],
)
def test_line(fields: dict[str, Any], line: str) -> None:
    """Counts that are zero stay out of the line, except seen, new and triggered."""
    assert CycleReport("w", **fields).line() == line


def test_fail_keeps_the_first_failure() -> None:
    """A cycle reports the failure that stopped it, not one that followed from it."""
    report = CycleReport("w")
    report.fail("worksheet 'Q' not found", "worksheet")
    report.fail("journal locked", "journal")
    assert (report.error, report.error_reason) == ("worksheet 'Q' not found", "worksheet")
