"""The in-memory spreadsheet model of the local Google Sheets emulator.

`Book.resolve` binds an A1 range (parsed by `google_a1.parse_range`) to a tab and its
grid, raising the 400s Google raises (unknown tab, past the grid, too many cells).
Developer metadata is kept here by id and placed on rows of the tabs (`tab`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sheetsync.emulator.google_a1 import (
    ApiError,
    Area,
    bad_request,
    format_range,
    parse_range,
    quote_title,
)
from sheetsync.emulator.tab import Sheet

MAX_CELLS = 10_000_000
"""Google's limit on the cells (rows x columns, all tabs) of one spreadsheet."""


@dataclass
class DevMeta:
    """One developer metadata entry; `sheet_id` None with `on_rows` False = spreadsheet-level."""

    metadata_id: int
    key: str
    value: str | None
    visibility: str
    sheet_id: int | None
    on_rows: bool


@dataclass(frozen=True)
class Bounds:
    """A range bound to a tab: 0-based, end-exclusive, within the grid."""

    sheet: Sheet
    row0: int
    row1: int
    col0: int
    col1: int

    def a1(self) -> str:
        """As Google echoes it: `Sheet1!A1:Z1000`, `'My tab'!B3`."""
        return format_range(self.sheet.title, self.row0, self.row1, self.col0, self.col1)


def grid_error(title: str, cells: str, sheet: Sheet) -> ApiError:
    """The 400 for a range past the grid."""
    return bad_request(
        f"Range ({quote_title(title)}!{cells}) exceeds grid limits. "
        f"Max rows: {sheet.row_count}, max columns: {sheet.col_count}"
    )


def _indices(grid: dict[str, Any], axis: str, size: int) -> tuple[int, int]:
    start = grid.get(f"start{axis}Index", 0)
    end = grid.get(f"end{axis}Index", size)
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start <= end <= size:
        raise bad_request(
            f"Invalid range: {axis.lower()} indices [{start}, {end}) are outside the grid "
            f"of {size} {axis.lower()}s."
        )
    return start, end


@dataclass
class Book:
    """One spreadsheet: its tabs, developer metadata and Drive times."""

    spreadsheet_id: str
    title: str
    sheets: list[Sheet]
    created: float
    modified: float
    metadata: dict[int, DevMeta] = field(default_factory=dict)
    next_sheet_id: int = 1
    next_meta_id: int = 1
    max_cells: int = MAX_CELLS
    modifier: str = ""
    """The email address of the last user who changed it (Drive's lastModifyingUser)."""

    def copy(self) -> Book:
        """An independent copy: requests run on it and replace the book only on success."""
        return Book(
            self.spreadsheet_id,
            self.title,
            [s.copy() for s in self.sheets],
            self.created,
            self.modified,
            {k: DevMeta(**vars(m)) for k, m in self.metadata.items()},
            self.next_sheet_id,
            self.next_meta_id,
            self.max_cells,
            self.modifier,
        )

    def sheet_by_title(self, title: str) -> Sheet | None:
        """The tab with this title (exact, else case-insensitive)."""
        for sheet in self.sheets:
            if sheet.title == title:
                return sheet
        folded = title.casefold()
        return next((s for s in self.sheets if s.title.casefold() == folded), None)

    def sheet_by_id(self, sheet_id: Any) -> Sheet | None:
        """The tab with this sheetId."""
        return next((s for s in self.sheets if s.sheet_id == sheet_id), None)

    def new_sheet_id(self) -> int:
        """A sheetId no tab has (Google uses large random ints; small ones read better)."""
        while self.sheet_by_id(self.next_sheet_id) is not None:
            self.next_sheet_id += 1
        self.next_sheet_id += 1
        return self.next_sheet_id - 1

    def check_cells(self) -> None:
        """Raise Google's 400 when the grid has grown past the cell limit."""
        total = sum(s.row_count * s.col_count for s in self.sheets)
        if total > self.max_cells:
            raise bad_request(
                "This action would increase the number of cells in the workbook above "
                f"the limit of {self.max_cells} cells."
            )

    def resolve(self, text: str) -> Bounds:
        """Bind an A1 range to a tab and its grid (400 when unknown or past the grid)."""
        parsed = parse_range(text)
        sheet = self.sheet_by_title(parsed.title) if parsed.title is not None else self.sheets[0]
        if sheet is None:
            raise bad_request(f"Unable to parse range: {text}")
        return self.bind(sheet, parsed.area, parsed.cells)

    def bind(self, sheet: Sheet, area: Area | None, cells: str) -> Bounds:
        """Bounds of `area` on `sheet`, checked against its grid."""
        if area is None:
            return Bounds(sheet, 0, sheet.row_count, 0, sheet.col_count)
        row1 = sheet.row_count if area.row1 is None else area.row1
        col1 = sheet.col_count if area.col1 is None else area.col1
        if (
            area.row0 >= sheet.row_count
            or row1 > sheet.row_count
            or area.col0 >= sheet.col_count
            or col1 > sheet.col_count
        ):
            raise grid_error(sheet.title, cells, sheet)
        return Bounds(sheet, area.row0, row1, area.col0, col1)

    def grid_bounds(self, grid: Any) -> Bounds:
        """Bounds of a GridRange (`sheetId`, `startRowIndex`, ... absent = unbounded)."""
        if not isinstance(grid, dict):
            raise bad_request("Invalid range: a GridRange object is required.")
        sheet = self.sheet_by_id(grid.get("sheetId", 0))
        if sheet is None:
            raise bad_request(f"No grid with id: {grid.get('sheetId', 0)}")
        row0, row1 = _indices(grid, "Row", sheet.row_count)
        col0, col1 = _indices(grid, "Column", sheet.col_count)
        return Bounds(sheet, row0, row1, col0, col1)

    def row_locations(self) -> dict[int, tuple[int, int, int]]:
        """metadata id -> (sheetId, first row, last row + 1) for row metadata."""
        spans: dict[int, tuple[int, int, int]] = {}
        for sheet in self.sheets:
            for index, row in enumerate(sheet.rows):
                for meta_id in row.meta:
                    _, first, _ = spans.get(meta_id, (sheet.sheet_id, index, index))
                    spans[meta_id] = (sheet.sheet_id, first, index + 1)
        return spans

    def prune_metadata(self) -> None:
        """Forget row metadata whose rows are all gone, and metadata of deleted tabs."""
        located = self.row_locations()
        ids = {s.sheet_id for s in self.sheets}
        for meta_id, meta in list(self.metadata.items()):
            gone_rows = meta.on_rows and meta_id not in located
            if gone_rows or (meta.sheet_id is not None and meta.sheet_id not in ids):
                del self.metadata[meta_id]
