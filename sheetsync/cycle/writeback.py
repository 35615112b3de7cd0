"""One batched values write of a group cycle, each row checked by the write's own answer.

Before the write, the aims of its rows are journaled (`expect_answer`): should no answer
come, the next read checks them. The answer shows every written row as the write left
it; a row that is not the one aimed at becomes a stray (`landing`), with what it held in
the read the write was computed from, and is put back by a later write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from sheetsync.adapters.google.port import SheetPort
from sheetsync.adapters.store.protocol import Store
from sheetsync.core.landing import Stray, landed, neighbours, sent
from sheetsync.core.model import CellWrite
from sheetsync.core.projection import desired_cells
from sheetsync.core.strays import Past, as_read, edited, prior_from_entry, stray
from sheetsync.core.writes import Write
from sheetsync.cycle.landings import keep_strays
from sheetsync.cycle.state import WatchCycle
from sheetsync.errors import SheetError, UnsureWriteError

log = logging.getLogger("sheetsync.engine")


class Writer:
    """Writes group cycles' cells and settles what each written row turned out to be."""

    def __init__(self, sheets: SheetPort, journal: Store, now: Callable[[], datetime]) -> None:
        self.sheets = sheets
        self.journal = journal
        self.now = now

    def write(
        self,
        spreadsheet: str,
        cycles: Sequence[WatchCycle],
        guard: Callable[[], None] = lambda: None,
    ) -> None:
        """Write every cycle's `write.cells` in one request, then record per cycle which rows the
        write reached (`WatchCycle.landed`), what it shows, and the rows it hit instead.
        `guard` raises when the cycle may no longer write (its lease is lost: see `tenure`)."""
        if any(cycle.write.cells for cycle in cycles):
            guard()
        cells: dict[str, list[CellWrite]] = {}
        reach: dict[str, int] = {}
        skip: dict[str, dict[int, set[int]]] = {}  # tab -> row -> columns written there
        for cycle in cycles:
            tab = cycle.watch.worksheet
            if cycle.write.cells:
                cells.setdefault(tab, []).extend(cycle.write.cells)
                # the answer must show the inputs and every result cell of the rows
                reach[tab] = max(reach.get(tab, 0), cycle.prepared.width)
            for c in cycle.write.cells:
                skip.setdefault(tab, {}).setdefault(c.row, set()).add(c.col - 1)
        asked = []
        wants: dict[str, dict[int, str]] = {}  # watch -> row -> signature of what it held
        for cycle in cycles:
            rows = skip.get(cycle.watch.worksheet, {})
            layout, view = cycle.prepared, cycle.view
            expected = {
                a.row: e for a in cycle.write.aims if (e := sent(a, layout, rows.get(a.row, ())))
            }
            wants[cycle.watch.name] = {row: e.signature for row, e in expected.items()}
            if expected and view is not None:
                near = neighbours(cycle.write.aims, layout, rows, view.table, view.known)
                self.journal.expect_answer(cycle.watch.name, [*expected.values(), *near])
                asked.append(cycle)
        try:
            echo = self.sheets.write_cells(spreadsheet, cells, reach, guard) if cells else {}
        except UnsureWriteError:
            raise  # the next read checks the rows
        except SheetError:
            for cycle in asked:  # refused: nothing of it was applied
                self.journal.answered(cycle.watch.name)
            raise
        for cycle in cycles:
            tab = cycle.watch.worksheet
            self._settle(cycle, echo.get(tab, {}), skip.get(tab, {}), wants[cycle.watch.name])
            if cycle in asked:
                self.journal.answered(cycle.watch.name)

    def _settle(
        self,
        cycle: WatchCycle,
        echo: dict[int, list[str]],
        skip: dict[int, set[int]],
        wants: dict[int, str],
    ) -> None:
        """What one cycle's written rows turned out to be."""
        watch, layout, write = cycle.watch.name, cycle.prepared, cycle.write
        cycle.report.written += len(write.cells)
        cycle.landed = set()
        put_back: list[Stray] = []
        strays: list[Stray] = []
        view = cycle.view
        if view is None:
            raise AssertionError(f"watch {watch}: a write without its read")
        past = Past(view.table, view.known, layout)
        for target in write.aims:
            got, cols = echo.get(target.row), skip.get(target.row, set())
            if landed(target, got, layout, cols, wants.get(target.row)):
                cycle.landed.add(target.row_id)
                # an emptied row is like any empty row: the next read tells it was put back
                if target.row in write.repairs and target.row_id:
                    put_back.append(write.repairs[target.row])
            elif got is not None:
                found = self._stray(cycle, stray(target, got, layout, cols, past))
                # last resort: the row aimed at, a person having finished typing it
                before = target.before
                if found.prior is None and before and edited(before, got, layout, cols):
                    found = as_read(target, found, layout)
                strays.append(found)
        shown = write.shown + [e for r, e in write.showing.items() if r in cycle.landed]
        places = {a.row_id: a.row for a in write.aims if a.row_id and a.row_id in cycle.landed}
        self.journal.mark_shown(watch, shown, places)
        self.journal.drop_strays(watch, put_back)
        if strays:
            self._keep(cycle, strays)
        cycle.missed = len(strays)
        cycle.write = Write()

    def _stray(self, cycle: WatchCycle, found: Stray) -> Stray:
        """A stray whose past the read did not hold: the journal's row it showed, if the
        read had its id on that row (its own id: left alone by an id-checked write, or
        written over: then the one row with its inputs the read showed)."""
        if found.prior is not None:
            return found
        wrote = dict(found.wrote)
        present = cycle.found.holders if cycle.found is not None else {}
        if "id" not in wrote:
            owners = [found.row_id] if found.row_id in present else []
        else:
            owners = [
                r
                for r in self.journal.ids_with_fingerprint(cycle.watch.name, found.fingerprint)
                if r in present and r != found.row_id
            ]
        if len(owners) != 1:
            return found
        entry = self.journal.entries_needed(cycle.watch.name, self.now(), owners).get(owners[0])
        if entry is None or entry.state == "foreign":  # a person's cells: the journal lacks them
            return found
        return prior_from_entry(found, owners[0], desired_cells(entry, cycle.watch))

    def _keep(self, cycle: WatchCycle, strays: list[Stray]) -> None:
        """Journal new strays (a row hit twice keeps what it held before the first hit)."""
        keep_strays(self.journal, cycle.watch.name, strays, self.now())
        log.warning(
            "watch %s: %d written row(s) had moved before the write reached them; "
            "the rows hit instead are put back",
            cycle.watch.name,
            len(strays),
        )
