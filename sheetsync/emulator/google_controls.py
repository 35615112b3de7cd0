"""The Google emulator's test controls, as a mixin of `GoogleEmulator`: what a test reads
between two API calls (request counters, quota rejections) and what it turns (expired
tokens, denied spreadsheets).
"""

from __future__ import annotations

import collections
import threading
from typing import Any

from sheetsync.emulator.google_api import READ_METHODS, WRITE_METHODS
from sheetsync.emulator.google_auth import Grant
from sheetsync.emulator.google_quota import Meter

CELLS_READ = "values.cells"
"""Counter key: cells answered by `values:batchGet` (not a request method)."""
RANGES_READ = "values.ranges"
"""Counter key: ranges answered by `values:batchGet`."""


class ControlsMixin:
    """Counters and switches; needs `lock`, `tokens`, `meter` and the counters."""

    lock: threading.RLock
    tokens: dict[str, Grant]
    meter: Meter
    _denied: set[str]
    _counts: collections.Counter[str]
    _user_reads: collections.Counter[str]

    @property
    def quota_rejections(self) -> int:
        """Requests refused with a 429 for a quota, since the start or the last reset."""
        return self.meter.rejections

    def expire_tokens(self) -> None:
        """Invalidate every issued token: the next API call gets a 401 (clients refresh)."""
        with self.lock:
            self.tokens.clear()

    def deny(self, spreadsheet_id: str, denied: bool = True) -> None:
        """Make a spreadsheet answer 403 PERMISSION_DENIED (Drive: 404), or allow it again."""
        with self.lock:
            if denied:
                self._denied.add(spreadsheet_id)
            else:
                self._denied.discard(spreadsheet_id)

    def count(self, method: str) -> int:
        """How many requests for `method` (e.g. "values.batchGet") passed authentication."""
        with self.lock:
            return self._counts[method]

    def reads(self, client_email: str | None = None) -> int:
        """Sheets read requests so far (of one service account, when given; Drive and
        token calls not included)."""
        with self.lock:
            if client_email is not None:
                return self._user_reads[client_email]
            return sum(self._counts[m] for m in READ_METHODS)

    def writes(self) -> int:
        """Sheets write requests so far."""
        with self.lock:
            return sum(self._counts[m] for m in WRITE_METHODS)

    def count_cells(self, value_ranges: list[dict[str, Any]]) -> None:
        """Count the cells (and ranges) a `values:batchGet` answers (under the lock)."""
        cells = sum(len(line) for vr in value_ranges for line in vr.get("values", []))
        self._counts[CELLS_READ] += cells
        self._counts[RANGES_READ] += len(value_ranges)

    def cells_read(self) -> int:
        """Cells `values:batchGet` answered so far (trailing empties trimmed, as sent)."""
        with self.lock:
            return self._counts[CELLS_READ]

    def ranges_read(self) -> int:
        """Ranges `values:batchGet` answered so far."""
        with self.lock:
            return self._counts[RANGES_READ]

    def reset_counters(self) -> None:
        """Zero the per-method counters, quota windows and quota rejections."""
        with self.lock:
            self._counts.clear()
            self._user_reads.clear()
            self.meter.clear()
