"""What the journal keeps of each budget across restarts: its recent calls and its outage.

A budget is one pace (`pacing.limiter_for`'s key: an axiom key, a Google identity's
reads or writes). Every paced call is recorded before it leaves (committed, so a kill -9
loses none) and its end after its answer; a new process seeds each limiter with the
calls of the last window, so a crash and a quick restart cannot exceed
`calls_per_minute`. A call with no recorded end counts as ending when the new process
starts. An axiom key's closed outage gate (see `outage`) is kept too: a restart
mid-outage probes before it triggers. Records older than `KEEP_SECONDS` are dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sheetsync.adapters.axiom.outage import Closure, GateStore, OutageGate
from sheetsync.adapters.pacing import RollingLimiter
from sheetsync.adapters.store.journal import Journal
from sheetsync.adapters.store.journal_records import iso
from sheetsync.errors import JournalError

log = logging.getLogger("sheetsync.budgets")

KEEP_SECONDS = 600.0
"""Calls are forgotten this long after they started: far beyond any window or timeout."""


class CallBook:
    """One budget's calls in the journal (a `pacing.CallLog`)."""

    def __init__(self, journal: Journal, budget: str, now: Callable[[], datetime]) -> None:
        self.journal = journal
        self.budget = budget
        self.now = now

    def began(self, *, ended: bool = False) -> int:
        """Commit that a call leaves now (and, with `ended`, that it is over too)."""
        at = self.now().timestamp()
        with self.journal._transaction() as db:
            db.execute("DELETE FROM calls WHERE started_at < ?", (at - KEEP_SECONDS,))
            cursor = db.execute(
                "INSERT INTO calls (budget, started_at, ended_at) VALUES (?, ?, ?)",
                (self.budget, at, at if ended else None),
            )
        return int(cursor.lastrowid or 0)

    def ended(self, token: int) -> None:
        """Record the end of a call; never raises (the call's answer is in, and the limiter
        counts the call anyway): a failure only makes a restart count it as just ended."""
        try:
            with self.journal._transaction() as db:
                db.execute(
                    "UPDATE calls SET ended_at = ? WHERE id = ?", (self.now().timestamp(), token)
                )
        except JournalError as exc:
            log.warning("journal %s: cannot record a call's end: %s", self.journal.path, exc)

    def ages(self, window: float) -> list[float]:
        """Seconds since each call of the last `window` ended (0: no end was recorded)."""
        now = self.now().timestamp()
        rows = self.journal._query(
            "SELECT ended_at FROM calls WHERE budget = ? AND (ended_at IS NULL OR ended_at > ?)",
            (self.budget, now - window),
        )
        return [0.0 if end is None else max(0.0, now - end) for (end,) in rows]


class OutageBook:
    """An axiom key's closed gate in the journal (a `outage.GateStore`)."""

    def __init__(self, journal: Journal, budget: str) -> None:
        self.journal = journal
        self.budget = budget

    def closed(self, closure: Closure) -> None:
        """Keep the closure until a probe answers."""
        with self.journal._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO outages VALUES (?, ?, ?, ?)",
                (self.budget, iso(closure.closed_at), closure.strikes, closure.cause),
            )

    def reopened(self) -> None:
        """Forget the closure."""
        with self.journal._transaction() as db:
            db.execute("DELETE FROM outages WHERE budget = ?", (self.budget,))

    def load(self) -> Closure | None:
        """The closure a previous process left, if any."""
        rows = self.journal._query(
            "SELECT closed_at, strikes, cause FROM outages WHERE budget = ?", (self.budget,)
        )
        if not rows:
            return None
        closed_at, strikes, cause = rows[0]
        return Closure(datetime.fromisoformat(closed_at), int(strikes), str(cause))


def keep_pace(limiter: RollingLimiter, journal: Journal, now: Callable[[], datetime]) -> None:
    """Record the limiter's calls in the journal; the first time, count the calls a
    previous process made in the last window."""
    book = CallBook(journal, limiter.name, now)
    if not limiter.seeded:
        limiter.seed(book.ages(limiter.window))
    limiter.log = book


def keep_gate(gate: OutageGate, journal: Journal, budget: str) -> None:
    """Keep the gate's closure in the journal; the first time, close it as a previous
    process left it."""
    attach_gate(gate, OutageBook(journal, budget))


class GateBook(GateStore, Protocol):
    """Where a gate's closure is kept, read back at start (the journal, or PostgreSQL)."""

    def load(self) -> Closure | None:
        """The closure a previous process (or a peer) left, if any."""
        ...


def attach_gate(gate: OutageGate, book: GateBook) -> None:
    """Keep the gate's closure in `book`; the first time, close it as it was left."""
    if gate.store is None:
        closure = book.load()
        if closure is not None:
            gate.restore(closure)
            log.warning(
                "axiom's answer to a trigger was unclear (%s at %s UTC) when sheetsync last "
                "stopped: it asks /list-automations before it triggers again",
                closure.cause,
                f"{closure.closed_at:%H:%M:%S}",
            )
    gate.store = book
