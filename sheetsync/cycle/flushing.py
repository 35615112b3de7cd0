"""The flush of a group cycle: read the rows again and write each watch's projection.

Results go where the rows' ids are right before the write (the write's answer then
shows whether each reached its row: see `writeback`). A narrow cycle (see `narrow`)
reads only the rows around its claims; if a row it must write is not among them
(people moved or deleted rows meanwhile), its tab is read whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sheetsync.adapters.store.protocol import Store
from sheetsync.config import Watch
from sheetsync.core.landing import Aim, Stray
from sheetsync.core.layout import Layout, trimmed_header
from sheetsync.core.model import Candidate, CellWrite, Entry, TriggerPlan
from sheetsync.core.narrow import window_spans
from sheetsync.core.ownership import Owners
from sheetsync.core.projection import project
from sheetsync.core.report import CycleReport
from sheetsync.core.view import Scan, View, layout_of, scan
from sheetsync.cycle.reading import Reads
from sheetsync.cycle.reconcile import Reconciler

log = logging.getLogger("sheetsync.engine")


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
    # the next write, and the read it was computed from
    cells: list[CellWrite] = field(default_factory=list)
    aims: list[Aim] = field(default_factory=list)
    """What each written row must still hold (see `landing`)."""
    shown: list[Entry] = field(default_factory=list)
    """Entries the sheet shows as they are already (`Store.mark_shown`)."""
    showing: dict[str, Entry] = field(default_factory=dict)
    """Entries the next write shows, once it reached their rows."""
    repairs: dict[int, Stray] = field(default_factory=dict)
    """Rows the next write puts back -> their stray."""
    view: View | None = None
    found: Scan | None = None
    skip_ids: set[str] = field(default_factory=set)
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


class Flusher:
    """Computes a flush's cell writes; the engine writes them."""

    def __init__(self, journal: Store, now: Callable[[], datetime]) -> None:
        self.journal = journal
        self.now = now
        self.reconciler = Reconciler(journal, now)

    def prepare(self, reads: Reads, cycles: list[WatchCycle], *, final: bool) -> None:
        """Read the tabs again; set each cycle's writes that put the journal where the ids are."""
        views = reads.again([(c.watch, c.prepared, c.spans()) for c in cycles])
        again = [c for c in cycles if not self._prepare(c, views[c.watch.name], final=final)]
        if again:
            log.info("%d tab(s) changed around the claimed rows; reading them whole", len(again))
            views = reads.whole([c.watch for c in again])
            for cycle in again:
                self._prepare(cycle, views[cycle.watch.name], final=final)

    def _prepare(self, cycle: WatchCycle, view: View, *, final: bool) -> bool:
        """One watch's writes from a flush read (False: read the tab whole first)."""
        watch = cycle.watch
        table = view.table
        narrow = view.known is not None
        # a narrow cycle's layout adds no column: its header is the header the first read saw
        if narrow and trimmed_header(table[0]) != cycle.prepared.header:
            return False
        layout = cycle.prepared if narrow else layout_of(watch, table)
        # only rows the sheet does not show yet: loading 100,000 entries costs ~1 s
        changed = self.journal.unshown(watch.name, self.now())
        cycle.entries.update(changed)
        entries = cycle.entries
        found = scan(view, layout, watch)
        only = set(changed) | cycle.claimed
        if narrow:  # this cycle's rows must be in the windows; others wait (unshown)
            if (only & cycle.claimed) - set(found.holders):
                return False
            only &= set(found.holders)
        settled = self.reconciler.reconcile(watch, view, layout, found, entries)
        if settled.unsure:
            return False
        # the first write already made every other row match the journal
        rows = sorted(view.known) if view.known is not None else None
        projection = project(
            table, layout, watch, entries, settled.owners, only, rows=rows, known=view.known
        )
        cycle.view, cycle.found = view, found
        cycle.cells = projection.writes + settled.writes
        cycle.aims = projection.aims + settled.aims
        cycle.repairs = settled.repairs
        cycle.shown = [entries[r] for r in projection.shown]
        cycle.showing = {r: entries[r] for r in projection.showing}
        if final:
            self._note_missing(cycle, settled.owners)
        return True

    def _note_missing(self, cycle: WatchCycle, owners: Owners) -> None:
        """This cycle's rows that left the sheet before their result could be written."""
        for row_id in sorted(cycle.claimed):
            if owners.row(row_id) is not None:
                continue
            cycle.report.missing += 1
            log.info(
                "watch %s: row %s was deleted before its result could be written; "
                "its outcome stays in the journal",
                cycle.watch.name,
                row_id,
            )
            self.journal.note(cycle.watch.name, row_id, "deleted", "row left the sheet", self.now())
