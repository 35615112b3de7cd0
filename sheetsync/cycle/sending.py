"""Sending one watch's triggers: pace slot -> journal `sending` -> POST -> journal outcome.

The slot is taken first and `sending` committed last, right before the POST (see
`departure`): a stop while rows wait for slots leaves them claimed, never `sending`,
so no restart calls them `unknown`. A stop request ends the waits; the rows not sent
become `waiting` ("stopped before sending") and go at the next start.

Row-mode backlogs go out on a few threads (the shared axiom pacer still bounds the
rate), except for tracked watches: /run-data reports the latest run of a name, so the
journal must know which trigger axiom saw last. An account-level refusal or a closed
outage gate (`waiting`) stops further calls, and the rows not yet sent wait with the
same reason instead of spending calls that would fail alike.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sheetsync.adapters.store.journal_records import Outcome
from sheetsync.adapters.store.protocol import Store
from sheetsync.core.departure import Departure
from sheetsync.core.model import TriggerPlan
from sheetsync.core.plan import waiting_delay
from sheetsync.core.telemetry import current
from sheetsync.cycle.unsettled import LOST_ANSWER_MESSAGE, Unrecorded
from sheetsync.errors import JournalError, LeaseLostError, StoppedError, StoreError, StoreReason

log = logging.getLogger("sheetsync.sending")

CONCURRENT_ABOVE = 10
"""Backlogs longer than this many triggers are sent on several threads."""
SENDERS = 4
"""Threads sending one backlog: enough to keep axiom's pace when each call takes ~1 s."""
STOPPED_MESSAGE = (
    "not sent: sheetsync stopped while this row waited for its turn (axiom's pace); "
    "it goes at the next start"
)
AT_ONCE = frozenset({"outage", "stopped"})
"""Waiting reasons due at once: the outage gate, or the next start, decides when they go."""


class TriggerResult(Protocol):
    """What a trigger attempt returns (see `sheetsync.adapters.axiom.client.TriggerOutcome`)."""

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
    journal: Store
    now: Callable[[], datetime]
    rand: Callable[[], float]
    first_poll: Callable[[datetime], tuple[datetime, float]] | None = None
    """With run tracking: when to poll a new run first, and at what interval."""
    tally: Tally = field(default_factory=Tally)
    held: Outcome | None = None
    stopping: Callable[[], bool] = lambda: False
    """True once the daemon was asked to stop: unsent rows wait for the next start."""
    on_outcome: Callable[[Sequence[str], Outcome], None] | None = None
    """Told each outcome once the journal holds it (the per-row log lines, metrics)."""
    pace_wait: Callable[[float], None] = time.sleep
    """Waits for pace slots and retries (the engine's: see `backlog`)."""
    guard: Callable[[], None] = lambda: None
    """Raises when no trigger may leave: the cycle's lease is lost (see `tenure`)."""
    unrecorded: Callable[[Unrecorded], None] = lambda item: None
    """Told a send whose end the journal failed to record (see `unsettled`)."""
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
        """One trigger: a pace slot, durable `sending`, the POST, the durable outcome."""
        ids = list(plan.row_ids)
        with self._lock:
            held = self.held
        if held is None and self.stopping():
            held = self._hold(self._stopped())
        if held is not None:
            self.journal.record(self.watch, ids, held, self.now())
            self.tally.add(held.state, len(ids), sent=False)
            self._tell(ids, held)
            return
        rows = _Rows(self, ids)
        try:
            result = self.axiom.trigger(plan.automation, plan.data, departure=rows)
        except StoppedError:  # it never left: the rows are only claimed
            stopped = self._hold(self._stopped())
            self.journal.record(self.watch, ids, stopped, self.now())
            self.tally.add(stopped.state, len(ids), sent=False)
            self._tell(ids, stopped)
            return
        except JournalError:  # a pace or the outage gate failed to record around the POST
            if rows.posted or rows.sending:
                lost = Outcome("unknown", "", LOST_ANSWER_MESSAGE) if rows.posted else None
                self.unrecorded(Unrecorded(self.watch, tuple(ids), lost, self.now()))
            raise
        outcome = self._outcome(ids, result)
        now = self.now()
        poll = self.first_poll(now) if self.first_poll is not None else None
        try:
            self.journal.record(self.watch, ids, outcome, now, poll=poll)
        except LeaseLostError:  # PostgreSQL left the answer for the spreadsheet's new holder
            raise
        except JournalError:
            self.unrecorded(Unrecorded(self.watch, tuple(ids), outcome, now, poll, rows.left))
            raise
        if rows.left:  # not when the outage gate kept it back
            current().trigger(self.watch, outcome.state)
        self.tally.add(outcome.state, len(ids), sent=outcome.state in {"triggered", "queued"})
        self._tell(ids, outcome)
        if outcome.state == "waiting":
            self._hold(outcome)  # an account-level refusal applies to every row

    def _hold(self, outcome: Outcome) -> Outcome:
        """Every row not sent yet ends like this (the first such outcome wins)."""
        with self._lock:
            if self.held is None:
                self.held = outcome
            return self.held

    def _stopped(self) -> Outcome:
        return Outcome("waiting", "", STOPPED_MESSAGE, self.now(), "stopped")

    def _tell(self, ids: Sequence[str], outcome: Outcome) -> None:
        if self.on_outcome is not None:
            self.on_outcome(ids, outcome)

    def _outcome(self, ids: Sequence[str], result: TriggerResult) -> Outcome:
        if result.status != "waiting":
            return Outcome(result.status, result.link, result.message)
        if result.reason in AT_ONCE:
            return Outcome("waiting", "", result.message, self.now(), result.reason)
        try:
            waits = max(self.journal.waits(self.watch, ids).values(), default=0)
        except JournalError:  # after the POST: a shorter wait harms nothing, a lost answer does
            waits = 0
        delay = waiting_delay(result.reason, waits, self.rand())
        at = self.now() + timedelta(seconds=delay)
        how = "checks /remaining-runtime" if result.reason == "quota" else "retries by itself"
        message = f"{result.message} (sheetsync {how} after {at:%H:%M:%S} UTC)"
        return Outcome("waiting", "", message, at, result.reason)


