"""The spreadsheets.values.* reads of the Google Sheets emulator, and the request options
every values method shares (input option, major dimension, render option).

Reads trim trailing empty cells and rows (no `values` key when nothing is left). The
writes (update, batchUpdate, append, clear) are `google_value_writes`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sheetsync.emulator.google_a1 import bad_request
from sheetsync.emulator.google_cells import RENDER_OPTIONS, CellValue, render
from sheetsync.emulator.google_meta import filter_bounds
from sheetsync.emulator.grid import Book, Bounds


@dataclass(frozen=True)
class Options:
    """How a request wants values read or written."""

    major: str = "ROWS"
    user_entered: bool = False
    include_values: bool = False
    response_render: str = "FORMATTED_VALUE"


def input_option(value: Any) -> bool:
    """USER_ENTERED -> True, RAW -> False; missing or unknown is Google's 400."""
    if value in (None, "", "INPUT_VALUE_OPTION_UNSPECIFIED"):
        raise bad_request("'valueInputOption' is required but not specified")
    if value not in ("RAW", "USER_ENTERED"):
        raise bad_request(f"Invalid value for valueInputOption: {value}")
    return bool(value == "USER_ENTERED")


def check_major(value: Any) -> str:
    """ROWS (default) or COLUMNS."""
    if value in (None, "", "DIMENSION_UNSPECIFIED"):
        return "ROWS"
    if value not in ("ROWS", "COLUMNS"):
        raise bad_request(f"Invalid value for majorDimension: {value}")
    return str(value)


def check_render(value: Any) -> str:
    """FORMATTED_VALUE (default), UNFORMATTED_VALUE or FORMULA."""
    if value in (None, ""):
        return "FORMATTED_VALUE"
    if value not in RENDER_OPTIONS:
        raise bad_request(f"Invalid value for valueRenderOption: {value}")
    return str(value)


def truthy(value: Any) -> bool:
    """A boolean query parameter or body field (`true`, `True`, JSON true)."""
    return value is True or str(value).lower() == "true"


# -- reads ----------------------------------------------------------------------------
def read(bounds: Bounds, major: str = "ROWS", option: str = "FORMATTED_VALUE") -> dict[str, Any]:
    """A ValueRange of `bounds`, trimmed like Google's (no trailing empty cells or lines)."""
    rows = bounds.sheet.rows[bounds.row0 : bounds.row1]
    if major == "COLUMNS":
        cols = range(bounds.col0, bounds.col1)
        lines = [_rendered([r.get(c) for r in rows], option) for c in cols]
    else:
        lines = [_rendered(r.cells[bounds.col0 : bounds.col1], option) for r in rows]
    while lines and not lines[-1]:
        lines.pop()
    out: dict[str, Any] = {"range": bounds.a1(), "majorDimension": major}
    if lines:
        out["values"] = lines
    return out


def _rendered(cells: list[CellValue | None], option: str) -> list[Any]:
    """One line of a read: cells rendered, trailing empties dropped (cells past a row's
    stored ones are empty, so a row's short `cells` needs no padding). Text, and ints
    (not bools), are what `render` would give, without calling it for every cell."""
    text = option == "FORMATTED_VALUE"
    line = [
        ""
        if v is None
        else v
        if type(v) is str
        else (str(v) if text else v)
        if type(v) is int
        else render(v, option)
        for v in cells
    ]
    while line and line[-1] == "":
        line.pop()
    return line


def batch_get(book: Book, ranges: list[str], major: str, option: str) -> dict[str, Any]:
    """The answer of values:batchGet."""
    bounds = [book.resolve(r) for r in ranges]
    out: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
    if bounds:
        out["valueRanges"] = [read(b, major, option) for b in bounds]
    return out


def batch_get_by_filter(book: Book, body: Any) -> dict[str, Any]:
    """The answer of values:batchGetByDataFilter."""
    body = body if isinstance(body, dict) else {}
    major = check_major(body.get("majorDimension"))
    option = check_render(body.get("valueRenderOption"))
    found = []
    for data_filter in body.get("dataFilters") or []:
        for bounds in filter_bounds(book, data_filter):
            found.append({"valueRange": read(bounds, major, option), "dataFilters": [data_filter]})
    out: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
    if found:
        out["valueRanges"] = found
    return out
