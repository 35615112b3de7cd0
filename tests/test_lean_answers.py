"""A `values:batchGet` answer walked row by row gives exactly what `json.loads` gives."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

import pytest

from sheetsync.adapters.google.lean import AnswerError, value_ranges

TRICKY = ["", "a]", '"quoted"', "back\\slash", "[[x]]", "{y}", "é ü 漢字 🙂", "a,b", " : ", "\n\t"]


def listed(text: str, count: int) -> list[list[list[str]]]:
    return value_ranges(text, count, lambda _i, rows: list(rows))


def answer(tables: list[list[list[str]] | None], **dumps: object) -> str:
    ranges = []
    for i, table in enumerate(tables):
        vr: dict[str, object] = {"range": f"'T{i}'!A1:Z1000", "majorDimension": "ROWS"}
        if table is not None:
            vr["values"] = table
        ranges.append(vr)
    return json.dumps({"spreadsheetId": "s", "valueRanges": ranges}, **dumps)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "dumps",
    [{}, {"indent": 2}, {"separators": (",", ":")}, {"ensure_ascii": False}],
)
def test_every_layout_of_the_json_reads_the_same(dumps: dict[str, object]) -> None:
    """Pretty-printed, compact, escaped or not: rows, empty rows, a range without values."""
    rng = random.Random(7)
    tables: list[list[list[str]] | None] = [
        [[rng.choice(TRICKY) for _ in range(rng.randrange(0, 6))] for _ in range(50)],
        None,
        [["h1", "h2"], [], ["only"]],
    ]
    assert listed(answer(tables, **dumps), 3) == [t or [] for t in tables]


def test_numbers_and_booleans_become_text() -> None:
    """Formatted values are text; anything else is made text, as `read_tabs` does."""
    text = '{"valueRanges": [{"values": [["a", 1, true, 2.5]]}]}'
    assert listed(text, 1) == [[["a", "1", "True", "2.5"]]]


def test_rows_a_reducer_leaves_are_skipped() -> None:
    """A reducer that stops early does not shift the next range."""
    text = answer([[["a"], ["b"], ["c"]], [["d"]]])

    def first(_index: int, rows: Iterator[list[str]]) -> list[str]:
        return next(rows, [])

    assert value_ranges(text, 2, first) == [["a"], ["d"]]


@pytest.mark.parametrize(
    "text",
    [
        "<html>proxy</html>",
        '{"valueRanges": [{"values": [["a"]',
        '{"valueRanges": [{"values": 5}]}',
    ],
)
def test_what_is_not_an_answer_is_refused(text: str) -> None:
    """A proxy's page or a cut answer is an `AnswerError` (a `ValueError`)."""
    with pytest.raises(AnswerError):
        listed(text, 1)
