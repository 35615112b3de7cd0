"""Which spreadsheet one Google identity reads next: due longest first, one read per slot.

An identity may spend `available` Sheets reads a minute, so its time is cut into slots of
`60 / available` seconds and each slot pays for one read. The daemon asks `take()` once a
slot (an APScheduler interval job); it answers with the spreadsheet (a group of watches
sharing one read) that has been due the longest, or nothing. So reads are spread evenly
over the minute instead of spent in a burst, a spreadsheet waits at most one round of the
others, and when the schedules ask more than the budget every spreadsheet is served the
same lag late (`sheetsync.budget` computes it). A cycle that took more than one read
(one with work, a flush, a metadata read) pays the rest with the next slots.

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
        self._debt = 0
        self._lock = threading.Lock()

    @property
    def keys(self) -> list[str]:
        """The spreadsheets (group keys) taking turns."""
        return list(self._turns)

    def take(self, now: datetime, free: int = 1) -> str | None:
        """The group to start now, if this slot is open and one is ready; marks it busy.

        A slot that pays for an earlier cycle's extra read starts nothing; so does one
        with no free worker (`free`), and then it is not spent.
        """
        with self._lock:
            if now < self._next_slot or free <= 0:
                return None
            if self._debt > 0:
                self._debt -= 1
                self._spend(now)
                return None
            ready = [(self._rank(t, now), k) for k, t in self._turns.items() if self._ready(t, now)]
            if not ready:
                return None
            _, key = min(ready)
            self._turns[key].busy = True
            self._spend(now)
            return key

    def finished(
        self, key: str, started: datetime, *, reads: int = 1, pending: bool = True
    ) -> None:
        """A cycle that started at `started` ended after `reads` Sheets reads.

        `pending`: the cycle left work behind (an error, rows waiting or settling, runs
        being tracked), so Drive change detection reads it again at its next turn.
        """
        with self._lock:
            turn = self._turns.get(key)
            if turn is None:
                return
            turn.busy = False
            turn.due = turn.schedule(turn.due, started)
            turn.last = started
            turn.pending = pending
            if turn.changed is not None and turn.changed <= started:
                turn.changed = None  # the cycle's read saw it
            self._debt += max(0, reads - 1)

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
    def _spend(self, now: datetime) -> None:
        # half a slot: the next tick (a slot later, give or take a little) finds it open
        self._next_slot = now + timedelta(seconds=self.spacing / 2)

    def _ready(self, turn: _Turn, now: datetime) -> bool:
        if turn.busy or turn.due > now:
            return False
        return (
            self.max_idle is None
            or turn.pending
            or turn.changed is not None
            or (self._safety_at(turn) <= now)
        )

    def _safety_at(self, turn: _Turn) -> datetime:
        assert self.max_idle is not None
        last = turn.last if turn.last is not None else turn.due
        return last + timedelta(seconds=self.max_idle)

    def _rank(self, turn: _Turn, now: datetime) -> tuple[int, datetime]:
        """Lower goes first, then due longest. Without Drive all are equal; with it a change
        or work left goes first (0), then first reads (1), then the safety net (2)."""
        if self.max_idle is None:
            return 0, turn.due
        if turn.changed is not None:
            return 0, max(turn.due, turn.changed)
        if turn.pending:
            return (0 if turn.last is not None else 1), turn.due
        since = max(turn.due, self._safety_at(turn))
        late = (now - since).total_seconds() > self.max_idle
        return (1 if late else 2), since
