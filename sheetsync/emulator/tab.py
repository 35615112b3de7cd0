"""One tab of the Google Sheets emulator's spreadsheet model: its rows of cells and the
edits Sheets makes to them (insert, delete, resize, sort).

A `Sheet` is a list of `Row`s; developer metadata lives on rows (by id), so it moves
with its row on insert/delete and stays put when a sort moves the values. The spreadsheet
around the tabs (ranges, metadata, limits) is `grid`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sheetsync.emulator.google_a1 import Area
from sheetsync.emulator.google_cells import CellValue, effective, is_empty

MAX_COLUMNS = 18_278  # column ZZZ


@dataclass(eq=False)
class Row:
    """One grid row: its cells (ragged, `None` = empty) and the developer metadata ids on it."""

    cells: list[CellValue | None] = field(default_factory=list)
    meta: list[int] = field(default_factory=list)

    def get(self, col: int) -> CellValue | None:
        """The cell in this column (0-based)."""
        return self.cells[col] if col < len(self.cells) else None

    def set(self, col: int, value: CellValue | None) -> None:
        """Store (or clear, with None) one cell."""
        if col >= len(self.cells):
            if value is None:
                return
            self.cells.extend([None] * (col + 1 - len(self.cells)))
        self.cells[col] = value
        self.trim()

    def trim(self) -> None:
        """Drop trailing empty (`None`) cells."""
        while self.cells and self.cells[-1] is None:
            self.cells.pop()

    def empty_between(self, col0: int, col1: int) -> bool:
        """Whether every cell in [col0, col1) is empty."""
        return all(is_empty(v) for v in self.cells[col0:col1])


@dataclass
class Sheet:
    """One tab: properties and a grid of `row_count` rows by `col_count` columns."""

    sheet_id: int
    title: str
    rows: list[Row]
    col_count: int
    frozen_rows: int = 0
    frozen_cols: int = 0
    hidden: bool = False

    @classmethod
    def blank(cls, sheet_id: int, title: str, rows: int, cols: int) -> Sheet:
        """A new empty tab."""
        return cls(sheet_id, title, [Row() for _ in range(rows)], cols)

    @property
    def row_count(self) -> int:
        """Rows in the grid."""
        return len(self.rows)

    def copy(self) -> Sheet:
        """An independent copy (for all-or-nothing requests)."""
        rows = [Row(list(r.cells), list(r.meta)) for r in self.rows]
        return Sheet(
            self.sheet_id,
            self.title,
            rows,
            self.col_count,
            self.frozen_rows,
            self.frozen_cols,
            self.hidden,
        )

    def insert_rows(self, index: int, count: int) -> None:
        """Insert empty rows before 0-based `index`; rows below (and their metadata) move down."""
        self.rows[index:index] = [Row() for _ in range(count)]

    def delete_rows(self, start: int, end: int) -> None:
        """Delete rows [start, end) with their metadata."""
        del self.rows[start:end]

    def insert_cols(self, index: int, count: int) -> None:
        """Insert empty columns before 0-based `index`."""
        for row in self.rows:
            if index < len(row.cells):
                row.cells[index:index] = [None] * count
        self.col_count += count

    def delete_cols(self, start: int, end: int) -> None:
        """Delete columns [start, end)."""
        for row in self.rows:
            del row.cells[start:end]
            row.trim()
        self.col_count -= end - start

    def resize(self, rows: int | None = None, cols: int | None = None) -> None:
        """Set the grid size; shrinking drops the cut rows/columns and their values."""
        if rows is not None:
            if rows < self.row_count:
                del self.rows[rows:]
            else:
                self.insert_rows(self.row_count, rows - self.row_count)
        if cols is not None:
            for row in self.rows:
                del row.cells[cols:]
                row.trim()
            self.col_count = cols

    def sort(self, area: Area, specs: list[tuple[int, bool]]) -> None:
        """Sort the rows of `area` by (0-based column, ascending) specs; metadata stays put.

        Like Sheets: empty cells sort last in both directions; numbers before text
        before booleans; text compares case-insensitively; the sort is stable.
        """
        row1 = self.row_count if area.row1 is None else area.row1
        col1 = self.col_count if area.col1 is None else area.col1
        rows = self.rows[area.row0 : row1]
        slices = [[r.get(c) for c in range(area.col0, col1)] for r in rows]
        order = list(range(len(rows)))
        for col, ascending in reversed(specs):
            filled: list[tuple[tuple[int, Any], int]] = []
            blank: list[int] = []
            for i in order:
                key = _sort_key(rows[i].get(col))
                if key is None:
                    blank.append(i)
                else:
                    filled.append((key, i))
            filled.sort(key=lambda item: item[0], reverse=not ascending)  # stable both ways
            order = [i for _, i in filled] + blank
        for target, source in zip(rows, order, strict=True):
            for offset, value in enumerate(slices[source]):
                target.set(area.col0 + offset, value)


def _sort_key(value: CellValue | None) -> tuple[int, Any] | None:
    result = effective(value)
    if result is None or result == "":
        return None
    if isinstance(result, bool):
        return (2, result)
    if isinstance(result, int | float):
        return (0, result)
    return (1, result.casefold())
