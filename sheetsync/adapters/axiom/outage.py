"""The outage gate of one axiom key: after an unclear answer to a trigger, no trigger goes
until a read-only call shows that axiom answers again.

A gateway's 5xx, a timeout or a reset after sending, or an unreadable 200 leave a row
`unknown`: axiom may have started its run. If axiom is down, every further trigger would
end the same way, so the key's gate closes and rows stay new or `waiting`. A probe
(`/list-automations`, which starts nothing) is due `probe_delay()` after the close or
the last failed probe; once it answers 200 the gate reopens on probation. The states:

    unconfirmed  at start and after a probe: one trigger at a time, so that a gateway
                 still failing costs one row, not one per sending thread
    open         the last trigger had a clear answer: triggers go side by side
    closed       an unclear answer: no trigger until a probe answers 200

Like the pace (see `pacing`), a gate belongs to a key, not to a watch: `gate_for()` is the
process-wide registry, keyed by the same non-secret budget name as the key's limiter.
The journal keeps a closed gate (see `budgets`), so a restart mid-outage probes first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from sheetsync.core.backoff import Backoff

PROBE_SECONDS = 10.0
"""The first probe after a close; each failed probe doubles the wait."""
PROBE_MAX_SECONDS = 300.0
"""Probes never wait longer than this: axiom's return is noticed within five minutes."""

PROBES = Backoff(PROBE_SECONDS, PROBE_MAX_SECONDS)
"""Probe waits double from 10 s to 5 min, without jitter."""

State = Literal["unconfirmed", "open", "closed"]


def probe_delay(strikes: int, failures: int) -> float:
    """Seconds until the next probe after `failures` failed probes of the `strikes`th
    outage in a row (an outage right after a probe reopened the gate waits longer)."""
    return PROBES.delay(max(0, strikes - 1 + failures))


@dataclass(frozen=True)
class Closure:
    """Why and since when a gate is closed (what the journal keeps)."""

    closed_at: datetime
    strikes: int
    """Outages in a row without a clear answer to a trigger in between."""
    cause: str
    """A few words for messages: `HTTP 504`, `no answer within 30 s`."""


class GateStore(Protocol):
    """Where a gate keeps its closure across restarts (the journal)."""

    def closed(self, closure: Closure) -> None:
        """Remember the closure."""
        ...

    def reopened(self) -> None:
        """Forget it: a probe answered."""
        ...


class OutageGate:
    """Whether triggers of one key may go: thread-safe, shared by every client of the key."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.clock = clock
        self.wall = wall
        self.store: GateStore | None = None
        self.state: State = "unconfirmed"
        self.closure: Closure | None = None
        self._cond = threading.Condition()
        self._probing = threading.Lock()
        self._out = 0
        self._strikes = 0
        self._failures = 0
        self._probe_at = 0.0

    def __repr__(self) -> str:
        return f"OutageGate(state={self.state!r})"

    def admit(self) -> bool:
        """Let one trigger go (False: the gate is closed). On probation, wait for the
        trigger already out to be answered first."""
        with self._cond:
            while self.state == "unconfirmed" and self._out:
                self._cond.wait()
            if self.state == "closed":
                return False
            self._out += 1
            return True

    def settle(self, clear: bool | None, cause: str = "") -> Closure | None:
        """An admitted trigger is over: its answer was clear (True), unclear (False), or it
        never left (None). Returns the closure an unclear answer caused, if it caused one."""
        closure = None
        with self._cond:
            self._out -= 1
            if clear is True and self.state != "closed":
                self.state, self._strikes = "open", 0
            elif clear is False and self.state != "closed":
                self._strikes += 1
                self._failures = 0
                self._probe_at = self.clock() + probe_delay(self._strikes, 0)
                self.state = "closed"
                closure = self.closure = Closure(self.wall(), self._strikes, cause)
            self._cond.notify_all()
        if closure is not None and self.store is not None:
            self.store.closed(closure)
        return closure

    def check(self, probe: Callable[[], bool]) -> bool:
        """Whether triggers may go now; a closed gate asks `probe` when one is due."""
        with self._probing:  # one probe at a time; the others learn its answer
            with self._cond:
                if self.state != "closed":
                    return True
                if self.clock() < self._probe_at:
                    return False
            answered = probe()
            with self._cond:
                if answered:
                    self.state, self.closure, self._failures = "unconfirmed", None, 0
                else:
                    self._failures += 1
                    self._probe_at = self.clock() + probe_delay(self._strikes, self._failures)
                self._cond.notify_all()
        if answered and self.store is not None:
            self.store.reopened()
        return answered

    def restore(self, closure: Closure) -> None:
        """Close the gate as a previous process left it; the first probe is due at once."""
        with self._cond:
            self.state, self.closure = "closed", closure
            self._strikes, self._failures, self._probe_at = closure.strikes, 0, self.clock()

    def next_probe_in(self) -> float:
        """Seconds until a probe is due (0 when open or due now)."""
        with self._cond:
            return max(0.0, self._probe_at - self.clock()) if self.state == "closed" else 0.0


_registry: dict[str, OutageGate] = {}
_registry_lock = threading.Lock()


def gate_for(
    budget: str,
    *,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> OutageGate:
    """The process-wide gate of one axiom key (`budget` as for `pacing.limiter_for`)."""
    with _registry_lock:
        gate = _registry.get(budget)
        if gate is None:
            gate = _registry[budget] = OutageGate(clock=clock, wall=wall)
        return gate


def clear_gates() -> None:
    """Forget every gate (tests)."""
    with _registry_lock:
        _registry.clear()
