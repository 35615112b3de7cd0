"""How the daemon is doing, as operators read it: today's count and the /healthz verdict.

`healthy` is pure: every enabled watch must have completed a cycle without error within
`HEALTHY_INTERVALS` of its intervals (a watch that has not had its first cycle yet counts
from the daemon's start).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sheetsync.adapters.google import transport
from sheetsync.adapters.store.protocol import Store
from sheetsync.config import Config, Watch

HEALTHY_INTERVALS = 3
"""/healthz answers 503 once a watch has had no successful cycle for this many intervals."""


def triggered_today(journal: Store, now: datetime) -> int:
    """Rows triggered or queued since midnight UTC, from the journal's history."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return journal.triggered_since(midnight)


def needing_a_person(journal: Store, watches: Sequence[Watch]) -> dict[str, int]:
    """Rows per watch that are `error` or `unknown` in the journal: STATUS= counts them
    from the start, before any cycle."""
    return {watch.name: journal.needing_a_person(watch.name) for watch in watches}


def healthy(
    intervals: Mapping[str, float],
    last_success: Mapping[str, float],
    started: float,
    now: float,
) -> tuple[bool, list[str]]:
    """(all well, the watches late) for watches with their interval in seconds, the Unix
    time of each one's last successful cycle, the daemon's start time and now."""
    late = []
    for watch, interval in sorted(intervals.items()):
        since = last_success.get(watch, started)
        if now - since > HEALTHY_INTERVALS * interval:
            late.append(f"{watch}: no successful cycle for {timedelta(seconds=int(now - since))}")
    return not late, late


def longest_call(config: Config) -> float:
    """The longest one network call may take by its timeouts (connect + answer)."""
    google = transport.DEFAULT_CONNECT_TIMEOUT + config.google.timeout_seconds
    axiom = config.axiom.connect_timeout_seconds + config.axiom.read_timeout_seconds
    return max(google, axiom)
