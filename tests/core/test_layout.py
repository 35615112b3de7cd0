"""`layout`: header text compared as people read it, and headers mapped to columns."""

from __future__ import annotations

from typing import Any

import pytest

from sheetsync.config import Watch
from sheetsync.config.schema import build
from sheetsync.core.layout import (
    invisible,
    letters,
    loose,
    map_header,
    near_miss,
    norm,
    trimmed_header,
)
from sheetsync.errors import SheetError

ZWSP, BOM, SHY = "\u200b", "\ufeff", "\u00ad"


def watch(**kw: Any) -> Watch:
    base: dict[str, Any] = {"name": "w", "spreadsheet": "s", "worksheet": "Q", "automation": "A"}
    return build(Watch, {**base, **kw})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Status", "status"),
        ("  Run   Link ", "run link"),  # runs of spaces, and spaces around, ignored
        ("Run\tlink", "run link"),  # a tab is a space
        ("", ""),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # casefold, not lower
        (f"Sta{ZWSP}tus", f"sta{ZWSP}tus"),  # invisible characters are not spaces
    ],
)
def test_norm(text: str, expected: str) -> None:
    """Case and spacing are ignored; everything else counts."""
    assert norm(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Status", []),
        ("", []),
        (f"Sta{ZWSP}tus", [ZWSP]),
        (f"{BOM}Status", [BOM]),
        (f"Sta{SHY}tus{ZWSP}", [SHY, ZWSP]),
        ("Run link", []),  # a space shows
    ],
)
def test_invisible(text: str, expected: list[str]) -> None:
    """Characters that show as nothing, in order."""
    assert invisible(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Status", "status"), (f"{BOM} Sta{ZWSP}tus ", "status"), (f"Run{SHY} link", "run link")],
)
def test_loose(text: str, expected: str) -> None:
    """A header as it looks on screen: `norm` without the invisible characters."""
    assert loose(text) == expected


@pytest.mark.parametrize(
    ("indexes", "expected"),
    [([0], "A"), ([1, 3], "B and D"), ([1, 3, 5], "B, D and F"), ([25, 26], "Z and AA")],
)
def test_letters(indexes: list[int], expected: str) -> None:
    """0-based columns named as a person reads them."""
    assert letters(indexes) == expected


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ([], ()),  # an empty sheet
        (["a", "", ""], ("a",)),
        (["a", " ", "b", " "], ("a", " ", "b")),  # a blank in the middle stays
        (["", "a"], ("", "a")),  # so does a blank first cell
        ([" ", ""], ()),
    ],
)
def test_trimmed_header(row: list[str], expected: tuple[str, ...]) -> None:
    """Trailing blank header cells are not columns."""
    assert trimmed_header(row) == expected


@pytest.mark.parametrize(
    ("header", "name", "expected"),
    [
        (["url", "Status"], "Status", ""),  # the real name: no near miss
        (["url"], "Status", ""),  # absent: no near miss either
        (
            ["url", f"Sta{ZWSP}tus"],
            "Status",
            "column B is headed 'Sta\\u200btus', which differs from 'Status' only by "
            "invisible characters (U+200B): retype it",
        ),
        (
            [f"{BOM}Sta{ZWSP}tu{ZWSP}s"],
            "Status",
            "column A is headed '\\ufeffSta\\u200btu\\u200bs', which differs from 'Status' only by "
            "invisible characters (U+FEFF, U+200B): retype it",  # each code once
        ),
    ],
)
def test_near_miss(header: list[str], name: str, expected: str) -> None:
    """A header that differs only by invisible characters is named (escaped, so a person sees
    them) with its code points."""
    assert near_miss(header, name) == expected


RESULTS = ("Status", "Run link", "Message", "sheetsync id")


@pytest.mark.parametrize(
    ("header", "kw", "data_width", "expected_header", "inputs", "status"),
    [
        ([], {}, 0, RESULTS, (), 0),  # an empty sheet: every result column added
        (["url"], {}, 0, ("url", *RESULTS), (0,), 1),
        (["url"], {}, 3, ("url", "", "", *RESULTS), (0,), 3),  # right of unheaded data
        (["url", "", "x"], {}, 0, ("url", "", "x", *RESULTS), (0, 2), 3),  # blank: no input
        (["url", "Status"], {}, 0, ("url", "Status", *RESULTS[1:]), (0,), 1),
        (["url", "", ""], {}, 0, ("url", *RESULTS), (0,), 1),  # trailing blanks trimmed
        (["b", "a"], {"input_columns": ["a", "b"]}, 0, ("b", "a", *RESULTS), (1, 0), 2),
        (["url", "go"], {"ready_column": "GO"}, 0, ("url", "go", *RESULTS), (0,), 2),
        ([*RESULTS, "url"], {}, 0, (*RESULTS, "url"), (4,), 0),  # inputs right of results
    ],
)
def test_map_header(
    header: list[str],
    kw: dict[str, Any],
    data_width: int,
    expected_header: tuple[str, ...],
    inputs: tuple[int, ...],
    status: int,
) -> None:
    """Columns are found by name; missing result columns go right of header and data."""
    layout = map_header(header, watch(**kw), data_width)
    assert (layout.header, layout.inputs, layout.results["status"]) == (
        expected_header,
        inputs,
        status,
    )


@pytest.mark.parametrize(
    ("header", "kw", "says"),
    [
        (["url"], {"add_missing_columns": False}, "'Status' is missing from the header"),
        (["url", "Status", "status"], {}, "columns B and C are headed like the result column"),
        (["url", f"Sta{ZWSP}tus"], {}, "column B is headed"),
        (["url"], {"ready_column": "go"}, "ready_column 'go' is not in the header row"),
        (["url"], {"automation_column": "bot"}, "automation_column 'bot' is not in the header"),
        (["url"], {"input_columns": ["url", "x"]}, "input column 'x' is not in the header row"),
    ],
)
def test_map_header_refuses(header: list[str], kw: dict[str, Any], says: str) -> None:
    """A header sheetsync cannot map safely is a one-line `SheetError` naming the column."""
    with pytest.raises(SheetError, match=says) as caught:
        map_header(header, watch(**kw))
    assert caught.value.reason == "header"


def test_map_header_adds_the_id_even_when_asked_to_add_nothing() -> None:
    """`add_missing_columns = false` still adds the id column: rows are found by it."""
    layout = map_header(["url", *RESULTS[:3]], watch(add_missing_columns=False))
    assert layout.added == ("sheetsync id",)
    assert layout.results["id"] == 4
