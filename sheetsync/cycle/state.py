"""One watch's part of a group cycle: what its first read found, what it sends, and the
next write as the last pure decision returned it (`core.writes`). See docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sheetsync.config import Watch
from sheetsync.core.layout import Layout
from sheetsync.core.model import Candidate, Entry, TriggerPlan
from sheetsync.core.narrow import window_spans
from sheetsync.core.report import CycleReport
from sheetsync.core.view import Scan, View
from sheetsync.core.writes import Write


@dataclass
class WatchCycle:
    """One watch's part of a group cycle."""

    watch: Watch
    report: CycleReport
    layout: Layout | None = None
    candidates: list[Candidate] = field(default_factory=list)
    plans: list[TriggerPlan] = field(default_factory=list)
    entries: dict[str, Entry] = field(default_factory=dict)
    narrow: bool = False
    """The first read took only part of the tab (see `narrow`): so does the flush."""
    height: int = 0
    """Rows the first read saw (a flush reads no further: the grid may be no bigger)."""
    write: Write = field(default_factory=Write)
    """The next write (a decision of `core.writes`); `writeback` executes and clears it."""
    view: View | None = None
    """The read the next write was decided from."""
    found: Scan | None = None
    skip_ids: frozenset[str] = frozenset()
    """Ids of rows the first write marks `skipped` (`start_from = "now"`)."""
    missed_skips: bool = False
    # what the last write did
    landed: set[str] = field(default_factory=set)
    """Ids whose rows the last write reached."""
    missed: int = 0
    """Rows the last write hit instead of the ones it aimed at."""

    @property
    def prepared(self) -> Layout:
        """The layout the first read found: every cycle that reaches a flush has one."""
        if self.layout is None:
            raise AssertionError(f"watch {self.watch.name}: a flush before the first read")
        return self.layout

    @property
    def table(self) -> Sequence[Sequence[str]]:
        """The rows of the read the next write is computed from."""
        if self.view is None:
            raise AssertionError(f"watch {self.watch.name}: a write without its read")
        return self.view.table

    @property
    def claimed(self) -> set[str]:
        return {c.row_id for c in self.candidates}

    def spans(self) -> list[tuple[int, int]] | None:
        """The rows a narrow flush reads: around the claimed rows (`None`: the whole tab)."""
        if not self.narrow:
            return None
        return window_spans((c.row_number for c in self.candidates), self.height)
