"""One log line per row a trigger answered, so `grep` answers "what happened to row 57?".

    INFO     watch scrape, tab 'Queue', row 57, id k3x9q2, 'https://shop/p/57': triggered https://…
    WARNING  watch scrape, tab 'Queue', row 58, id r8m2p1, 'https://shop/p/58': error: Task not…

Rows ending `error` or `unknown`, and rows that start `waiting`, are WARNINGs: a person
should look at them. A row `waiting` again after a retry is INFO (its problem was logged
when it began). The row number is the row's place at the cycle's first read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sheetsync.adapters.store.journal_records import Outcome
from sheetsync.core.model import Candidate, Entry
from sheetsync.core.telemetry import current
from sheetsync.redact import one_line

log = logging.getLogger("sheetsync.rows")

FIRST_INPUT_CHARS = 40
"""How much of a row's first input cell its line quotes."""
ATTENTION = frozenset({"error", "unknown", "waiting"})
"""Outcomes a person should look at (`once` exits 3 on them); a row `waiting` again after
a retry is logged at INFO all the same (its problem was logged when it began)."""


@dataclass(frozen=True)
class RowSeen:
    """Where a row was and what it held when the cycle read it."""

    number: int
    first_input: str
    was_waiting: bool


def rows_seen(candidates: Iterable[Candidate], entries: Mapping[str, Entry]) -> dict[str, RowSeen]:
    """The rows a cycle sends, by id."""
    return {
        c.row_id: RowSeen(
            c.row_number,
            c.inputs[0] if c.inputs else "",
            getattr(entries.get(c.row_id), "state", "") == "waiting",
        )
        for c in candidates
    }


def outcome_line(watch: str, tab: str, row_id: str, seen: RowSeen | None, outcome: Outcome) -> str:
    """The one line for one row's outcome (text from the sheet and axiom quoted, one line)."""
    where = f"watch {watch}, tab {tab!r}"
    if seen is not None:
        first = one_line(seen.first_input, FIRST_INPUT_CHARS)
        where += f", row {seen.number}, id {row_id}, {first!r}"
    else:
        where += f", id {row_id}"
    if outcome.link:
        # the viewer link's query carries the run's VNC password: the sheet shows it, logs don't
        return f"{where}: {outcome.state} {outcome.link.split('?', 1)[0].split('#', 1)[0]}"
    detail = f": {one_line(outcome.message, 300)}" if outcome.message else ""
    return f"{where}: {outcome.state}{detail}"


def is_attention(outcome: Outcome, seen: RowSeen | None) -> bool:
    """Whether a person should look: error, unknown, or a row that starts waiting."""
    waiting_again = outcome.state == "waiting" and seen is not None and seen.was_waiting
    return outcome.state in ATTENTION and not waiting_again


@dataclass(frozen=True)
class OutcomeLog:
    """The Sender's `on_outcome` hook for one watch's cycle: lines and outcome metrics."""

    watch: str
    tab: str
    rows: Mapping[str, RowSeen]

    def __call__(self, row_ids: Sequence[str], outcome: Outcome) -> None:
        current().outcome(self.watch, outcome.state, len(row_ids))
        for row_id in row_ids:
            seen = self.rows.get(row_id)
            level = logging.WARNING if is_attention(outcome, seen) else logging.INFO
            log.log(level, "%s", outcome_line(self.watch, self.tab, row_id, seen, outcome))
