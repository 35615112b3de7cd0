"""Run tracking (`track_runs`): poll /run-data for triggered runs and record how they end.

Polls happen inside a watch's cycle, so the watch's interval bounds their rate, and
they go through the axiom client and so share the key's pacer. A run is first polled
`track_poll_seconds` after its trigger, then at doubling intervals capped at
`track_poll_max_seconds`; a poll that is not due costs nothing. One call answers for
every row of a run (a batch trigger is one run). A failed poll only moves the next
poll back: the row keeps its trigger outcome and is never sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sheetsync.adapters.store.protocol import Store
from sheetsync.adapters.store.runs import Tracked
from sheetsync.config import Watch
from sheetsync.errors import AxiomError

log = logging.getLogger("sheetsync.tracking")


class RunResult(Protocol):
    """What /run-data says (see `sheetsync.adapters.axiom.client.RunStatus`)."""

    @property
    def state(self) -> str: ...
    @property
    def raw_status(self) -> str: ...


class RunDataPort(Protocol):
    """What tracking needs from axiom."""

    def run_data(self, name: str) -> RunResult:
        """The latest run of `name`; raises AxiomError when axiom cannot tell."""
        ...


def next_poll(now: datetime, step: float, cap: float) -> tuple[datetime, float]:
    """After a poll that found no end: when to poll next, and the interval after that."""
    step = min(step * 2.0, cap)
    return now + timedelta(seconds=step), step


def first_poll(now: datetime, watch: Watch) -> tuple[datetime, float]:
    """Right after a trigger: when to poll first, and at what interval."""
    return now + timedelta(seconds=watch.track_poll_seconds), watch.track_poll_seconds


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds:g} s"


@dataclass
class Tracker:
    """Polls the tracked runs of a watch and records their outcomes in the journal."""

    axiom: RunDataPort
    journal: Store
    now: Callable[[], datetime]

    def poll_due(self, watch: Watch) -> int:
        """Poll each automation whose tracked run is due; return the /run-data calls made."""
        ledger = self.journal
        now = self.now()
        limit = watch.track_timeout_seconds
        given_up = ledger.expire(watch.name, now - timedelta(seconds=limit), _duration(limit), now)
        if given_up:
            log.warning(
                "watch %s: %d row(s) had no final run status after %s; no longer tracked",
                watch.name,
                given_up,
                _duration(limit),
            )
        due = ledger.due(watch.name, now)
        for run in due:
            self._poll(ledger, run, watch)
        return len(due)

    def last_look(self, names: Iterable[str], watch: Watch) -> int:
        """Poll the tracked runs of these names once more before new runs supersede them."""
        ledger = self.journal
        runs = ledger.running(names)
        for run in runs:
            self._poll(ledger, run, watch)
        return len(runs)

    def _poll(self, ledger: Store, run: Tracked, watch: Watch) -> None:
        try:
            result = self.axiom.run_data(run.automation)
        except AxiomError as exc:
            result, failure = None, exc
        now = self.now()  # after the call: the next poll counts from its answer
        poll = next_poll(now, run.poll_seconds, watch.track_poll_max_seconds)
        if result is not None:
            ledger.polled(run, result.state, result.raw_status, poll, now)
            return
        ledger.poll_failed(run, str(failure), poll, now)
        log.info(  # polled again later by itself: nothing for a person to do
            "watch %s: cannot poll the run of %r (next try in %g s): %s",
            watch.name,
            run.automation,
            poll[1],
            failure,
        )
