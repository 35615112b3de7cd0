"""One cycle of the watches of one spreadsheet: the only code that sequences I/O.

Watches on tabs of one spreadsheet that are due together share every request, so a
cycle with work costs two Sheets reads and at most two writes, whatever the number
of rows and tabs:

    read 1   every tab (big tabs: narrowly)   -> layouts, candidates, repairs
    journal  claim candidates                 (durable before the sheet shows them)
    write 1  headers + repairs + claims       (`sending` and the row id)
    per claim the write reached: journal `sending` -> POST /trigger -> journal outcome
    read 2   the tabs that had work           -> rows located by id
    write 2  the journal's projection         (results land where the ids are now)

Every write's answer shows the rows it wrote (`writeback`): a claim that missed its row
(people moved rows in between) is not sent, and a row hit instead is put back later
(`landing`, `reconcile`); a cycle whose first write missed rows flushes to do so.

Before read 1, axiom may be asked (never between read 1 and the claims): /run-data for
tracked runs whose poll is due, /remaining-runtime for rows waiting on the quota, and
/list-automations while the key's outage gate is closed (see `outage`: then nothing is
claimed, and new and `waiting` rows stay as they are). Their answers land in the
journal and reach the sheet through the projection.

An idle cycle is read 1 alone. A backlog that takes longer than `flush_seconds` to
send repeats read 2 + write 2 every `flush_seconds`, also while triggers wait for pace
slots (see `backlog`), so the sheet shows progress; a stop request ends those waits.

Tabs of 2,000 rows or more are read narrowly (`narrow`, `reading`): read 1 takes the
header, the status and id columns and only the rows that need their inputs; read 2
(`flushing`) only the rows around the claims. Anything unusual reads a tab whole.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from sheetsync.adapters.google.sheet import SheetPort
from sheetsync.adapters.store.overview import preview
from sheetsync.adapters.store.protocol import Store
from sheetsync.config import Watch
from sheetsync.core import narrow
from sheetsync.core.headers import HeaderWarnings
from sheetsync.core.landing import aims
from sheetsync.core.layout import Layout
from sheetsync.core.narrow import (
    ReadPlan,
    Scan,
    View,
    needs_inputs,
    next_plan,
    scan,
)
from sheetsync.core.plan import (
    Candidate,
    CellWrite,
    Entry,
    Projection,
    find_candidates,
    plan_triggers,
    settle,
    take_slots,
)
from sheetsync.core.projection import claim_aims, header_writes, project_first
from sheetsync.core.report import CycleReport
from sheetsync.cycle.allowance import Allowance, RuntimePort
from sheetsync.cycle.backlog import Backlog
from sheetsync.cycle.claims import Claims
from sheetsync.cycle.flushing import Flusher, WatchCycle, layout_of
from sheetsync.cycle.orphans import Orphans
from sheetsync.cycle.outcomes import OutcomeLog, rows_seen
from sheetsync.cycle.reading import Reads, lean_watches, narrow_plans
from sheetsync.cycle.reconcile import Reconciled, Reconciler
from sheetsync.cycle.sending import Sender, TriggerPort
from sheetsync.cycle.skipping import Skipper, skip_cells
from sheetsync.cycle.tenure import Tenure
from sheetsync.cycle.tracking import RunDataPort, Tracker, first_poll
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
        self.headers = HeaderWarnings()
        self.writer = Writer(sheets, journal, now)
        self.reconciler = Reconciler(journal, now)
        self.orphans = Orphans(journal, now)
        self.skipper = Skipper(journal, now)
        self.claims = Claims(journal, now, timer)
        self._started: set[str] = set()
        self._small: dict[str, bool] = {}
        """Watches read since this process took their spreadsheet -> whether the last read
        found the tab small (then it is read whole, decoded at once)."""
        self._plans: dict[str, str | None] = {}
        """Each watch's saved read plan, as last read or written."""
        self._first_seen: dict[str, dict[str, datetime]] = {}
        """`settle_seconds`: per watch, when each new row's current look was first read."""

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
        for cycle in cycles:  # axiom calls first: nothing may widen the read->claim window
            if cycle.watch.track_runs:
                cycle.report.polled = self.tracker.poll_due(cycle.watch)
            self.allowance.gate(cycle.watch.name)
        paused = not self.axiom.may_trigger()  # probes axiom while its gate is closed
        reads = Reads(self.sheets, spreadsheet)
        watches = [c.watch for c in cycles]
        narrows = narrow_plans(self.journal, watches, self._plan_text, self._has_started)
        lean = lean_watches(self.journal, watches, narrows, self._lean)
        self._prepare_all(cycles, reads.first(watches, narrows, lean), paused)
        ready = [c for c in cycles if c.report.error is None]
        for cycle in ready:
            if cycle.layout is not None and cycle.layout.added:
                self.sheets.ensure_columns(spreadsheet, cycle.watch.worksheet, cycle.layout.width)
        self.writer.write(spreadsheet, ready, tenure.check)
        for cycle in ready:
            self._landed_claims(cycle)
            if not cycle.missed_skips:  # only once the sheet shows the skips: else skip again
                self._mark_started(cycle.watch)
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

    def _prepare_all(
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

    def _landed_claims(self, cycle: WatchCycle) -> None:
        """Only claims the first write put on their own rows are sent; the others stay
        claimed, and the next cycle finds their rows again (or gives them up)."""
        landed = [c for c in cycle.candidates if c.row_id in cycle.landed]
        self.journal.mark_checked(cycle.watch.name, [c.row_id for c in landed])
        if len(landed) < len(cycle.candidates):
            cycle.plans = plan_triggers(landed, cycle.prepared, cycle.watch)
        cycle.candidates = landed
        cycle.missed_skips = bool(cycle.skip_ids - cycle.landed)

    def _entries(self, watch: Watch, view: View, found: Scan) -> dict[str, Entry]:
        """The journal's entries a cycle needs: every row's after a whole read; after a
        narrow one, those of the open rows (they may be new) and of the rows read whole
        (they are projected)."""
        if view.known is None:
            return self.journal.entries(watch.name, self.now())
        ids = found.ids_on(found.open_rows) | found.ids_on(view.known)
        return self.journal.entries_needed(watch.name, self.now(), ids)

    def _prepare(self, cycle: WatchCycle, view: View, paused: bool) -> None:
        """Decide a watch's claims and repairs and commit the claims to the journal
        (none while `paused`: the key's outage gate is closed)."""
        watch, report, table = cycle.watch, cycle.report, view.table
        layout = layout_of(watch, table)
        cycle.layout, cycle.narrow = layout, view.known is not None
        # a first read keeps whole the first row with data under no header (`first_read`)
        self.headers.see(watch, table, layout, data=not cycle.narrow or view.adoptable)
        report.seen, cycle.height = len(table) - 1, len(table)
        self._small[watch.name] = len(table) < narrow.NARROW_FROM_ROWS
        found = scan(view, layout, watch)
        entries = self._entries(watch, view, found)
        whole_next = not self.orphans.notice(watch, view, layout, found, entries)
        settled = self.reconciler.reconcile(watch, view, layout, found, entries)
        pending = self.claims.give_up_lost(watch, settled.owners, entries)
        skips: list[CellWrite] = []
        whole = sorted(view.known) if view.known is not None else None
        if watch.start_from == "now" and not self._has_started(watch):
            skips = self.skipper.existing(watch, view, layout, entries, found, settled.owners)
        skipped_rows = {w.row for w in skips}
        candidates = [
            c
            for c in find_candidates(table, layout, watch, entries, settled.owners, whole)
            if c.row_number not in skipped_rows
        ]
        candidates, relabel = self.claims.screen(
            watch, candidates, pending, table, layout, settled.owners
        )
        settled.writes += relabel  # a late claim write's row takes its live claim's id
        settled.aims += aims(relabel, table, layout)
        if watch.start_from == "now":
            candidates, again = self.skipper.returning(watch, candidates, found)
            skips += skip_cells(watch, layout, again)
        report.skipped = len(skips) // 2
        cycle.candidates = self._select(cycle, layout, candidates, paused)
        cycle.entries, cycle.view, cycle.found = entries, view, found
        projection = project_first(view, layout, watch, entries, found, settled.owners)
        self._first_write(cycle, projection, settled, skips)
        candidates = cycle.candidates
        report.new = len(candidates)
        needed = sorted(settled.unread.union(needs_inputs(found, entries)))
        plan = next_plan(table, layout, watch, needed)
        self._save_plan(watch, None if whole_next else plan)
        self._claim(watch, candidates)

    def _claim(self, watch: Watch, candidates: Sequence[Candidate]) -> None:
        """Commit the claims of a watch's new rows: before the sheet shows them."""
        if candidates:
            self.journal.claim(
                watch.name,
                [(c.row_id, c.fingerprint, c.automation) for c in candidates],
                self.now(),
                [(c.row_id, c.row_number, preview(c.inputs)) for c in candidates],
            )

    @staticmethod
    def _first_write(
        cycle: WatchCycle, projection: Projection, settled: Reconciled, skips: list[CellWrite]
    ) -> None:
        """The cells of a watch's first write and what each written row must hold."""
        layout, table, entries = cycle.prepared, cycle.table, cycle.entries
        claimed_rows = {c.row_number for c in cycle.candidates}
        claimed_ids = cycle.claimed
        claims, claimed = claim_aims(cycle.candidates, table, layout, cycle.watch)
        # rows claimed now are shown only once the flush found them on their row
        cycle.shown = [entries[v] for v in projection.shown if v not in claimed_ids]
        cycle.showing = {v: entries[v] for v in projection.showing if v not in claimed_ids}
        cycle.repairs = settled.repairs
        cycle.skip_ids = {w.value for w in skips if w.col == layout.results["id"] + 1}
        repairs = [w for w in projection.writes if w.row not in claimed_rows]
        cycle.cells = header_writes(layout) + skips + settled.writes + repairs + claims
        cycle.aims = [
            *aims(skips, table, layout),
            *settled.aims,
            *(a for a in projection.aims if a.row not in claimed_rows),
            *claimed,
        ]

    def _plan_text(self, watch: Watch) -> str | None:
        """A watch's saved read plan, read from the journal once (this process owns it)."""
        if watch.name not in self._plans:
            self._plans[watch.name] = self.journal.read_plan(watch.name)
        return self._plans[watch.name]

    def _save_plan(self, watch: Watch, plan: ReadPlan | None) -> None:
        """Keep the next cycle's read plan when it changed."""
        text = plan.dumps() if plan is not None else None
        if text != self._plan_text(watch):
            self.journal.save_plan(watch.name, text)
            self._plans[watch.name] = text

    def _select(
        self, cycle: WatchCycle, layout: Layout, candidates: list[Candidate], paused: bool
    ) -> list[Candidate]:
        """Hold back rows still settling, triggers beyond `max_in_flight` and (`paused`)
        every row; plan the rest."""
        watch = cycle.watch
        seen = self._first_seen.get(watch.name, {})
        settled, self._first_seen[watch.name] = settle(
            candidates, seen, self.now(), watch.settle_seconds
        )
        cycle.report.settling = len(candidates) - len(settled)
        if paused:
            cycle.report.paused = len(settled)
            return []
        plans = plan_triggers(settled, layout, watch)
        if watch.max_in_flight is not None:
            in_flight = self.journal.in_flight(watch.name)
            plans = take_slots(plans, in_flight, watch.max_in_flight)
        cycle.plans = plans
        going = {row_id for plan in plans for row_id in plan.row_ids}
        chosen = [c for c in settled if c.row_id in going]
        cycle.report.held = len(settled) - len(chosen)
        return chosen

    def _send(self, cycle: WatchCycle, backlog: Backlog, tenure: Tenure) -> None:
        watch = cycle.watch
        cycle.report.polled += self.tracker.last_look({p.automation for p in cycle.plans}, watch)
        sender = Sender(watch.name, self.axiom, self.journal, self.now, self.rand)
        sender.stopping, sender.pace_wait = self.stopping, backlog.wait
        sender.guard = tenure.check
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
        """Drop what this process remembers of a spreadsheet that changed hands."""
        self.claims.forget(unit)
        for name in watches:
            self._plans.pop(name, None)
            self._small.pop(name, None)
            self._started.discard(name)
            self._first_seen.pop(name, None)
            self.orphans.forget(name)

    # -- first cycles ------------------------------------------------------------
    def _lean(self, name: str) -> bool:
        """Whether a whole read of this watch's tab is kept as `first_read` says: on its
        first cycle ever (or with a lost journal), or once this process served it and found
        it big; not on the first cycle after a takeover, which projects every row again."""
        if name in self._small:
            return not self._small[name]
        return not self.journal.has_started(name)

    def _has_started(self, watch: Watch) -> bool:
        return watch.name in self._started or self.journal.has_started(watch.name)

    def _mark_started(self, watch: Watch) -> None:
        if watch.name not in self._started:
            if not self.journal.has_started(watch.name):
                self.journal.mark_started(watch.name, self.now())
            self._started.add(watch.name)


def group_watches(watches: Sequence[Watch]) -> list[list[Watch]]:
    """Watches that share a spreadsheet and a schedule, cycled together to share requests."""
    groups: dict[tuple[str, str], list[Watch]] = {}
    for watch in watches:
        schedule = watch.cron or f"every {watch.interval}"
        groups.setdefault((watch.spreadsheet_id, schedule), []).append(watch)
    return list(groups.values())
