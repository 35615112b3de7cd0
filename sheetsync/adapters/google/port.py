"""The port the engine uses to reach Google Sheets; `sheet.GoogleSheets` implements it,
`identities.SheetRouter` routes it to a watch's identity, tests stand in for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Protocol, TypeVar

from sheetsync.adapters.google.writes import Echo
from sheetsync.core.model import CellWrite

T = TypeVar("T")


class SheetPort(Protocol):
    """What the engine needs from Google Sheets."""

    def read_tabs(self, spreadsheet_id: str, titles: Sequence[str]) -> dict[str, list[list[str]]]:
        """Every tab's values (formatted), in one read."""
        ...

    def read_tab_columns(
        self,
        spreadsheet_id: str,
        titles: Sequence[str],
        reduce: Callable[[str, Iterator[list[str]]], T],
    ) -> dict[str, T]:
        """Every tab's values (formatted) in one read, column by column, each tab's columns
        handed to `reduce(title, columns)` as they are decoded."""
        ...

    def read_ranges(self, spreadsheet_id: str, ranges: Sequence[str]) -> list[list[list[str]]]:
        """A1 ranges' formatted values, column by column, in one read."""
        ...

    def write_cells(
        self,
        spreadsheet_id: str,
        cells: Mapping[str, Sequence[CellWrite]],
        reach: Mapping[str, int] | None = None,
        guard: Callable[[], None] | None = None,
    ) -> Echo:
        """Write cells of several tabs in one batched RAW write; return every written row
        as it is right after the write (from column A, at least `reach[tab]` wide).
        `guard` is called once the write's pace slot is held, right before it leaves, and
        raises to keep it back (the cycle's lease is lost)."""
        ...

    def ensure_columns(self, spreadsheet_id: str, title: str, count: int) -> None:
        """Grow a tab's grid to at least `count` columns."""
        ...
