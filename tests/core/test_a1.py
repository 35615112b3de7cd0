"""`a1`: column letters and quoted tab titles for A1 ranges."""

from __future__ import annotations

import pytest

from sheetsync.core.a1 import column_letter, quote_title


@pytest.mark.parametrize(
    ("col", "expected"),
    [
        (1, "A"),
        (2, "B"),
        (26, "Z"),  # the last single letter
        (27, "AA"),  # the first two-letter column
        (52, "AZ"),
        (53, "BA"),
        (702, "ZZ"),  # the last two-letter column
        (703, "AAA"),
        (18278, "ZZZ"),  # Google's grid stops at 18,278 columns
    ],
)
def test_column_letter(col: int, expected: str) -> None:
    """1-based columns in bijective base 26: there is no zero digit."""
    assert column_letter(col) == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Q", "'Q'"),  # always quoted
        ("Sheet 1", "'Sheet 1'"),
        ("it's", "'it''s'"),  # an inner quote doubled
        ("''", "''''''"),
        ("A1:B2", "'A1:B2'"),  # a title that looks like a range stays a title
        ("Früh!", "'Früh!'"),
    ],
)
def test_quote_title(title: str, expected: str) -> None:
    """Any tab title becomes a safe A1 prefix."""
    assert quote_title(title) == expected
