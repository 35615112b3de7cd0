"""One cycle of the watches of one spreadsheet: the sequence of its I/O.

Watches on tabs of one spreadsheet that are due together share every request, so a
cycle with work costs two Sheets reads and at most two writes, whatever the number
of rows and tabs (docs/ARCHITECTURE.md draws it, and names the module of each step):

    read 1   every tab (big tabs: narrowly)   -> layouts, candidates, repairs
    journal  claim candidates                 (durable before the sheet shows them)
    write 1  headers + repairs + claims       (`sending` and the row id)
    per claim the write reached: journal `sending` -> POST /trigger -> journal outcome
    read 2   the tabs that had work           -> rows located by id
    write 2  the journal's projection         (results land where the ids are now)

What each step writes is decided by pure functions (`core.writes`): this module does
their reads in order and executes their answers. Every write's answer shows the rows it
wrote (`writeback`): a claim that missed its row is not sent, and a row hit instead is
put back later (`landing`, `reconcile`). Before read 1, axiom may be asked (never
between read 1 and the claims): run polls, the runtime allowance, the outage gate (then
nothing is claimed). A backlog longer than `flush_seconds` repeats read 2 + write 2
(`backlog`). Tabs of 2,000 rows or more are read narrowly (`narrow`, `reading`).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from sheetsync.adapters.google.port import SheetPort
from sheetsync.adapters.store.protocol import Store
from sheetsync.config import Watch
from sheetsync.core.plan import plan_triggers
from sheetsync.core.report import CycleReport
from sheetsync.cycle.allowance import Allowance, RuntimePort
from sheetsync.cycle.backlog import Backlog
from sheetsync.cycle.claims import Claims
from sheetsync.cycle.flushing import Flusher
from sheetsync.cycle.memory import Memory
from sheetsync.cycle.outcomes import OutcomeLog, rows_seen
from sheetsync.cycle.preparing import Preparer
from sheetsync.cycle.reading import Reads, lean_watches, narrow_plans
from sheetsync.cycle.sending import Sender, TriggerPort
from sheetsync.cycle.state import WatchCycle
from sheetsync.cycle.tenure import Tenure
from sheetsync.cycle.tracking import RunDataPort, Tracker, first_poll
from sheetsync.cycle.unsettled import Unsettled
from sheetsync.cycle.writeback import Writer
from sheetsync.errors import JournalError, LeaseLostError, SheetError

log = logging.getLogger("sheetsync.engine")

FLUSH_SECONDS = 10.0
"""During a long backlog, results are written this often."""

Progress = Callable[[str, int, int], None]
"""`progress(watch, rows_done, rows_total)`, called as triggers complete."""


class AxiomPort(TriggerPort, RunDataPort, RuntimePort, Protocol):
    """Everything a cycle asks axiom: triggers, run polls and the runtime allowance."""


class Engine:
    """Runs cycles of watches against a sheet port, a trigger port and the journal."""

    def __init__(
        self,
        sheets: SheetPort,
        axiom: AxiomPort,
        journal: Store,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        timer: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
        flush_seconds: float = FLUSH_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sheets = sheets
        self.axiom = axiom
        self.journal = journal
        self.now = now
        self.timer = timer
        self.rand = rand
        self.flush_seconds = flush_seconds
        self.sleep = sleep
        """How a backlog waits for pace slots: `timer`'s time must pass in it."""
        self.progress: Progress | None = None
        self.stopping: Callable[[], bool] = lambda: False
        self.tracker = Tracker(axiom, journal, now)
        self.allowance = Allowance(axiom, journal, now)
        self.flusher = Flusher(journal, now)
        self.writer = Writer(sheets, journal, now)
        self.claims = Claims(journal, now, timer)
        self.memory = Memory(journal, now)
        self.preparer = Preparer(journal, now, self.claims, self.memory)
        self.unsettled = Unsettled(journal, now)

    def run_group(self, watches: Sequence[Watch]) -> list[CycleReport]:
        """One cycle of watches on one spreadsheet; a failing watch never stops the others."""
        began = self.timer()
        cycles = [WatchCycle(w, CycleReport(w.name)) for w in watches]
        try:
            self._run(cycles)
        except SheetError as exc:
            for cycle in cycles:
                cycle.report.fail(str(exc), exc.reason)
        except LeaseLostError as exc:  # a peer took the spreadsheet: no problem of this one
            log.info("%s; this cycle stops here, its new holder carries on", exc)
            for cycle in cycles:
                cycle.report.lost = True
        except JournalError as exc:  # the journal: disk full, file damaged, locked too long
            for cycle in cycles:
                cycle.report.fail(str(exc), "journal")
        for cycle in cycles:
            cycle.report.seconds = self.timer() - began
        return [c.report for c in cycles]

    # -- the sequence ------------------------------------------------------------
    def _run(self, cycles: list[WatchCycle]) -> None:
        spreadsheet = cycles[0].watch.spreadsheet_id
        tenure = Tenure(self.journal, spreadsheet)
        tenure.check()  # a spreadsheet this instance does not serve (now): nothing to do
        self.claims.serving(spreadsheet, tenure.epoch)
        self.unsettled.settle({c.watch.name for c in cycles})  # an earlier cycle's lost ends
        for cycle in cycles:  # axiom calls first: nothing may widen the read->claim window
            if cycle.watch.track_runs:
                cycle.report.polled = self.tracker.poll_due(cycle.watch)
            self.allowance.gate(cycle.watch.name)
        paused = not self.axiom.may_trigger()  # probes axiom while its gate is closed
        reads = Reads(self.sheets, spreadsheet)
        watches = [c.watch for c in cycles]
        memory = self.memory
        narrows = narrow_plans(self.journal, watches, memory.plan_text, memory.has_started)
        again = {w.name for w in watches if memory.reprojects(w)}  # kept lean too
        lean = lean_watches(self.journal, watches, narrows, lambda n: memory.lean(n) or n in again)
        self.preparer.prepare_all(cycles, reads.first(watches, narrows, lean), paused)
        ready = [c for c in cycles if c.report.error is None]
        for cycle in ready:
            if cycle.layout is not None and cycle.layout.added:
                self.sheets.ensure_columns(spreadsheet, cycle.watch.worksheet, cycle.layout.width)
        self.writer.write(spreadsheet, ready, tenure.check)
        for cycle in ready:
            self._landed_claims(cycle)
            if not cycle.missed_skips:  # only once the sheet shows the skips: else skip again
                self.memory.mark_started(cycle.watch)
            cycle.view = cycle.found = None  # a big sheet's first read must not live on
        busy = [c for c in ready if c.candidates or c.missed]
        if not busy:
            return
        backlog = Backlog(
            lambda: self._flush(reads, busy, tenure, final=False),
            timer=self.timer,
            sleep=self.sleep,
            every=self.flush_seconds,
            stopping=self.stopping,
        )
        for cycle in busy:
            if cycle.candidates:
                self._send(cycle, backlog, tenure)
        self._flush(reads, busy, tenure, final=True)

    def _landed_claims(self, cycle: WatchCycle) -> None:
        """Only claims the first write put on their own rows are sent; the others stay
        claimed, and the next cycle finds their rows again (or gives them up)."""
        landed = [c for c in cycle.candidates if c.row_id in cycle.landed]
        self.journal.mark_checked(cycle.watch.name, [c.row_id for c in landed])
        if len(landed) < len(cycle.candidates):
            cycle.plans = plan_triggers(landed, cycle.prepared, cycle.watch)
        cycle.candidates = landed
        cycle.missed_skips = bool(cycle.skip_ids - cycle.landed)

    def _send(self, cycle: WatchCycle, backlog: Backlog, tenure: Tenure) -> None:
        watch = cycle.watch
        cycle.report.polled += self.tracker.last_look({p.automation for p in cycle.plans}, watch)
        sender = Sender(watch.name, self.axiom, self.journal, self.now, self.rand)
        sender.stopping, sender.pace_wait = self.stopping, backlog.wait
        sender.guard, sender.unrecorded = tenure.check, self.unsettled.add
        sender.on_outcome = OutcomeLog(
            watch.name, watch.worksheet, rows_seen(cycle.candidates, cycle.entries)
        )
        if watch.track_runs:
            sender.first_poll = lambda now: first_poll(now, watch)
        total = len(cycle.candidates)
        backlog.progress[watch.name] = (0, total)

        def progressed() -> None:
            done = sum(sender.tally.outcomes.values())
            if self.progress is not None:
                self.progress(watch.name, done, total)
            backlog.done(watch.name, done, total)

        sender.send_all(cycle.plans, progressed)
        cycle.report.outcomes = dict(sender.tally.outcomes)
        cycle.report.triggered = sender.tally.sent

    def _flush(
        self, reads: Reads, cycles: list[WatchCycle], tenure: Tenure, *, final: bool
    ) -> None:
        """Read the tabs again and write each watch's projection where its ids are now."""
        self.flusher.prepare(reads, cycles, final=final)
        self.writer.write(reads.spreadsheet, cycles, tenure.check)
        for cycle in cycles:
            cycle.view = cycle.found = None

    def forget(self, unit: str, watches: Sequence[str]) -> None:
        """Drop what this process remembers of a spreadsheet that changed hands; sends it
        failed to record are recorded now (or left for the new holder, see `unsettled`)."""
        try:
            self.unsettled.settle(watches)
        except JournalError as exc:  # kept: the unit's next cycle here tries again
            log.debug("spreadsheet %s: unrecorded sends kept: %s", unit, exc)
        self.claims.forget(unit)
        for name in watches:
            self.memory.forget(name)
            self.preparer.orphans.forget(name)


def group_watches(watches: Sequence[Watch]) -> list[list[Watch]]:
    """Watches that share a spreadsheet and a schedule, cycled together to share requests."""
    groups: dict[tuple[str, str], list[Watch]] = {}
    for watch in watches:
        schedule = watch.cron or f"every {watch.interval}"
        groups.setdefault((watch.spreadsheet_id, schedule), []).append(watch)
    return list(groups.values())
