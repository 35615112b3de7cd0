"""Sending one watch's triggers: journal `sending` -> POST -> journal outcome, per plan.

Row-mode backlogs go out on a few threads (the shared axiom pacer still bounds the
rate), except for tracked watches: /run-data reports the latest run of a name, so the
journal must know which trigger axiom saw last. An account-level refusal or a closed
outage gate (`waiting`) stops further calls, and the rows not yet sent wait with the
same reason instead of spending calls that would fail alike.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sheetsync.departure import Departure
from sheetsync.journal import Journal
from sheetsync.journal_records import Outcome
from sheetsync.plan import TriggerPlan, waiting_delay

CONCURRENT_ABOVE = 10
"""Backlogs longer than this many triggers are sent on several threads."""
SENDERS = 4
"""Threads sending one backlog: enough to keep axiom's pace when each call takes ~1 s."""
AT_ONCE = frozenset({"outage"})
"""Waiting reasons due at once: the outage gate decides when they go."""


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

    def trigger(
        self, name: str, data: list[Any] | None, *, departure: Departure | None = None
    ) -> TriggerResult:
        """Start one run; never raises for HTTP or network trouble (`StoppedError` passes
        through from `departure`)."""
        ...

    def may_trigger(self) -> bool:
        """Whether triggers may go (False while an unclear answer is unexplained)."""
        ...


@dataclass
class Tally:
    """Outcomes of one watch's sends, by state (thread-safe)."""

    outcomes: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, state: str, rows: int, *, sent: bool) -> None:
        """Count `rows` rows ending in `state`."""
        with self.lock:
            self.outcomes[state] = self.outcomes.get(state, 0) + rows
            if sent:
                self.sent += rows


@dataclass
class Sender:
    """Sends the plans of one watch and records every outcome in the journal."""

    watch: str
    axiom: TriggerPort
    journal: Journal
    now: Callable[[], datetime]
    rand: Callable[[], float]
    first_poll: Callable[[datetime], tuple[datetime, float]] | None = None
    """With run tracking: when to poll a new run first, and at what interval."""
    tally: Tally = field(default_factory=Tally)
    held: Outcome | None = None
    stopping: Callable[[], bool] = lambda: False
    """True once the daemon was asked to stop: unsent rows stay claimed for the next start."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def send_all(
        self, plans: Sequence[TriggerPlan], after_each: Callable[[], None] | None = None
    ) -> None:
        """Send every plan (in order, or on a few threads for long backlogs)."""
        if len(plans) <= CONCURRENT_ABOVE or self.first_poll is not None:
            for plan in plans:
                self.send(plan)
                if after_each is not None:
                    after_each()
            return
        with ThreadPoolExecutor(SENDERS, thread_name_prefix=f"send-{self.watch}") as pool:
            for future in [pool.submit(self.send, plan) for plan in plans]:
                future.result()
                if after_each is not None:
                    after_each()

    def send(self, plan: TriggerPlan) -> None:
        """One trigger: durable `sending` first, the POST, then the durable outcome."""
        ids = list(plan.row_ids)
        if self.stopping():
            self.tally.add("claimed", len(ids), sent=False)  # sent normally after a restart
            return
        with self._lock:
            held = self.held
        if held is not None:
            self.journal.record(self.watch, ids, held, self.now())
            self.tally.add(held.state, len(ids), sent=False)
            return
        self.journal.mark_sending(self.watch, ids, self.now())
        result = self.axiom.trigger(plan.automation, plan.data)
        outcome = self._outcome(ids, result)
        now = self.now()
        poll = self.first_poll(now) if self.first_poll is not None else None
        self.journal.record(self.watch, ids, outcome, now, poll=poll)
        self.tally.add(outcome.state, len(ids), sent=outcome.state in {"triggered", "queued"})
        if outcome.state == "waiting":
            with self._lock:
                self.held = outcome  # an account-level refusal applies to every row

    def _outcome(self, ids: Sequence[str], result: TriggerResult) -> Outcome:
        if result.status != "waiting":
            return Outcome(result.status, result.link, result.message)
        if result.reason in AT_ONCE:
            return Outcome("waiting", "", result.message, self.now(), result.reason)
        waits = max(self.journal.waits(self.watch, ids).values(), default=0)
        delay = waiting_delay(result.reason, waits, self.rand())
        at = self.now() + timedelta(seconds=delay)
        how = "checks /remaining-runtime" if result.reason == "quota" else "retries by itself"
        message = f"{result.message} (sheetsync {how} after {at:%H:%M:%S} UTC)"
        return Outcome("waiting", "", message, at, result.reason)
