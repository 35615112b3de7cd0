"""The Google identities of a config, and the sheet port that sends each spreadsheet to its own.

An identity is one service account: its credentials, its read and write budget (shared by
every watch it serves) and its cached metadata (`sheet.GoogleSheets`). `SheetRouter` is the
engine's `SheetPort`: it hands each call to the identity that serves the spreadsheet and
counts the reads each spreadsheet took, so the rota can charge a cycle's extra reads to the
next slots.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sheetsync.adapters.google.sheet import GoogleSheets
from sheetsync.adapters.google.writes import Echo
from sheetsync.core.model import CellWrite

T = TypeVar("T")


@dataclass
class Identity:
    """One service account as the scheduler sees it."""

    name: str
    sheets: GoogleSheets
    reads_per_minute: float
    """The reads a minute its rota may spend."""
    limit: str = "reads_per_minute"
    """Where that figure comes from (its own budget, or its share of its project's)."""

    @property
    def label(self) -> str:
        """The name and the account, for logs and `check`."""
        email = self.sheets.client_email
        return email if self.name == email else f"{self.name} ({email})"


class SheetRouter:
    """A `SheetPort` over several identities: each spreadsheet goes to the one serving it."""

    def __init__(self, identities: Sequence[Identity], routes: Mapping[str, str]) -> None:
        self.identities = {i.name: i for i in identities}
        self.routes = dict(routes)
        """spreadsheet id -> identity name; unrouted ids go to the first identity."""
        self._first = identities[0]
        self._reads: Counter[str] = Counter()
        self._lock = threading.Lock()

    def identity(self, spreadsheet_id: str) -> Identity:
        """The identity serving a spreadsheet."""
        name = self.routes.get(spreadsheet_id)
        return self.identities[name] if name is not None else self._first

    def take_reads(self, spreadsheet_id: str) -> int:
        """The Sheets reads a spreadsheet took since the last call (then counts from 0)."""
        with self._lock:
            return self._reads.pop(spreadsheet_id, 0)

    def reads_pending(self, spreadsheet_id: str) -> int:
        """The reads `take_reads` would return now (without resetting them)."""
        with self._lock:
            return self._reads[spreadsheet_id]

    def _count(self, spreadsheet_id: str, reads: int = 1) -> None:
        with self._lock:
            self._reads[spreadsheet_id] += reads

    # -- SheetPort ------------------------------------------------------------------
    def read_tabs(self, spreadsheet_id: str, titles: Sequence[str]) -> dict[str, list[list[str]]]:
        """Every tab's values, in one read of the spreadsheet's identity."""
        self._count(spreadsheet_id)
        return self.identity(spreadsheet_id).sheets.read_tabs(spreadsheet_id, titles)

    def read_tab_columns(
        self,
        spreadsheet_id: str,
        titles: Sequence[str],
        reduce: Callable[[str, Iterator[list[str]]], T],
    ) -> dict[str, T]:
        """Every tab's columns handed to `reduce`, in one read of the spreadsheet's identity."""
        self._count(spreadsheet_id)
        return self.identity(spreadsheet_id).sheets.read_tab_columns(spreadsheet_id, titles, reduce)

    def read_ranges(self, spreadsheet_id: str, ranges: Sequence[str]) -> list[list[list[str]]]:
        """A1 ranges' values, column by column, in one read."""
        self._count(spreadsheet_id)
        return self.identity(spreadsheet_id).sheets.read_ranges(spreadsheet_id, ranges)

    def write_cells(
        self,
        spreadsheet_id: str,
        cells: Mapping[str, Sequence[CellWrite]],
        reach: Mapping[str, int] | None = None,
        guard: Callable[[], None] | None = None,
    ) -> Echo:
        """Cells of several tabs in one batched RAW write; the rows as the write left them."""
        sheets = self.identity(spreadsheet_id).sheets
        return sheets.write_cells(spreadsheet_id, cells, reach, guard)

    def ensure_columns(self, spreadsheet_id: str, title: str, count: int) -> None:
        """Grow a tab's grid (a metadata read, maybe a resize)."""
        self._count(spreadsheet_id)
        self.identity(spreadsheet_id).sheets.ensure_columns(spreadsheet_id, title, count)