class _Rows:
    """The departure of one plan's rows (see `departure`)."""

    def __init__(self, sender: Sender, ids: list[str]) -> None:
        self.sender = sender
        self.ids = ids
        self.waited = False
        self.left = False
        """A POST left (the last one's outcome is the trigger's)."""
        self.sending = False
        """The journal may show the rows `sending` (a commit of it may have happened)."""
        self.posted = False
        """A POST may have started a run (it left, and axiom did not say it took none)."""

    def wait(self, seconds: float) -> None:
        """Wait as the sender does (the engine's backlog flushes and heeds stop requests)."""
        if not self.waited:
            self.waited = True
            log.debug(
                "watch %s: %d row(s) wait %.1f s for axiom's pace, not yet sending",
                self.sender.watch,
                len(self.ids),
                seconds,
            )
        self.sender.pace_wait(seconds)

    def leaving(self) -> None:
        """Commit `sending`: the slot is held and the POST goes next."""
        if self.sender.stopping():
            raise StoppedError("sheetsync is stopping")
        self.sender.guard()  # no POST for a spreadsheet this instance may no longer serve
        sender = self.sender
        try:  # a `sending` that did not commit (or may not have: UNCERTAIN) raises: no POST
            sender.journal.mark_sending(sender.watch, self.ids, sender.now())
        except StoreError as exc:
            if exc.reason is StoreReason.UNCERTAIN:
                self.sending = True
                self._unsent()
            raise
        self.sending = self.left = self.posted = True

    def _unsent(self) -> None:
        """After a `sending` commit that may have happened: nothing left, so the rows are
        only claimed (else they would show `sending` until the next takeover)."""
        try:
            self.sender.journal.mark_unsent(self.sender.watch, self.ids, self.sender.now())
        except JournalError as exc:  # then the next cycle does it (see `unsettled`)
            log.warning("watch %s: rows not marked unsent: %s", self.sender.watch, exc)
        else:
            self.sending = False

    def stayed(self) -> None:
        """Axiom did not take it; a retry follows a wait: only claimed meanwhile."""
        self.posted = False
        current().trigger(self.sender.watch, "retried")
        self.sender.journal.mark_unsent(self.sender.watch, self.ids, self.sender.now())
        self.sending = False
