"""`first_cycle.split_existing`: what `start_from = "now"` sends and skips."""

from __future__ import annotations

import pytest

from sheetsync.core.first_cycle import split_existing
from sheetsync.core.model import Candidate


def rows(spec: str) -> list[Candidate]:
    """`"n r n"`: row 2 new, row 3 typed `retry`, row 4 new."""
    return [
        Candidate(n, f"r{n}", ("x",), "A", "f", retry=kind == "r")
        for n, kind in enumerate(spec.split(), start=2)
    ]


@pytest.mark.parametrize(
    ("spec", "sent", "skipped"),
    [
        ("", [], []),  # an empty sheet
        ("n", [], [2]),  # a row already there is skipped
        ("r", [2], []),  # ... unless a person typed retry into it
        ("n r n", [3], [2, 4]),
        ("r r", [2, 3], []),
        ("n n n", [], [2, 3, 4]),
    ],
)
def test_split_existing(spec: str, sent: list[int], skipped: list[int]) -> None:
    """Rows present before the first cycle are skipped, in sheet order, except `retry`."""
    go, skip = split_existing(rows(spec))
    assert ([c.row_number for c in go], [c.row_number for c in skip]) == (sent, skipped)
