"""The spreadsheets.values.* writes of the Google Sheets emulator, on a `Book`.

Writes skip `null`, clear on `""`, refuse cells over 50,000 characters and ranges past
the grid. values.update and batchUpdate are planned first (every range and value
checked: every 400 comes from there), then applied in place, so a failed write changes
nothing without copying the book; append and clear run on a copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sheetsync.emulator.google_a1 import (
    bad_request,
    col_letters,
    format_cells,
    format_range,
    parse_range,
)
from sheetsync.emulator.google_cells import CellInputError, CellValue, parse_input
from sheetsync.emulator.google_meta import filter_bounds
from sheetsync.emulator.google_values import (
    Options,
    check_major,
    check_render,
    input_option,
    read,
    truthy,
)
from sheetsync.emulator.grid import Book, Bounds, grid_error
from sheetsync.emulator.tab import Row, Sheet


class _Skip:
    """A `null` in written values: leave the cell as it is."""


SKIP = _Skip()
Cells = list[list[CellValue | _Skip | None]]


# -- writes ---------------------------------------------------------------------------
def parse_values(values: Any, major: str, user_entered: bool) -> Cells:
    """Validate written values and turn them into cells, before anything is changed."""
    if values is None:
        return []
    if not isinstance(values, list) or not all(isinstance(v, list) for v in values):
        raise bad_request("Invalid values: a list of lists is required.")
    if major == "COLUMNS":
        height = max((len(v) for v in values), default=0)
        values = [[col[r] if r < len(col) else None for col in values] for r in range(height)]
    cells: Cells = []
    for r, line in enumerate(values):
        parsed: list[CellValue | _Skip | None] = []
        for c, item in enumerate(line):
            if item is None:
                parsed.append(SKIP)
                continue
            try:
                parsed.append(parse_input(item, user_entered))
            except CellInputError as exc:
                raise bad_request(f"{exc} (values[{r}][{c}])") from exc
        cells.append(parsed)
    return cells


@dataclass(frozen=True)
class Write:
    """One checked write, not applied yet: its cells go to (row0, col0) of `sheet`."""

    sheet: Sheet
    row0: int
    col0: int
    cells: Cells
    opts: Options
    echo: dict[str, Any] = field(default_factory=dict)
    """Extra keys of its answer (`dataFilter` for batchUpdateByDataFilter)."""
    requested: Bounds | None = None
    """The range asked for, when larger than the values: `updatedData` covers all of it."""


Undo = list[tuple[Row, int, CellValue | None]]


def _put(write: Write, undo: Undo | None) -> tuple[int, int, int]:
    """Write the cells; return (rows, columns, cells) written; log old values in `undo`."""
    rows, cols, count = set(), set(), 0
    for r, line in enumerate(write.cells):
        row = write.sheet.rows[write.row0 + r]
        for c, value in enumerate(line):
            if isinstance(value, _Skip):
                continue
            if undo is not None:
                undo.append((row, write.col0 + c, row.get(write.col0 + c)))
            row.set(write.col0 + c, value)
            rows.add(r)
            cols.add(c)
            count += 1
    return len(rows), len(cols), count


def _update_response(book: Book, write: Write, undo: Undo | None = None) -> dict[str, Any]:
    """Apply one write and answer it like values.update."""
    height = len(write.cells)
    width = max((len(line) for line in write.cells), default=0)
    n_rows, n_cols, n_cells = _put(write, undo)
    out: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
    row0, col0 = write.row0, write.col0
    written = Bounds(write.sheet, row0, row0 + max(height, 1), col0, col0 + max(width, 1))
    out["updatedRange"] = written.a1()
    for key, number in (("updatedRows", n_rows), ("updatedColumns", n_cols)):
        if number:
            out[key] = number
    if n_cells:
        out["updatedCells"] = n_cells
    if write.opts.include_values:  # the whole requested range, as Google documents
        shown = write.requested or written
        out["updatedData"] = read(shown, "ROWS", write.opts.response_render)
    out.update(write.echo)
    return out


def plan_update(book: Book, text: str, values: Any, opts: Options) -> Write:
    """Check a write into a range (a single cell anchors a block of any size); change nothing."""
    parsed = parse_range(text)
    bounds = book.resolve(text)
    cells = parse_values(values, opts.major, opts.user_entered)
    height = len(cells)
    width = max((len(line) for line in cells), default=0)
    sheet = bounds.sheet
    single = bounds.row1 - bounds.row0 == 1 and bounds.col1 - bounds.col0 == 1
    if single and parsed.area is not None:
        end_row, end_col = bounds.row0 + height, bounds.col0 + width
        if end_row > sheet.row_count or end_col > sheet.col_count:
            cells_text = format_cells(bounds.row0, end_row, bounds.col0, end_col)
            raise grid_error(sheet.title, cells_text, sheet)
    elif height > bounds.row1 - bounds.row0 or width > bounds.col1 - bounds.col0:
        where = (
            f"row [{bounds.row0 + height}]"
            if height > bounds.row1 - bounds.row0
            else f"column [{col_letters(bounds.col0 + width - 1)}]"
        )
        raise bad_request(
            f"Requested writing within range [{bounds.a1()}], but tried writing to {where}"
        )
    requested = None if single else bounds
    return Write(sheet, bounds.row0, bounds.col0, cells, opts, requested=requested)


def apply_update(book: Book, write: Write) -> dict[str, Any]:
    """Apply a checked values.update in place and answer; undone on error."""
    with _all_or_nothing() as undo:
        return _update_response(book, write, undo)


def plan_batch_update(book: Book, body: Any) -> list[Write]:
    """Check every ValueRange of a values:batchUpdate, in order; change nothing."""
    body = body if isinstance(body, dict) else {}
    user_entered = input_option(body.get("valueInputOption"))
    include_values = truthy(body.get("includeValuesInResponse"))
    response_render = check_render(body.get("responseValueRenderOption"))
    writes = []
    for item in body.get("data") or []:
        if not isinstance(item, dict) or not isinstance(item.get("range"), str):
            raise bad_request("Invalid data: every ValueRange needs a range.")
        item_opts = Options(
            check_major(item.get("majorDimension")),
            user_entered=user_entered,
            include_values=include_values,
            response_render=response_render,
        )
        writes.append(plan_update(book, item["range"], item.get("values"), item_opts))
    return writes


def plan_batch_update_by_filter(book: Book, body: Any) -> list[Write]:
    """Check a values:batchUpdateByDataFilter; a filter matching nothing writes nothing."""
    body = body if isinstance(body, dict) else {}
    user_entered = input_option(body.get("valueInputOption"))
    writes = []
    for item in body.get("data") or []:
        if not isinstance(item, dict):
            raise bad_request("Invalid data: DataFilterValueRange objects are required.")
        opts = Options(
            check_major(item.get("majorDimension")),
            user_entered=user_entered,
            include_values=truthy(body.get("includeValuesInResponse")),
            response_render=check_render(body.get("responseValueRenderOption")),
        )
        for bounds in filter_bounds(book, item.get("dataFilter")):
            write = plan_update(book, bounds.a1(), item.get("values"), opts)
            writes.append(_with_echo(write, {"dataFilter": item.get("dataFilter")}))
    return writes


def _with_echo(write: Write, echo: dict[str, Any]) -> Write:
    return Write(
        write.sheet, write.row0, write.col0, write.cells, write.opts, echo, write.requested
    )


def apply_batch(book: Book, writes: list[Write]) -> dict[str, Any]:
    """Apply checked writes in order, in place, and answer; all or nothing (undone on error)."""
    with _all_or_nothing() as undo:
        responses = [_update_response(book, write, undo) for write in writes]
    return _totals(book, responses)


@contextmanager
def _all_or_nothing() -> Iterator[Undo]:
    """An undo log for writes made in place: on an error, every logged cell is put back."""
    undo: Undo = []
    try:
        yield undo
    except BaseException:
        for row, col, old in reversed(undo):
            row.set(col, old)
        raise


def _totals(book: Book, responses: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
    for total, key in (
        ("totalUpdatedRows", "updatedRows"),
        ("totalUpdatedColumns", "updatedColumns"),
        ("totalUpdatedCells", "updatedCells"),
    ):
        number = sum(r.get(key, 0) for r in responses)
        if number:
            out[total] = number
    sheets = {r["updatedRange"].rsplit("!", 1)[0] for r in responses if r.get("updatedCells")}
    if sheets:
        out["totalUpdatedSheets"] = len(sheets)
    if responses:
        out["responses"] = responses
    return out


def append(book: Book, text: str, values: Any, opts: Options, insert_rows: bool) -> dict[str, Any]:
    """values:append: write after the table found in the range, growing the grid as needed.

    The table: for a one-row range (`A5`, `A1:E1`) the run of non-empty rows starting
    there; for a taller range the rows up to its last non-empty row.
    """
    bounds = book.resolve(text)
    cells = parse_values(values, opts.major, opts.user_entered)
    sheet = bounds.sheet
    col1 = sheet.col_count if bounds.col1 - bounds.col0 == 1 else bounds.col1
    first, last = _table(sheet, bounds, col1)
    target = bounds.row0 if last is None else last + 1
    height = len(cells)
    width = max((len(line) for line in cells), default=0)
    if insert_rows:
        sheet.insert_rows(min(target, sheet.row_count), height)
    elif target + height > sheet.row_count:
        sheet.insert_rows(sheet.row_count, target + height - sheet.row_count)
    if bounds.col0 + width > sheet.col_count:
        sheet.insert_cols(sheet.col_count, bounds.col0 + width - sheet.col_count)
    book.check_cells()
    out: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
    if first is not None and last is not None:
        table_cols = max(len(r.cells) for r in sheet.rows[first : last + 1])
        table_end = max(min(table_cols, col1), bounds.col0 + 1)
        out["tableRange"] = format_range(sheet.title, first, last + 1, bounds.col0, table_end)
    out["updates"] = _update_response(book, Write(sheet, target, bounds.col0, cells, opts))
    return out


def _table(sheet: Sheet, bounds: Bounds, col1: int) -> tuple[int | None, int | None]:
    """(first, last) non-empty rows of the table in `bounds`; (None, None) when empty."""
    rows = sheet.rows
    if bounds.row1 - bounds.row0 == 1:
        last = bounds.row0 - 1
        while last + 1 < len(rows) and not rows[last + 1].empty_between(bounds.col0, col1):
            last += 1
        return (bounds.row0, last) if last >= bounds.row0 else (None, None)
    filled = [
        i for i in range(bounds.row0, bounds.row1) if not rows[i].empty_between(bounds.col0, col1)
    ]
    return (filled[0], filled[-1]) if filled else (None, None)


def clear(bounds: Bounds) -> str:
    """Empty every cell of `bounds`; return the cleared range as echoed."""
    for row in bounds.sheet.rows[bounds.row0 : bounds.row1]:
        for col in range(bounds.col0, min(bounds.col1, len(row.cells))):
            row.set(col, None)
    return bounds.a1()
