"""The shape of a Sheets write: cell writes grouped into one range per row, and the
rows as the write left them (`Echo`), read back from Google's answer.

Value writes address rows by position, so they are never retried: the next cycle reads
again and heals a write that could not go (`sheetsync.adapters.google.sheet`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sheetsync.core.a1 import column_letter, quote_title
from sheetsync.core.plan import CellWrite
from sheetsync.core.text import as_text, mended
from sheetsync.errors import UnsureWriteError

Echo = dict[str, dict[int, list[str]]]
"""Rows as a write left them: tab -> row number -> cells from column A (trimmed, ragged)."""


def row_ranges(title: str, cells: Iterable[CellWrite], reach: int = 0) -> list[dict[str, Any]]:
    """Group cell writes into one range per row, from column A to the last written column
    (or `reach`, if further); `None` keeps the cells in between as they are.

    The whole width comes back in the write's answer, so the row it landed on is known.
    """
    by_row: dict[int, dict[int, str]] = {}
    for cell in cells:
        by_row.setdefault(cell.row, {})[cell.col] = cell.value
    data = []
    tab, letters = quote_title(title), {}
    for row, cols in sorted(by_row.items()):
        last = max(*cols, reach)
        if last not in letters:
            letters[last] = column_letter(last)
        values = [cols.get(c) for c in range(1, last + 1)]
        a1 = f"{tab}!A{row}:{letters[last]}{row}"
        data.append({"range": a1, "majorDimension": "ROWS", "values": [values]})
    return data


def echo(where: Sequence[tuple[str, int]], answer: Mapping[str, Any]) -> Echo:
    """Each written row's cells from a batchUpdate answer (`includeValuesInResponse`):
    `where` names the tab and row of each range written, in order."""
    responses = answer.get("responses", [])
    if len(responses) != len(where):
        raise UnsureWriteError("Google's answer to a write does not list every written range")
    echo: Echo = {}
    for (title, number), response in zip(where, responses, strict=True):
        values = response.get("updatedData", {}).get("values", [[]])
        echo.setdefault(title, {})[number] = strings(values[0] if values else [])
    return echo


def write_body(data: list[dict[str, Any]]) -> dict[str, Any]:
    """A `values:batchUpdate` of RAW values whose answer carries the rows as written."""
    return {
        "valueInputOption": "RAW",
        "data": data,
        "includeValuesInResponse": True,
        "responseValueRenderOption": "FORMATTED_VALUE",
    }


def resize_body(sheet_id: int, count: int) -> dict[str, Any]:
    """A `batchUpdate` that sets a tab's grid to `count` columns (absolute: safe to retry)."""
    return {
        "requests": [
            {
                "updateSheetProperties": {
                    "properties": {"sheetId": sheet_id, "gridProperties": {"columnCount": count}},
                    "fields": "gridProperties.columnCount",
                }
            }
        ]
    }


def strings(row: list[Any]) -> list[str]:
    """A row of cells as text (formatted values already are), a lone surrogate made U+FFFD
    (`core.text`) as a read's row is."""
    cells: list[str] = mended(as_text(row))
    return cells
