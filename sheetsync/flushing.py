"""The flush of a group cycle: read the rows again and write each watch's projection.

Results go where the rows' ids are right before the write. A narrow cycle (see
`narrow`) reads only the rows around its claims; if a row it must write is not among
them (people moved or deleted rows meanwhile), its tab is read whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sheetsync.config import Watch
from sheetsync.errors import SheetError
from sheetsync.journal import Journal
from sheetsync.layout import Layout, map_header, trimmed_header
from sheetsync.narrow import NarrowTable, View, window_spans
from sheetsync.overview import written_places
from sheetsync.plan import Candidate, CellWrite, Entry, TriggerPlan, cell
from sheetsync.projection import misplaced_repairs, project
from sheetsync.reading import Reads
from sheetsync.report import CycleReport

log = logging.getLogger("sheetsync.engine")


@dataclass
class WatchCycle:
    """One watch's part of a group cycle."""

    watch: Watch
    report: CycleReport
    layout: Layout | None = None
    candidates: list[Candidate] = field(default_factory=list)
    cells: list[CellWrite] = field(default_factory=list)
    plans: list[TriggerPlan] = field(default_factory=list)
    table: list[Sequence[str]] = field(default_factory=list)
    """The first read's header and the rows around the claimed ones."""
    entries: dict[str, Entry] = field(default_factory=dict)
    verified: list[str] = field(default_factory=list)
    shown: list[Entry] = field(default_factory=list)
    """Entries the next write shows as they are (`Journal.mark_shown`)."""
    places: dict[str, int] = field(default_factory=dict)
    """Row id -> row number of the rows the next write writes to (`written_places`)."""
    narrow: bool = False
    """The first read took only part of the tab (see `narrow`): so does the flush."""
    height: int = 0
    """Rows the first read saw (a flush reads no further: the grid may be no bigger)."""

    @property
    def prepared(self) -> Layout:
        """The layout the first read found: every cycle that reaches a flush has one."""
        if self.layout is None:
            raise AssertionError(f"watch {self.watch.name}: a flush before the first read")
        return self.layout

    @property
    def claimed(self) -> set[str]:
        return {c.row_id for c in self.candidates}

    def spans(self) -> list[tuple[int, int]] | None:
        """The rows a narrow flush reads: around the claimed rows (`None`: the whole tab)."""
        if not self.narrow:
            return None
        return window_spans((c.row_number for c in self.candidates), self.height)


def layout_of(watch: Watch, table: Sequence[Sequence[str]]) -> Layout:
    if not table or not any(cell.strip() for cell in table[0]):
        raise SheetError(
            f"worksheet {watch.worksheet!r} (watch {watch.name}): the first row must be "
            "the header row, and it is empty"
        )
    width = table.width if isinstance(table, NarrowTable) else max(map(len, table))
    return map_header(table[0], watch, width)


class Flusher:
    """Computes a flush's cell writes; the engine writes them."""

    def __init__(self, journal: Journal, now: Callable[[], datetime]) -> None:
        self.journal = journal
        self.now = now

    def cells(
        self, reads: Reads, cycles: list[WatchCycle], *, final: bool
    ) -> dict[str, list[CellWrite]]:
        """Read the tabs again; each tab's writes that put the journal where the ids are."""
        views = reads.again([(c.watch, c.prepared, c.spans()) for c in cycles])
        cells: dict[str, list[CellWrite]] = {}
        again: list[WatchCycle] = []
        for cycle in cycles:
            found = self._cells(cycle, views[cycle.watch.name], final=final)
            if found is None:
                again.append(cycle)
            else:
                cells.setdefault(cycle.watch.worksheet, []).extend(found)
        if again:
            log.info("%d tab(s) changed around the claimed rows; reading them whole", len(again))
            views = reads.whole([c.watch for c in again])
            for cycle in again:
                found = self._cells(cycle, views[cycle.watch.name], final=final)
                cells.setdefault(cycle.watch.worksheet, []).extend(found or [])
        return {t: c for t, c in cells.items() if c}

    def _cells(self, cycle: WatchCycle, view: View, *, final: bool) -> list[CellWrite] | None:
        """One watch's writes from a flush read (`None`: read the tab whole first)."""
        watch = cycle.watch
        table = view.table
        narrow = view.known is not None
        # a narrow cycle's layout adds no column: its header is the header the first read saw
        if narrow and trimmed_header(table[0]) != cycle.prepared.header:
            return None
        layout = cycle.prepared if narrow else layout_of(watch, table)
        # only rows the sheet does not show yet: loading 100,000 entries costs ~1 s
        changed = self.journal.unshown(watch.name, self.now())
        cycle.entries.update(changed)
        entries = cycle.entries
        relocate = cycle.claimed if final else set()
        only = set(changed) | relocate
        rows = sorted(view.known) if view.known is not None else None
        if rows is not None:  # this cycle's rows must be in the windows; others wait (unshown)
            present = {cell(table[n - 1], layout.results["id"]).strip() for n in rows}
            if (only & cycle.claimed) - present:
                return None
            only &= present
        # the first write already made every other row match the journal
        projection = project(table, layout, watch, entries, relocate=relocate, only=only, rows=rows)
        if narrow and (projection.misplaced or projection.missing):
            return None
        undo = misplaced_repairs(table, layout, watch, projection.misplaced, entries, cycle.table)
        if undo:
            log.info(
                "watch %s: %d claim cell(s) landed on rows that moved meanwhile; restored",
                watch.name,
                len(undo),
            )
        cycle.verified = projection.verified
        cycle.shown = [entries[v] for v in projection.shown]
        cycle.places = written_places(table, layout.results["id"], projection.writes + undo)
        for row_id in projection.missing:
            cycle.report.missing += 1
            log.info(
                "watch %s: row %s was deleted before its result could be written; "
                "its outcome stays in the journal",
                watch.name,
                row_id,
            )
            self.journal.note(watch.name, row_id, "deleted", "row left the sheet", self.now())
        return projection.writes + undo
