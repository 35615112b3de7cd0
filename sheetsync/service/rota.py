"""Which spreadsheet one Google identity reads next: due longest first, one read per slot.

An identity may spend `available` Sheets reads a minute, so its starts are at least a
slot of `60 / available` seconds apart and each slot pays for one read. The daemon asks
`take()` when `wake_at()` says a start may be due (an APScheduler job whose next run time
the rota decides); it answers with the spreadsheet (a group of watches sharing one read)
that has been due the longest, or nothing. So reads are spread evenly over the minute
instead of spent in a burst, a spreadsheet waits at most one round of the others, and
when the schedules ask more than the budget every spreadsheet is served the same lag
late (`sheetsync.core.budget` computes it). A cycle that took more than one read (one with
work, a flush, a metadata read) pushes the next slot back by the reads it took beyond
one; an idle identity wakes only when something falls due.

With Drive change detection (`max_idle` set) a due spreadsheet is read only when it has
to be: a change someone else made (`changed()`), a cycle that left work behind
(`pending`), its first cycle, or the safety net, `max_idle` seconds after its last read,
in that order (a change waits for no first read of the others). A safety-net turn late
by more than `max_idle` more goes with the first reads (by due time, so after them), so
it cannot starve either.

Thread-safe; time is always passed in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

_SLACK = timedelta(milliseconds=1)
"""A wake-up a hair early (clock rounding) still finds its slot open."""

Schedule = Callable[[datetime, datetime], datetime]
"""`schedule(due, started)`: when a spreadsheet is next due after a cycle that was due at
`due` and started at `started`."""


def every(period: float, spacing: float) -> Schedule:
    """An interval schedule: on its grid while served in time, else `period` after the start.

    Served within a slot of its due time, the next due time stays on the grid, so a slot's
    rounding never stretches the interval; served late, it is due `period` after the start
    (less the slot the rounding added), so lateness is not carried forward.
    """
    step, slot = timedelta(seconds=period), timedelta(seconds=spacing)

    def schedule(due: datetime, started: datetime) -> datetime:
        return max(due + step, started + step - slot)

    return schedule


@dataclass
class _Turn:
    schedule: Schedule
    due: datetime
    last: datetime | None = None
    busy: bool = False
    pending: bool = True
    changed: datetime | None = None
    expected: datetime | None = None
    """While busy: when it will be due again if its cycle ends in time."""


class Rota:
    """One identity's spreadsheets taking turns at its read budget."""

    def __init__(
        self,
        schedules: Mapping[str, Schedule],
        spacing: float,
        now: datetime,
        *,
        max_idle: float | None = None,
    ) -> None:
        self.spacing = spacing
        self.max_idle = max_idle
        self._turns = {key: _Turn(schedule, now) for key, schedule in schedules.items()}
        self._next_slot = now
        self._no_worker = False
        self._lock = threading.Lock()

    @property
    def keys(self) -> list[str]:
        """The spreadsheets (group keys) taking turns."""
        return list(self._turns)

    def take(self, now: datetime, free: int = 1) -> str | None:
        """The group to start now, if a slot is open and one is ready; marks it busy.

        With no free worker (`free`) nothing starts and the rota waits for `resume()`.
        """
        with self._lock:
            if free <= 0:
                self._no_worker = True
                return None
            if now + _SLACK < self._next_slot:
                return None
            ready = [(self._rank(t, now), k) for k, t in self._turns.items() if self._ready(t, now)]
            if not ready:
                return None
            _, key = min(ready)
            turn = self._turns[key]
            turn.busy, turn.expected = True, turn.schedule(turn.due, now)
            self._next_slot = now + timedelta(seconds=self.spacing)
            return key

    def finished(
        self, key: str, started: datetime, *, reads: int = 1, pending: bool = True
    ) -> None:
        """A cycle that started at `started` ended after `reads` Sheets reads.

        `pending`: the cycle left work behind (an error, rows waiting or settling, runs
        being tracked), so Drive change detection reads it again at its next turn.
        """
        with self._lock:
            self._no_worker = False
            turn = self._turns.get(key)
            if turn is None:
                return
            turn.busy = False
            turn.due = turn.schedule(turn.due, started)
            turn.last = started
            turn.pending = pending
            if turn.changed is not None and turn.changed <= started:
                turn.changed = None  # the cycle's read saw it
            self._next_slot += timedelta(seconds=self.spacing * max(0, reads - 1))

    def resume(self) -> None:
        """A worker is free again: `wake_at` answers again after a `take` that found none."""
        with self._lock:
            self._no_worker = False

    def wake_at(self, now: datetime) -> datetime | None:
        """When a start may be due next: the first slot at which a group is ready (None:
        only when a cycle ends, a worker frees up or Drive reports a change)."""
        with self._lock:
            if self._no_worker:
                return None
            times = [self._ready_at(t) for t in self._turns.values() if not t.busy]
            # a cycle that ends in time needs no nudge: wake when it will be due again
            times += [
                t.expected
                for t in self._turns.values()
                if t.busy and t.expected is not None and t.expected > now
            ]
            if not times:
                return None
            return max(min(times), self._next_slot, now)

    def release(self, key: str) -> None:
        """A taken group did not run (still busy from before a reload): due as it was."""
        with self._lock:
            if key in self._turns:
                self._turns[key].busy = False

    def changed(self, keys: Iterable[str], now: datetime) -> None:
        """Drive reports that someone changed these spreadsheets (at or before `now`)."""
        with self._lock:
            for key in keys:
                turn = self._turns.get(key)
                if turn is not None and turn.changed is None:
                    turn.changed = now

    def waiting(self, now: datetime) -> int:
        """How many groups are ready and waiting for a slot."""
        with self._lock:
            return sum(1 for t in self._turns.values() if self._ready(t, now))

    # -- the pure decisions (caller holds the lock) -----------------------------------
    def _ready(self, turn: _Turn, now: datetime) -> bool:
        return not turn.busy and self._ready_at(turn) <= now

    def _ready_at(self, turn: _Turn) -> datetime:
        """When a group falls due: its schedule, and with Drive a reason or the safety net."""
        if self.max_idle is None or turn.pending or turn.changed is not None:
            return turn.due
        return max(turn.due, _safety_at(turn, self.max_idle))

    def _rank(self, turn: _Turn, now: datetime) -> tuple[int, datetime]:
        """Lower goes first, then due longest. Without Drive all are equal; with it a change
        or work left goes first (0), then first reads (1), then the safety net (2)."""
        if self.max_idle is None:
            return 0, turn.due
        if turn.changed is not None:
            return 0, max(turn.due, turn.changed)
        if turn.pending:
            return (0 if turn.last is not None else 1), turn.due
        since = max(turn.due, _safety_at(turn, self.max_idle))
        late = (now - since).total_seconds() > self.max_idle
        return (1 if late else 2), since


def _safety_at(turn: _Turn, max_idle: float) -> datetime:
    """When the safety net reads a group Drive saw no change in: `max_idle` after its last read."""
    last = turn.last if turn.last is not None else turn.due
    return last + timedelta(seconds=max_idle)
