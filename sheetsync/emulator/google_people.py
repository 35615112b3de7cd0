"""People's edits and test fixtures of the Google emulator, as a mixin of `GoogleEmulator`.

These act like a person in the browser: values are typed in (USER_ENTERED unless
`raw=True`), rows are inserted, deleted and sorted between two API calls, and every
change moves Drive's modifiedTime.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sheetsync.emulator import google_drive
from sheetsync.emulator.google_a1 import Area
from sheetsync.emulator.google_batch import DEFAULT_COLS, DEFAULT_ROWS
from sheetsync.emulator.google_cells import parse_input, render
from sheetsync.emulator.google_changes import ChangeLog
from sheetsync.emulator.google_meta import meta_json
from sheetsync.emulator.google_values import read
from sheetsync.emulator.grid import Book
from sheetsync.emulator.tab import Sheet

Rows = list[list[Any]]

PERSON = "person@example.com"
"""Who makes the edits of `set_cell`, `insert_rows`, `sort`, ... (Drive's lastModifyingUser)."""

_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class PeopleMixin:
    """Spreadsheet fixtures and human edits; needs `lock`, `_books` and the clocks."""

    lock: threading.RLock
    wall_clock: Callable[[], float]
    max_cells: int
    changes: ChangeLog
    _books: dict[str, Book]
    _shared: dict[str, frozenset[str]]
    _last_modified: float

    def new_book(
        self, title: str, tabs: dict[str, Rows], rows: int, cols: int, by: str = PERSON
    ) -> Book:
        """Create a spreadsheet (used by the helpers and Drive files.create)."""
        sid = "1" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(43))
        book = Book(sid, title, [], created=0.0, modified=0.0, max_cells=self.max_cells)
        self._touch(book, by)
        book.created = book.modified
        for index, name in enumerate(tabs or {"Sheet1": []}):
            values = (tabs or {}).get(name, [])
            sheet_id = 0 if index == 0 else book.new_sheet_id()
            sheet = Sheet.blank(sheet_id, name, rows, cols)
            _fill(sheet, values, raw=False)
            book.sheets.append(sheet)
        self._books[sid] = book
        return book

    def _tick(self) -> float:
        """Now, for modifiedTime: strictly increasing so every change is visible."""
        self._last_modified = max(self.wall_clock(), self._last_modified + 0.001)
        return self._last_modified

    def _touch(self, book: Book, by: str = PERSON) -> None:
        """`by` changed the book: it moves modifiedTime and enters Drive's changes feed."""
        book.modified = self._tick()
        book.modifier = by
        self.changes.record(book.spreadsheet_id, book.modified)

    # -- people and fixtures --------------------------------------------------------
    def create_spreadsheet(
        self,
        title: str,
        tabs: dict[str, Rows] | None = None,
        rows: int = DEFAULT_ROWS,
        cols: int = DEFAULT_COLS,
    ) -> str:
        """A new spreadsheet (default one empty `Sheet1`); return its 44-character id.

        Seeded values are typed in as a person would (USER_ENTERED); every tab is
        rows x cols, grown to fit the seed.
        """
        with self.lock:
            return self.new_book(title, tabs or {}, rows, cols).spreadsheet_id

    def share(self, spreadsheet_id: str, *client_emails: str) -> None:
        """Share a spreadsheet with these service accounts only (none: with everyone again)."""
        with self.lock:
            if client_emails:
                self._shared[spreadsheet_id] = frozenset(client_emails)
            else:
                self._shared.pop(spreadsheet_id, None)

    def values(self, spreadsheet_id: str, tab: str) -> list[list[str]]:
        """What a FORMATTED_VALUE read of the whole tab returns (trimmed, ragged)."""
        with self.lock:
            sheet = self._sheet(spreadsheet_id, tab)
            bounds = self._books[spreadsheet_id].bind(sheet, None, "")
            values: list[list[str]] = read(bounds).get("values", [])
            return values

    def cell(
        self, spreadsheet_id: str, tab: str, row: int, col: int, render_option: str = "FORMULA"
    ) -> Any:
        """One cell (1-based) as a read with `render_option` returns it ("" when empty)."""
        with self.lock:
            sheet = self._sheet(spreadsheet_id, tab)
            if row > sheet.row_count or col > sheet.col_count:
                return ""
            return render(sheet.rows[row - 1].get(col - 1), render_option)

    def grid_size(self, spreadsheet_id: str, tab: str) -> tuple[int, int]:
        """(rowCount, columnCount) of a tab."""
        with self.lock:
            sheet = self._sheet(spreadsheet_id, tab)
            return sheet.row_count, sheet.col_count

    def developer_metadata(self, spreadsheet_id: str) -> list[dict[str, Any]]:
        """Every developer metadata entry, as the API returns it."""
        with self.lock:
            book = self._books[spreadsheet_id]
            locations = book.row_locations()
            return [meta_json(m, locations) for m in book.metadata.values()]

    def modified_time(self, spreadsheet_id: str) -> str:
        """Drive's modifiedTime of a spreadsheet (RFC 3339, millis)."""
        with self.lock:
            return google_drive.rfc3339(self._books[spreadsheet_id].modified)

    def set_values(self, spreadsheet_id: str, tab: str, rows: Rows, *, raw: bool = False) -> None:
        """Replace every value of a tab, as a person pasting (USER_ENTERED unless raw)."""
        with self._edit(spreadsheet_id, tab) as sheet:
            for row in sheet.rows:
                row.cells.clear()
            _fill(sheet, rows, raw)

    def set_cell(
        self, spreadsheet_id: str, tab: str, row: int, col: int, value: Any, *, raw: bool = False
    ) -> None:
        """Type one value into a cell (1-based), growing the grid if needed."""
        with self._edit(spreadsheet_id, tab) as sheet:
            _grow(sheet, row, col)
            sheet.rows[row - 1].set(col - 1, parse_input(value, not raw))

    def insert_rows(
        self,
        spreadsheet_id: str,
        tab: str,
        index: int,
        count: int = 1,
        values: Rows | None = None,
        *,
        raw: bool = False,
    ) -> None:
        """Insert rows before 1-based `index` (rows below move down), optionally filled."""
        with self._edit(spreadsheet_id, tab) as sheet:
            count = max(count, len(values or []))
            _grow(sheet, index - 1, 1)
            sheet.insert_rows(index - 1, count)
            for offset, line in enumerate(values or []):
                _grow(sheet, index + offset, len(line))
                for col, value in enumerate(line):
                    sheet.rows[index - 1 + offset].set(col, parse_input(value, not raw))

    def delete_rows(self, spreadsheet_id: str, tab: str, index: int, count: int = 1) -> None:
        """Delete `count` rows from 1-based `index`, with their developer metadata."""
        with self._edit(spreadsheet_id, tab) as sheet:
            sheet.delete_rows(index - 1, index - 1 + count)

    def sort(
        self,
        spreadsheet_id: str,
        tab: str,
        column: int,
        ascending: bool = True,
        header_rows: int = 1,
    ) -> None:
        """Sort the rows below `header_rows` by a 1-based column; row metadata stays put."""
        with self._edit(spreadsheet_id, tab) as sheet:
            sheet.sort(Area(header_rows, None, 0, None), [(column - 1, ascending)])

    def add_sheet(
        self,
        spreadsheet_id: str,
        title: str,
        values: Rows | None = None,
        rows: int = DEFAULT_ROWS,
        cols: int = DEFAULT_COLS,
    ) -> int:
        """Add a tab at the end; return its sheetId."""
        with self.lock:
            book = self._books[spreadsheet_id]
            if book.sheet_by_title(title) is not None:
                raise ValueError(f"tab {title!r} already exists")
            sheet = Sheet.blank(book.new_sheet_id(), title, rows, cols)
            _fill(sheet, values or [], raw=False)
            book.sheets.append(sheet)
            self._touch(book)
            return sheet.sheet_id

    def delete_sheet(self, spreadsheet_id: str, tab: str) -> None:
        """Delete a tab (and the metadata on it)."""
        with self.lock:
            book = self._books[spreadsheet_id]
            book.sheets.remove(self._sheet(spreadsheet_id, tab))
            book.prune_metadata()
            self._touch(book)

    def delete_spreadsheet(self, spreadsheet_id: str) -> None:
        """Delete a spreadsheet: it answers 404 from now on (Drive's feed: removed)."""
        with self.lock:
            del self._books[spreadsheet_id]
            self.changes.record(spreadsheet_id, self._tick(), removed=True)

    def _sheet(self, spreadsheet_id: str, tab: str) -> Sheet:
        sheet = self._books[spreadsheet_id].sheet_by_title(tab)
        if sheet is None:
            raise KeyError(f"no tab {tab!r} in spreadsheet {spreadsheet_id}")
        return sheet

    @contextmanager
    def _edit(self, spreadsheet_id: str, tab: str) -> Iterator[Sheet]:
        with self.lock:
            yield self._sheet(spreadsheet_id, tab)
            book = self._books[spreadsheet_id]
            book.prune_metadata()
            self._touch(book)


def _grow(sheet: Sheet, rows: int, cols: int) -> None:
    if rows > sheet.row_count:
        sheet.insert_rows(sheet.row_count, rows - sheet.row_count)
    sheet.col_count = max(sheet.col_count, cols)


def _fill(sheet: Sheet, values: Rows, raw: bool) -> None:
    _grow(sheet, len(values), max((len(line) for line in values), default=0))
    for row, line in zip(sheet.rows, values, strict=False):
        for col, value in enumerate(line):
            row.set(col, parse_input(value, not raw))
