"""The flush of a group cycle: read the rows again and write each watch's projection.

Results go where the rows' ids are right before the write (the write's answer then
shows whether each reached its row: see `writeback`). A narrow cycle (see `narrow`)
reads only the rows around its claims; if a row it must write is not among them
(people moved or deleted rows meanwhile), its tab is read whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sheetsync.adapters.store.protocol import Store
from sheetsync.core.ownership import Owners
from sheetsync.core.projection import project
from sheetsync.core.view import View
from sheetsync.core.writes import ReadWhole, flush_scope, flush_write, header_moved
from sheetsync.cycle.reading import Reads
from sheetsync.cycle.reconcile import Reconciler
from sheetsync.cycle.state import WatchCycle

log = logging.getLogger("sheetsync.engine")


class Flusher:
    """Computes a flush's cell writes; the engine writes them."""

    def __init__(self, journal: Store, now: Callable[[], datetime]) -> None:
        self.journal = journal
        self.now = now
        self.reconciler = Reconciler(journal, now)

    def prepare(self, reads: Reads, cycles: list[WatchCycle], *, final: bool) -> None:
        """Read the tabs again; set each cycle's writes that put the journal where the ids are."""
        views = reads.again([(c.watch, c.prepared, c.spans()) for c in cycles])
        why = {c.watch.name: self._prepare(c, views[c.watch.name], final=final) for c in cycles}
        again = [c for c in cycles if why[c.watch.name] is not None]
        if again:
            log.info("%d tab(s) changed around the claimed rows; reading them whole", len(again))
            views = reads.whole([c.watch for c in again])
            for cycle in again:
                self._prepare(cycle, views[cycle.watch.name], final=final)

    def _prepare(self, cycle: WatchCycle, view: View, *, final: bool) -> ReadWhole | None:
        """Decide one watch's write from a flush read (`core.writes`), or why to read whole."""
        watch = cycle.watch
        moved = header_moved(view, cycle.prepared)  # before the journal is read, as ever
        if moved is not None:
            return moved
        # only rows the sheet does not show yet: loading 100,000 entries costs ~1 s
        changed = self.journal.unshown(watch.name, self.now())
        cycle.entries.update(changed)
        entries = cycle.entries
        scope = flush_scope(view, cycle.prepared, watch, set(changed), cycle.claimed)
        if isinstance(scope, ReadWhole):
            return scope
        settled = self.reconciler.reconcile(watch, view, scope.layout, scope.found, entries)
        if settled.unsure:
            return ReadWhole("a stray's rows were not read whole")
        # the first write already made every other row match the journal
        rows = sorted(view.known) if view.known is not None else None
        projection = project(
            view.table,
            scope.layout,
            watch,
            entries,
            settled.owners,
            scope.only,
            rows=rows,
            known=view.known,
        )
        cycle.view, cycle.found = view, scope.found
        cycle.write = flush_write(entries, projection, settled.put_back)
        if final:
            self._note_missing(cycle, settled.owners)
        return None

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
