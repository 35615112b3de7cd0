"""The watchdog rule: WATCHDOG=1 only while the scheduler dispatches and no running cycle
has gone without a sign of life for the stall limit (half of WatchdogSec=).

A stuck cycle, or a due job the scheduler has not started, is logged at ERROR once when
it sticks and at INFO once when it moves again; while any is stuck the ping is withheld,
so systemd restarts sheetsync. The main loop calls `Watchdog.check` every tick.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sheetsync.config import Config
from sheetsync.service.health import longest_call
from sheetsync.service.notify import Heartbeat, Notifier

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

log = logging.getLogger("sheetsync.daemon")  # the daemon's lines, as operators grep them


class Watchdog:
    """Pings systemd's watchdog when due and every cycle and job moves; names the stuck."""

    def __init__(self, notifier: Notifier, heartbeat: Heartbeat, scheduler: BaseScheduler) -> None:
        self.notifier, self.heartbeat, self.scheduler = notifier, heartbeat, scheduler
        self._last_ping = float("-inf")
        self.stuck: list[str] = []
        """The cycles and jobs stuck at the last check (STATUS= names them)."""
        self._late: set[str] = set()

    def describe(self, config: Config) -> str:
        """`watchdog 2 s, stall limit 1 s` (or `no watchdog`) for the start line; a WARNING
        when one network call may outlast the stall limit."""
        interval = self.notifier.watchdog_interval()
        if interval is None:
            return "no watchdog"
        limit, longest = self.heartbeat.stall_limit, longest_call(config)
        if limit < longest:
            log.warning(
                "WatchdogSec=%gs is short for this config: one network call may take up "
                "to %g s by its timeouts, longer than the %g s a cycle may go without "
                "progress; set WatchdogSec= to at least %ds",
                2 * interval,
                longest,
                limit,
                math.ceil(2 * longest),
            )
        return f"watchdog {2 * interval:g} s, stall limit {limit:g} s"

    def check(self) -> None:
        """WATCHDOG=1 when due, if every running cycle shows life and the scheduler
        dispatches; a line for each cycle that sticks or moves again."""
        now = time.monotonic()
        stuck = self.heartbeat.stalled(now)
        late = self._late_jobs()
        self._report(stuck, late)
        interval = self.notifier.watchdog_interval()
        due = interval is not None and now - self._last_ping >= interval / 2
        if due and not stuck and not late:
            self.notifier.watchdog()
            self._last_ping = now

    def _late_jobs(self) -> set[str]:
        """Jobs due for longer than the stall limit, twice in a row: the scheduler is not
        dispatching. The first time it is nudged instead, since a wall-clock jump looks the
        same until the scheduler wakes up."""
        now = datetime.now(UTC)
        late = {
            job.id
            for job in self.scheduler.get_jobs()
            if job.next_run_time is not None
            and (now - job.next_run_time).total_seconds() > self.heartbeat.stall_limit
        }
        if late:
            self.scheduler.wakeup()
        confirmed, self._late = late & self._late, late
        return confirmed

    def _report(self, stuck: list[str], late: set[str]) -> None:
        """Log a stuck cycle once when it sticks and once when it moves again."""
        whose = sorted(set(stuck) | late)
        if whose == self.stuck:
            return
        action = (
            "withholding the watchdog ping, so systemd restarts sheetsync"
            if self.notifier.watchdog_interval() is not None
            else "it may be hung"
        )
        for key in sorted(set(stuck) - set(self.stuck)):
            log.error(
                "cycle of %s has shown no progress for %g s; %s",
                key,
                self.heartbeat.stall_limit,
                action,
            )
        for key in sorted(late - set(self.stuck)):
            log.error(
                "the scheduler has not started the due cycle of %s for %g s; %s",
                key,
                self.heartbeat.stall_limit,
                action,
            )
        for key in sorted(set(self.stuck) - set(whose)):
            log.info("cycle of %s is moving again", key)
        self.stuck = whose
