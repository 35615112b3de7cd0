"""What the schedules of one Google identity ask of its read budget, and what follows.

An idle cycle of a spreadsheet (its watches share one `values:batchGet`) costs one Sheets
read. An identity whose spreadsheets ask more reads a minute than its budget cannot keep
their schedules; the rota (`sheetsync.service.rota`) then serves the spreadsheet due longest
first, one read per slot, so every spreadsheet is served a common `lag` later than its
schedule asks. That lag solves

    sum over spreadsheets of 60 / (period + lag) = reads available per minute

(with equal periods: every spreadsheet is read every `count * 60 / available` seconds).
Pure arithmetic: the daemon logs it once, `sheetsync check` prints it, tests compare the
rota's measured intervals with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

WORK_NOTE = "a cycle with work costs one read more"


@dataclass(frozen=True)
class Budget:
    """The read demand of one identity's schedules against what it may spend."""

    identity: str
    periods: tuple[float, ...]
    """Seconds between the reads each spreadsheet's schedule asks for (one per spreadsheet)."""
    available: float
    """Reads a minute the identity may spend."""
    what: str = "read"
    """What a period means in the text: `read` (poll) or `fully read` (the Drive safety net)."""
    limit: str = "reads_per_minute"
    """Where `available` comes from, for the text."""

    @property
    def needed(self) -> float:
        """Reads a minute the schedules ask for (idle cycles: one read each)."""
        return sum(60.0 / p for p in self.periods)

    @property
    def over(self) -> bool:
        """Whether the schedules ask more than the budget allows."""
        return self.needed > self.available * (1 + 1e-9)

    @property
    def lag(self) -> float:
        """Seconds every spreadsheet is read later than its schedule asks (0 when it fits)."""
        return lag_for(self.periods, self.available) if self.over else 0.0

    def effective(self, period: float) -> float:
        """The seconds between two reads of a spreadsheet whose schedule asks `period`."""
        return period + self.lag

    def describe(self) -> str:
        """One line: needed against available reads a minute, and the intervals that follow."""
        count = len(self.periods)
        head = (
            f"Google identity {self.identity}: {count} spreadsheet(s) need "
            f"{_rate(self.needed)} Sheets reads/min"
        )
        if not self.over:
            return f"{head} of the {_rate(self.available)} it may spend; every schedule holds"
        shown = ", ".join(
            f"every {_seconds(p)} -> about every {_seconds(self.effective(p))}"
            for p in sorted(Counter(self.periods))
        )
        remedy = (
            "add an identity or raise max_idle_seconds"
            if self.what != "read"
            else 'add an identity, lengthen the intervals or use change_detection = "drive"'
        )
        return (
            f"{head}, but it may spend {_rate(self.available)} ({self.limit}); each "
            f"spreadsheet is {self.what} {shown} instead (due longest first, spread evenly; "
            f"{WORK_NOTE}); {remedy}"
        )


def lag_for(periods: Sequence[float], available: float) -> float:
    """The common lag L with sum(60 / (p + L)) == available, by bisection (L >= 0)."""
    if not periods or available <= 0:
        return 0.0
    low, high = 0.0, len(periods) * 60.0 / available  # at `high` the sum is <= available
    for _ in range(100):
        middle = (low + high) / 2
        if sum(60.0 / (p + middle) for p in periods) > available:
            low = middle
        else:
            high = middle
    return high


def _rate(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"
