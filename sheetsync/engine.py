"""One cycle of one watch: the only code that sequences sheet, journal and axiom I/O.

A cycle with work costs exactly two Sheets reads and at most two writes, whatever the
number of rows:

    read 1   the tab                      -> layout, candidates, repairs
    journal  claim candidates             (durable before the sheet shows them)
    write 1  headers + repairs + claims   (`sending` and the row id)
    per trigger: journal `sending` -> POST /trigger -> journal outcome
    read 2   the tab again                -> rows located by id
    write 2  the journal's projection     (results land where the ids are now)

An idle cycle is read 1 alone.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sheetsync.config import Watch
from sheetsync.errors import SheetError
from sheetsync.journal import Journal, Outcome
from sheetsync.plan import (
    CellWrite,
    Entry,
    Layout,
    TriggerPlan,
    claim_writes,
    find_candidates,
    header_writes,
    map_header,
    pad,
    plan_triggers,
    project,
    waiting_delay,
)
from sheetsync.sheet import SheetPort

log = logging.getLogger("sheetsync.engine")


class TriggerResult(Protocol):
    """What a trigger attempt returns (see `sheetsync.axiom.TriggerOutcome`)."""

    @property
    def status(self) -> str: ...
    @property
    def link(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def reason(self) -> str: ...


class TriggerPort(Protocol):
    """What the engine needs from axiom."""

    def trigger(self, name: str, data: list[Any] | None) -> TriggerResult:
        """Start one run; never raises for HTTP or network trouble."""
        ...


@dataclass
class CycleReport:
    """What one cycle of one watch did, for logs, `once` and STATUS=."""

    watch: str
    seen: int = 0
    new: int = 0
    triggered: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    written: int = 0
    missing: int = 0
    skipped: int = 0
    seconds: float = 0.0
    error: str | None = None

    def line(self) -> str:
        """The one INFO line per cycle."""
        parts = [
            f"watch {self.watch}: {self.seen} rows seen, {self.new} new, {self.triggered} triggered"
        ]
        parts += [
            f"{n} {state}" for state, n in sorted(self.outcomes.items()) if state != "triggered"
        ]
        if self.skipped:
            parts.append(f"{self.skipped} skipped (start_from = now)")
        if self.missing:
            parts.append(f"{self.missing} deleted before their result was written")
        return ", ".join(parts) + f" in {self.seconds:.2f}s"


class Engine:
    """Runs cycles of watches against a sheet port, a trigger port and the journal."""

    def __init__(
        self,
        sheets: SheetPort,
        axiom: TriggerPort,
        journal: Journal,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        timer: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.sheets = sheets
        self.axiom = axiom
        self.journal = journal
        self.now = now
        self.timer = timer
        self.rand = rand
        self._started: set[str] = set()

    def run_cycle(self, watch: Watch) -> CycleReport:
        """One cycle of a watch; errors are caught into the report (other watches go on)."""
        report = CycleReport(watch.name)
        began = self.timer()
        try:
            self._cycle(watch, report)
        except SheetError as exc:
            report.error = str(exc)
        report.seconds = self.timer() - began
        return report

    def _read(self, watch: Watch) -> tuple[list[list[str]], Layout]:
        table = self.sheets.read_tabs(watch.spreadsheet_id, [watch.worksheet])[watch.worksheet]
        if not table or not any(cell.strip() for cell in table[0]):
            raise SheetError(
                f"worksheet {watch.worksheet!r} (watch {watch.name}): the first row must be "
                "the header row, and it is empty"
            )
        return table, map_header(table[0], watch)

    def _cycle(self, watch: Watch, report: CycleReport) -> None:
        table, layout = self._read(watch)
        report.seen = len(table) - 1
        entries = self.journal.entries(watch.name, self.now())
        skips: list[CellWrite] = []
        if watch.start_from == "now" and not self._has_started(watch):
            skips = self._skip_existing(watch, table, layout, entries)
            report.skipped = len(skips) // 2
            entries = self.journal.entries(watch.name, self.now())
        skipped_rows = {w.row for w in skips}
        candidates = [
            c
            for c in find_candidates(table, layout, watch, entries)
            if c.row_number not in skipped_rows
        ]
        self._abandon_lost_claims(watch, table, layout, entries)
        self._mark_started(watch)
        report.new = len(candidates)
        claimed = {c.row_id for c in candidates}
        repairs = [
            w
            for w in project(table, layout, watch, entries).writes
            if w.row not in {c.row_number for c in candidates}
        ]
        cells = header_writes(layout) + skips + repairs + claim_writes(candidates, layout, watch)
        if cells:
            self.journal.claim(
                watch.name,
                [(c.row_id, c.fingerprint, c.automation) for c in candidates],
                self.now(),
            )
            if layout.added:
                self.sheets.ensure_columns(watch.spreadsheet_id, watch.worksheet, layout.width)
            self.sheets.write_cells(watch.spreadsheet_id, {watch.worksheet: cells})
            report.written += len(cells)
        if not candidates:
            return
        self._send(watch, plan_triggers(candidates, layout, watch), report)
        table, layout = self._read(watch)
        entries = self.journal.entries(watch.name, self.now())
        projection = project(table, layout, watch, entries, relocate=claimed)
        for row_id in projection.missing:
            report.missing += 1
            log.warning(
                "watch %s: row %s was deleted before its result could be written; "
                "its outcome stays in the journal",
                watch.name,
                row_id,
            )
            self.journal.note(watch.name, row_id, "deleted", "row left the sheet", self.now())
        if projection.writes:
            self.sheets.write_cells(watch.spreadsheet_id, {watch.worksheet: projection.writes})
            report.written += len(projection.writes)

    def _send(self, watch: Watch, plans: Sequence[TriggerPlan], report: CycleReport) -> None:
        held: Outcome | None = None
        for plan in plans:
            ids = list(plan.row_ids)
            if held is not None:
                self.journal.record(watch.name, ids, held, self.now())
                _count(report, held.state, len(ids))
                continue
            self.journal.mark_sending(watch.name, ids, self.now())
            result = self.axiom.trigger(plan.automation, plan.data)
            outcome = self._outcome(watch, ids, result)
            self.journal.record(watch.name, ids, outcome, self.now())
            _count(report, outcome.state, len(ids))
            if outcome.state in {"triggered", "queued"}:
                report.triggered += len(ids)
            if outcome.state == "waiting":
                # an account-level refusal applies to every row: do not spend calls on them
                held = outcome

    def _outcome(self, watch: Watch, ids: Sequence[str], result: TriggerResult) -> Outcome:
        if result.status != "waiting":
            return Outcome(result.status, result.link, result.message)
        waits = max(self.journal.waits(watch.name, ids).values(), default=0)
        delay = waiting_delay(result.reason, waits, self.rand())
        at = self.now() + timedelta(seconds=delay)
        message = f"{result.message} (sheetsync retries by itself after {at:%H:%M:%S} UTC)"
        return Outcome("waiting", "", message, at)

    def _has_started(self, watch: Watch) -> bool:
        return watch.name in self._started or self.journal.has_started(watch.name)

    def _mark_started(self, watch: Watch) -> None:
        if watch.name not in self._started:
            if not self.journal.has_started(watch.name):
                self.journal.mark_started(watch.name, self.now())
            self._started.add(watch.name)

    def _skip_existing(
        self, watch: Watch, table: list[list[str]], layout: Layout, entries: dict[str, Entry]
    ) -> list[CellWrite]:
        """`start_from = "now"`: rows already present on the first cycle are never sent."""
        new = [c for c in find_candidates(table, layout, watch, entries) if not c.retry]
        if not new:
            return []
        self.journal.skip(watch.name, [(c.row_id, c.fingerprint) for c in new], self.now())
        status, id_col = layout.results["status"] + 1, layout.results["id"] + 1
        return [
            cell
            for c in new
            for cell in (
                CellWrite(c.row_number, status, watch.statuses.skipped),
                CellWrite(c.row_number, id_col, c.row_id),
            )
        ]

    def _abandon_lost_claims(
        self, watch: Watch, table: list[list[str]], layout: Layout, entries: dict[str, Entry]
    ) -> None:
        claimed = {rid for rid, e in entries.items() if e.state == "claimed"}
        if not claimed:
            return
        id_col = layout.results["id"]
        present = {pad(row, layout.width)[id_col].strip() for row in table[1:]}
        lost = sorted(claimed - present)
        if lost:
            self.journal.abandon(watch.name, lost, self.now())


def _count(report: CycleReport, state: str, n: int) -> None:
    report.outcomes[state] = report.outcomes.get(state, 0) + n
