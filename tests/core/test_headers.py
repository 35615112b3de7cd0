"""`headers.header_warnings`: header rows that silently send or drop data."""

from __future__ import annotations

from typing import Any

import pytest

from sheetsync.config import Watch
from sheetsync.config.schema import build
from sheetsync.core.headers import header_warnings
from sheetsync.core.layout import map_header

RESULTS = ["Status", "Run link", "Message", "sheetsync id"]


def watch(**kw: Any) -> Watch:
    base: dict[str, Any] = {"name": "w", "spreadsheet": "s", "worksheet": "Q", "automation": "A"}
    return build(Watch, {**base, **kw})


def warned(header: list[str], *rows: list[str], data: bool = True, **kw: Any) -> list[str]:
    w = watch(**kw)
    layout = map_header(header, w)
    return [x.text for x in header_warnings([header, *rows], layout, data=data)]


@pytest.mark.parametrize(
    ("header", "kw", "expected"),
    [
        (["url", "product", *RESULTS], {}, []),
        (
            ["url", "URL", *RESULTS],  # case does not tell columns apart
            {},
            ["columns A and B have the same header 'url': both are sent to axiom under that "
             "name; give each its own name"],
        ),
        (
            ["a", "b", "a", "a", *RESULTS],
            {},
            ["columns A, C and D have the same header 'a': all are sent to axiom under that "
             "name; give each its own name"],
        ),
        (
            ["url", "x", "x", *RESULTS],
            {"input_columns": ["url", "x"]},  # only the first `x` is an input
            ["columns B and C have the same header 'x': only column B is sent to axiom; give "
             "each its own name"],
        ),
        (
            ["url", "go", "go", *RESULTS],
            {"input_columns": ["url"], "ready_column": "go"},
            ["columns B and C have the same header 'go': sheetsync reads column B; give each "
             "its own name"],
        ),
        (["url", "", "", *RESULTS], {}, []),  # blank headers are not repeated names
    ],
)  # fmt: skip
def test_repeated_names(header: list[str], kw: dict[str, Any], expected: list[str]) -> None:
    """A name heading two columns says which of them axiom gets."""
    assert warned(header, **kw) == expected


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([], []),  # only a header
        ([["a", "", "", *[""] * 4]], []),  # a blank header over blank cells: fine
        (
            [["a", "", "", *[""] * 4], ["b", "", "note", *[""] * 4]],
            ["column C holds data but no header (first at C3); sheetsync sends no column "
             "without a header: give it one"],
        ),
        (
            [["a", "x", "", *[""] * 4, "far"], ["b", "y", "z", *[""] * 4]],
            ["columns B, C and H hold data but no header (first at B2, C3, H2); sheetsync "
             "sends no column without a header: give it one"],  # past the header too
        ),
        ([["a", " ", "\t", *[""] * 4]], []),  # spaces are no data
    ],
)  # fmt: skip
def test_unheaded_data(rows: list[list[str]], expected: list[str]) -> None:
    """Data under a blank header, or right of the header row, is never sent: say so once."""
    assert warned(["url", "", "", *RESULTS], *rows) == expected


def test_unheaded_data_needs_every_row() -> None:
    """A narrow read does not hold every row: it looks for repeated names only."""
    assert warned(["url", "", *RESULTS], ["a", "data"], data=False) == []
