"""The wall clock a runtime's engine and journal count in: UTC now.

Test-only: `SHEETSYNC_TEST_CLOCK_OFFSET` (seconds, may be negative or fractional) shifts
it, so one process of a fleet test can run with a skewed clock (FLEET.md's clock-skew
test). Read only when set; never set it in production. Leases never use this clock
(their expiry is the database's), nor do the scheduler and the heartbeat.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

CLOCK_OFFSET_ENV = "SHEETSYNC_TEST_CLOCK_OFFSET"


def wall_clock(environ: Mapping[str, str] | None = None) -> Callable[[], datetime]:
    """`datetime.now(UTC)`, shifted by `SHEETSYNC_TEST_CLOCK_OFFSET` seconds when set."""
    raw = (os.environ if environ is None else environ).get(CLOCK_OFFSET_ENV)
    if not raw:
        return lambda: datetime.now(UTC)
    try:
        offset = timedelta(seconds=float(raw))
    except ValueError as exc:
        raise ValueError(f"{CLOCK_OFFSET_ENV}={raw!r}: not a number of seconds") from exc
    return lambda: datetime.now(UTC) + offset
