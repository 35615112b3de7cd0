"""Read 1's decisions for each watch of a group cycle, in their I/O order: owners and
strays (`reconcile`), live claims (`claims`), skips (`skipping`), then the pure choices of
`core.plan` and `core.writes` (what goes; what the first write claims, repairs, skips and
writes). The engine writes it; `flushing` does the same for read 2.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sheetsync.adapters.store.protocol import Store
from sheetsync.config import Watch
from sheetsync.core.headers import HeaderWarnings
from sheetsync.core.landing import aims
from sheetsync.core.layout import Layout
from sheetsync.core.model import Candidate, CellWrite, Entry
from sheetsync.core.narrow import NARROW_FROM_ROWS, needs_inputs, next_plan
from sheetsync.core.plan import find_candidates
from sheetsync.core.projection import project_first
from sheetsync.core.report import CycleReport
from sheetsync.core.reprojection import Reprojection, reproject
from sheetsync.core.view import Scan, View, layout_of
from sheetsync.core.writes import Selection, first_write, select
from sheetsync.cycle.claims import Claims
from sheetsync.cycle.memory import Memory
from sheetsync.cycle.misses import Misses
from sheetsync.cycle.orphans import Orphans
from sheetsync.cycle.reconcile import Reconciled, Reconciler
from sheetsync.cycle.skipping import Skipper, skip_cells
from sheetsync.cycle.state import WatchCycle
from sheetsync.errors import SheetError


class Preparer:
    """Decides each watch's first write from its first read, and commits its claims."""

    def __init__(
        self, journal: Store, now: Callable[[], datetime], claims: Claims, memory: Memory
    ) -> None:
        self.journal = journal
        self.now = now
        self.claims = claims
        self.memory = memory
        self.headers = HeaderWarnings()
        self.reconciler = Reconciler(journal, now, Misses(journal, now))
        self.orphans = Orphans(journal, now)
        self.skipper = Skipper(journal, now)

    def prepare_all(
        self, cycles: list[WatchCycle], views: dict[str, View | SheetError], paused: bool
    ) -> None:
        """Each watch's part of the first write, from its first read (or why it failed)."""
        for cycle in cycles:
            view = views[cycle.watch.name]
            if isinstance(view, SheetError):
                cycle.report.fail(str(view), view.reason)
            elif cycle.report.error is None:
                try:
                    self._prepare(cycle, view, paused)
                except SheetError as exc:
                    cycle.report.fail(str(exc), exc.reason)

    def _entries(
        self, watch: Watch, view: View, found: Scan, redo: Reprojection | None
    ) -> dict[str, Entry]:
        """The journal's entries a cycle needs: every row's after a whole read; after a
        narrow one, those of the open rows (they may be new), of the rows read whole and
        of the rows a re-projection found different (they are projected)."""
        if view.known is None:
            return self.journal.entries(watch.name, self.now())
        ids = found.ids_on(found.open_rows) | found.ids_on(view.known)
        return self.journal.entries_needed(watch.name, self.now(), ids | differ(redo))

    def _reprojection(
        self, watch: Watch, view: View, layout: Layout, found: Scan, again: bool
    ) -> Reprojection | None:
        """A lean first read after a takeover (`Memory.reprojects`, `again`) compared with
        the journal's results; `None` for any other read."""
        if not again or not view.adoptable or view.columns is None:
            return None
        pages = self.journal.result_pages(watch.name)
        return reproject(pages, view.columns, layout, watch, found)

    def _prepare(self, cycle: WatchCycle, view: View, paused: bool) -> None:
        """Read 1's decisions for one watch, in their I/O order; the first write's (what to
        claim, repair, skip and write) is `core.writes.first_write`. The claims are
        committed to the journal here (none while `paused`: the outage gate is closed)."""
        watch, report, table = cycle.watch, cycle.report, view.table
        layout = layout_of(watch, table)
        # a first read keeps whole the first row with data under no header (`first_read`)
        self.headers.see(watch, table, layout, data=view.known is None or view.adoptable)
        report.seen = len(table) - 1
        again = self.memory.reprojects(watch)
        found = self.memory.scan(view, layout, watch)
        redo = self._reprojection(watch, view, layout, found, again)
        # after the comparison: one that failed midway is made again by the next cycle
        self.memory.small[watch.name] = len(table) < NARROW_FROM_ROWS
        entries = self._entries(watch, view, found, redo)
        unknown = redo.unknown if redo is not None else None
        whole_next = not self.orphans.notice(watch, view, layout, found, entries, unknown)
        settled = self.reconciler.reconcile(watch, view, layout, found, entries)
        candidates, skips = self._candidates(watch, view, layout, found, entries, settled)
        report.skipped = len(skips) // 2
        going = self._select(watch, layout, candidates, report, paused)
        projection = project_first(
            view, layout, watch, entries, found, settled.owners, differ(redo)
        )
        decided = first_write(
            watch, layout, table, entries, going.chosen, projection, settled.put_back, skips
        )
        cycle.layout, cycle.narrow, cycle.height = layout, view.known is not None, len(table)
        cycle.entries, cycle.view, cycle.found = entries, view, found
        cycle.candidates, cycle.plans = decided.claims, going.plans
        cycle.write, cycle.skip_ids = decided.write, decided.skip_ids
        report.new = len(decided.claims)
        needed = sorted(settled.unread.union(needs_inputs(found, entries)))
        plan = next_plan(table, layout, watch, needed)
        self.memory.save_plan(watch, None if whole_next else plan)
        self.claims.commit(watch, decided.claims)

    def _candidates(
        self,
        watch: Watch,
        view: View,
        layout: Layout,
        found: Scan,
        entries: dict[str, Entry],
        settled: Reconciled,
    ) -> tuple[list[Candidate], list[CellWrite]]:
        """The rows that may go (`find_candidates`) once live claims screened them, and the
        skips of `start_from = "now"`."""
        table, owners = view.table, settled.owners
        pending = self.claims.give_up_lost(watch, owners, entries)
        skips: list[CellWrite] = []
        whole = sorted(view.known) if view.known is not None else None
        if watch.start_from == "now" and not self.memory.has_started(watch):
            skips = self.skipper.existing(watch, view, layout, entries, found, owners)
        skipped_rows = {w.row for w in skips}
        candidates = find_candidates(table, layout, watch, entries, owners, whole)
        candidates = [c for c in candidates if c.row_number not in skipped_rows]
        candidates, relabel = self.claims.screen(watch, candidates, pending, table, layout, owners)
        settled.writes += relabel  # a late claim write's row takes its live claim's id
        settled.aims += aims(relabel, table, layout)
        if watch.start_from == "now":
            candidates, again = self.skipper.returning(watch, candidates, found)
            skips += skip_cells(watch, layout, again)
        return candidates, skips

    def _select(
        self,
        watch: Watch,
        layout: Layout,
        candidates: list[Candidate],
        report: CycleReport,
        paused: bool,
    ) -> Selection:
        """The rows that go (`core.writes.select`), with the runs in flight it needs."""
        busy = watch.max_in_flight is not None and not paused
        in_flight = self.journal.in_flight(watch.name) if busy else 0
        seen = self.memory.first_seen.get(watch.name, {})
        going = select(
            candidates, layout, watch, seen, self.now(), in_flight=in_flight, paused=paused
        )
        self.memory.first_seen[watch.name] = going.first_seen
        report.settling, report.paused, report.held = going.settling, going.paused, going.held
        return going


def differ(redo: Reprojection | None) -> set[str]:
    """The ids a re-projection found showing other results (none without one)."""
    return redo.differ if redo is not None else set()
