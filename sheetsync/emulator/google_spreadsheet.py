"""The spreadsheet resource of the Google Sheets emulator, as spreadsheets.get returns it:
the book's properties, each tab's properties and the developer metadata not on rows.
"""

from __future__ import annotations

from typing import Any

from sheetsync.emulator import google_meta
from sheetsync.emulator.grid import Book
from sheetsync.emulator.tab import Sheet


def sheet_properties(sheet: Sheet, index: int) -> dict[str, Any]:
    """A tab's `properties` as spreadsheets.get returns them."""
    grid: dict[str, Any] = {"rowCount": sheet.row_count, "columnCount": sheet.col_count}
    if sheet.frozen_rows:
        grid["frozenRowCount"] = sheet.frozen_rows
    if sheet.frozen_cols:
        grid["frozenColumnCount"] = sheet.frozen_cols
    props: dict[str, Any] = {
        "sheetId": sheet.sheet_id,
        "title": sheet.title,
        "index": index,
        "sheetType": "GRID",
        "gridProperties": grid,
    }
    if sheet.hidden:
        props["hidden"] = True
    return props


def spreadsheet_json(book: Book) -> dict[str, Any]:
    """The answer of spreadsheets.get (no grid data)."""
    locations = book.row_locations()
    sheets = []
    for index, sheet in enumerate(book.sheets):
        entry: dict[str, Any] = {"properties": sheet_properties(sheet, index)}
        tab_meta = [
            google_meta.meta_json(m, locations)
            for m in book.metadata.values()
            if m.sheet_id == sheet.sheet_id and not m.on_rows
        ]
        if tab_meta:
            entry["developerMetadata"] = tab_meta
        sheets.append(entry)
    out: dict[str, Any] = {
        "spreadsheetId": book.spreadsheet_id,
        "properties": {
            "title": book.title,
            "locale": "en_US",
            "autoRecalc": "ON_CHANGE",
            "timeZone": "Etc/GMT",
        },
        "sheets": sheets,
        "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.spreadsheet_id}/edit",
    }
    book_meta = [
        google_meta.meta_json(m, locations)
        for m in book.metadata.values()
        if m.sheet_id is None and not m.on_rows
    ]
    if book_meta:
        out["developerMetadata"] = book_meta
    return out
