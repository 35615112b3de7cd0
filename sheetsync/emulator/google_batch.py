"""spreadsheets.batchUpdate of the Google Sheets emulator (spreadsheets.get's resource is
`google_spreadsheet`'s).

batchUpdate runs its requests in order on a copy of the book (the caller keeps the
copy only if every request succeeds, as Google applies a batch atomically). Errors
name the failing request: `Invalid requests[1].deleteDimension: ...`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sheetsync.emulator import google_meta
from sheetsync.emulator.google_a1 import ApiError, Area, bad_request
from sheetsync.emulator.google_spreadsheet import sheet_properties, spreadsheet_json
from sheetsync.emulator.grid import Book
from sheetsync.emulator.tab import MAX_COLUMNS, Sheet

DEFAULT_ROWS = 1000
DEFAULT_COLS = 26

# Requests that only change how cells look: accepted and ignored.
COSMETIC = frozenset(
    {
        "repeatCell", "updateBorders", "autoResizeDimensions", "updateDimensionProperties",
        "mergeCells", "unmergeCells", "setBasicFilter", "clearBasicFilter",
        "addConditionalFormatRule", "deleteConditionalFormatRule", "setDataValidation",
        "addProtectedRange", "deleteProtectedRange", "updateProtectedRange", "addBanding",
        "deleteBanding", "addDimensionGroup", "deleteDimensionGroup", "updateCells",
    }
)  # fmt: skip


def batch_update(book: Book, body: Any) -> dict[str, Any]:
    """Apply every request of a spreadsheets.batchUpdate body; return the answer."""
    requests = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(requests, list) or not requests:
        raise bad_request("Must specify at least one request.")
    replies = []
    for index, request in enumerate(requests):
        if not isinstance(request, dict) or len(request) != 1:
            raise bad_request(f"Invalid requests[{index}]: exactly one kind of request, please.")
        ((kind, spec),) = request.items()
        handler = HANDLERS.get(kind)
        if handler is None and kind not in COSMETIC:
            raise bad_request(
                f"Invalid requests[{index}]: the sheetsync emulator does not implement '{kind}'."
            )
        try:
            replies.append(handler(book, spec if isinstance(spec, dict) else {}) if handler else {})
            book.check_cells()
        except ApiError as exc:
            if exc.code != 400:
                raise
            raise bad_request(f"Invalid requests[{index}].{kind}: {exc.message}") from exc
        book.prune_metadata()
    out: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id, "replies": replies}
    if isinstance(body, dict) and body.get("includeSpreadsheetInResponse"):
        out["updatedSpreadsheet"] = spreadsheet_json(book)
    return out


def _sheet(book: Book, sheet_id: Any) -> Sheet:
    sheet = book.sheet_by_id(0 if sheet_id is None else sheet_id)
    if sheet is None:
        raise bad_request(f"No grid with id: {sheet_id}")
    return sheet


def _dimension(book: Book, spec: dict[str, Any]) -> tuple[Sheet, bool, int, int]:
    span = spec.get("range")
    if not isinstance(span, dict):
        raise bad_request("range is required.")
    sheet = _sheet(book, span.get("sheetId"))
    dimension = span.get("dimension")
    if dimension not in ("ROWS", "COLUMNS"):
        raise bad_request("range.dimension must be ROWS or COLUMNS.")
    start, end = span.get("startIndex", 0), span.get("endIndex")
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end:
        raise bad_request("range.startIndex must be less than range.endIndex.")
    return sheet, dimension == "ROWS", start, end


def _insert_dimension(book: Book, spec: dict[str, Any]) -> dict[str, Any]:
    sheet, rows, start, end = _dimension(book, spec)
    size = sheet.row_count if rows else sheet.col_count
    if start > size:
        raise bad_request(f"range.startIndex {start} is past the end of the grid ({size}).")
    if rows:
        sheet.insert_rows(start, end - start)
    else:
        sheet.insert_cols(start, end - start)
    return {}


def _delete_dimension(book: Book, spec: dict[str, Any]) -> dict[str, Any]:
    sheet, rows, start, end = _dimension(book, spec)
    size = sheet.row_count if rows else sheet.col_count
    if end > size:
        raise bad_request(f"range.endIndex {end} is past the end of the grid ({size}).")
    if start == 0 and end == size:
        kind = "rows" if rows else "columns"
        raise bad_request(f"You can't delete all the {kind} on the sheet.")
    if rows:
        sheet.delete_rows(start, end)
    else:
        sheet.delete_cols(start, end)
    return {}


def _append_dimension(book: Book, spec: dict[str, Any]) -> dict[str, Any]:
    sheet = _sheet(book, spec.get("sheetId"))
    length = spec.get("length")
    if not isinstance(length, int) or length < 1:
        raise bad_request("length must be positive.")
    if spec.get("dimension") == "COLUMNS":
        sheet.insert_cols(sheet.col_count, length)
    elif spec.get("dimension") == "ROWS":
        sheet.insert_rows(sheet.row_count, length)
    else:
        raise bad_request("dimension must be ROWS or COLUMNS.")
    return {}


def _update_sheet_properties(book: Book, spec: dict[str, Any]) -> dict[str, Any]:
    props = spec.get("properties")
    if not isinstance(props, dict):
        raise bad_request("properties is required.")
    sheet = _sheet(book, props.get("sheetId"))
    fields = str(spec.get("fields", "")).replace("/", ".")
    names = {f.strip() for f in fields.split(",") if f.strip()}
    if not names:
        raise bad_request("At least one field must be specified in 'fields'.")
    if "*" in names:
        names = {"title", "index", "hidden", "gridProperties"}
    grid = props.get("gridProperties") or {}
    for name in sorted(names):
        _set_property(book, sheet, name, props, grid)
    return {}


def _set_property(
    book: Book, sheet: Sheet, name: str, props: dict[str, Any], grid: dict[str, Any]
) -> None:
    if name == "gridProperties":
        for key in ("rowCount", "columnCount", "frozenRowCount", "frozenColumnCount"):
            if key in grid:
                _set_property(book, sheet, f"gridProperties.{key}", props, grid)
    elif name == "title":
        _rename(book, sheet, props.get("title"))
    elif name == "index":
        _move(book, sheet, props.get("index", 0))
    elif name == "hidden":
        sheet.hidden = bool(props.get("hidden"))
    elif name in ("gridProperties.rowCount", "gridProperties.columnCount"):
        count = grid.get(name.split(".")[1])
        if not isinstance(count, int) or count < 1:
            raise bad_request(f"{name} must be positive.")
        if name.endswith("columnCount") and count > MAX_COLUMNS:
            raise bad_request(f"{name} is over the limit of {MAX_COLUMNS} columns.")
        is_rows = name.endswith("rowCount")
        sheet.resize(rows=count if is_rows else None, cols=None if is_rows else count)
    elif name == "gridProperties.frozenRowCount":
        sheet.frozen_rows = int(grid.get("frozenRowCount") or 0)
    elif name == "gridProperties.frozenColumnCount":
        sheet.frozen_cols = int(grid.get("frozenColumnCount") or 0)
    else:
        raise bad_request(f"The sheetsync emulator cannot update field '{name}'.")


def _rename(book: Book, sheet: Sheet, title: Any) -> None:
    if not isinstance(title, str) or not title.strip():
        raise bad_request("A sheet title must not be empty.")
    other = book.sheet_by_title(title)
    if other is not None and other is not sheet:
        raise bad_request(
            f'A sheet with the name "{title}" already exists. Please enter another name.'
        )
    sheet.title = title


def _move(book: Book, sheet: Sheet, index: Any) -> None:
    if not isinstance(index, int) or index < 0:
        raise bad_request("index must not be negative.")
    book.sheets.remove(sheet)
    book.sheets.insert(min(index, len(book.sheets)), sheet)


def _sort_range(book: Book, spec: dict[str, Any]) -> dict[str, Any]:
    bounds = book.grid_bounds(spec.get("range"))
    specs = []
    for item in spec.get("sortSpecs") or []:
        col = item.get("dimensionIndex", 0) if isinstance(item, dict) else None
        if not isinstance(col, int) or not bounds.col0 <= col < bounds.col1:
            raise bad_request("sortSpecs.dimensionIndex must be a column inside the range.")
        specs.append((col, item.get("sortOrder", "ASCENDING") != "DESCENDING"))
    if not specs:
        raise bad_request("At least one sort spec is required.")
    bounds.sheet.sort(Area(bounds.row0, bounds.row1, bounds.col0, bounds.col1), specs)
    return {}


def add_sheet(book: Book, spec: dict[str, Any]) -> dict[str, Any]:
    """addSheet: a new tab (default 1000 x 26, titled `SheetN`)."""
    props = spec.get("properties") or {}
    sheet_id = props.get("sheetId")
    if sheet_id is None:
        sheet_id = book.new_sheet_id()
    elif book.sheet_by_id(sheet_id) is not None:
        raise bad_request(f"A sheet with id {sheet_id} already exists.")
    title = props.get("title")
    if title is None:
        number = len(book.sheets) + 1
        while book.sheet_by_title(f"Sheet{number}") is not None:
            number += 1
        title = f"Sheet{number}"
    grid = props.get("gridProperties") or {}
    sheet = Sheet.blank(
        sheet_id, "", grid.get("rowCount", DEFAULT_ROWS), grid.get("columnCount", DEFAULT_COLS)
    )
    _rename(book, sheet, title)
    book.sheets.append(sheet)
    if "index" in props:
        _move(book, sheet, props["index"])
    index = book.sheets.index(sheet)
    return {"addSheet": {"properties": sheet_properties(sheet, index)}}


def _delete_sheet(book: Book, spec: dict[str, Any]) -> dict[str, Any]:
    sheet = _sheet(book, spec.get("sheetId"))
    if len(book.sheets) == 1:
        raise bad_request("You can't remove all the sheets in a document.")
    book.sheets.remove(sheet)
    return {}


def _update_spreadsheet_properties(book: Book, spec: dict[str, Any]) -> dict[str, Any]:
    props = spec.get("properties") or {}
    fields = {f.strip() for f in str(spec.get("fields", "")).split(",")}
    if "title" in props and fields & {"title", "*"}:
        book.title = str(props["title"])
    return {}


HANDLERS: dict[str, Callable[[Book, dict[str, Any]], dict[str, Any]]] = {
    "insertDimension": _insert_dimension,
    "deleteDimension": _delete_dimension,
    "appendDimension": _append_dimension,
    "updateSheetProperties": _update_sheet_properties,
    "sortRange": _sort_range,
    "addSheet": add_sheet,
    "deleteSheet": _delete_sheet,
    "updateSpreadsheetProperties": _update_spreadsheet_properties,
    "createDeveloperMetadata": google_meta.create,
    "deleteDeveloperMetadata": google_meta.delete,
    "updateDeveloperMetadata": google_meta.update,
}
