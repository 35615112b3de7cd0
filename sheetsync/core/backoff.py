"""One backoff and one Retry-After parser for every client: pure values, so tests need no clock.

A wait is a jittered doubling, `min(base * 2**attempt, cap)` times a factor drawn from
`[low, low + span]` by the caller's random number; each caller names its own caps in a
`Backoff` (the Sheets and axiom clients' retries, a waiting row's next try, the outage
probe). Callers do the sleeping; nothing here reads a clock or imports an HTTP library.

Retry-After is taken in delay-seconds only. RFC 9110 also allows an HTTP-date, but
Google and axiom send seconds, and a date is only as good as the agreement of two clocks:
a skewed one turns it into no wait or a very long one. A date (or anything unreadable,
negative or not finite) counts as no Retry-After, and the caller's own backoff applies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """A caller's caps: the doubling, its jitter, and how far a Retry-After is followed."""

    base: float
    """The wait before the first retry (attempt 0), before jitter."""
    cap: float
    """The doubling stops here (before jitter)."""
    low: float = 1.0
    """The smallest jitter factor."""
    span: float = 0.0
    """The jitter factor is `low + span * rand`; 0 means no jitter."""
    retry_after_cap: float = math.inf
    """The longest Retry-After followed as it is."""
    give_up: bool = False
    """A longer Retry-After ends the retries (True) or is cut to `retry_after_cap` (False)."""

    def delay(self, attempt: int, rand: float = 0.0) -> float:
        """Seconds before retry `attempt` (0-based) for a random draw `rand` in [0, 1)."""
        return min(self.base * 2.0**attempt, self.cap) * (self.low + self.span * rand)

    def wait(self, attempt: int, retry_after: float | None, rand: float) -> float | None:
        """The server's Retry-After if it gave one, else `delay`; None: do not retry."""
        if retry_after is None:
            return self.delay(attempt, rand)
        if retry_after <= self.retry_after_cap:
            return retry_after
        return None if self.give_up else self.retry_after_cap


def parse_retry_after(value: str | None) -> float | None:
    """A Retry-After header in seconds; None when absent, an HTTP-date, negative or garbage."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP-date (see the module docstring) or garbage
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
