"""Dealing cycles out: the daemon's APScheduler jobs, its pool of cycle workers, and the
rule that a watch never runs two cycles at once.

Cycles are dealt out per Google identity by its rota (`sheetsync.service.rota`): one APScheduler
job per identity runs (in the scheduler's thread) when the rota says a start may be due,
at most once a read slot (60 / reads a minute), and hands the group of watches (those
sharing a spreadsheet and a schedule, see `engine.group_watches`) due the longest to a
pool of worker threads; an idle identity does not wake. With Drive change detection an
interval job per identity looks at Drive's changes once a tick and tells the rota which
spreadsheets changed (`sheetsync.service.drive`). Schedules that ask more reads than an
identity's budget are logged once, at WARNING, with the intervals that follow
(`sheetsync.core.budget`). A watch never runs two cycles at once, not even across a reload: a
cycle that finds one of its watches busy is skipped and its turn comes again.

The only module that builds APScheduler's scheduler and its jobs; the daemon
(`sheetsync.service.daemon`) starts it, reschedules it on a reload and shuts it down.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from concurrent import futures
from datetime import UTC, datetime, timedelta

from apscheduler.executors.debug import DebugExecutor
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from sheetsync.config import Watch
from sheetsync.core.budget import Budget
from sheetsync.service.drive import ChangeFeed, Lookout, end_turn
from sheetsync.service.leasing import serving
from sheetsync.service.notify import Heartbeat, Notifier, StatusLine
from sheetsync.service.rota import Rota
from sheetsync.service.schedules import Team, group_key, teams
from sheetsync.service.signals import SignalFlags
from sheetsync.service.wiring import Runtime

log = logging.getLogger("sheetsync.daemon")  # the daemon's lines, as operators grep them

MAX_WORKERS = 8
"""Cycles (groups of watches) that may run at once."""
SLOTS = "slots"
"""The executor of the identities' slot jobs: the scheduler's own thread (they never wait,
and an idle daemon then wakes one thread, not two, when a start falls due)."""
IDLE_RECHECK = timedelta(seconds=60)
"""A slot job with nothing due looks again this late at the latest (every event that
makes a start due sooner also pulls it forward)."""
LOOKS = "looks"
"""The executor of the Drive looks: a look waits for Drive (up to its timeouts) without
holding up a slot; threads start only as needed."""
MAX_LOOKS = 16


class RotaTrigger(BaseTrigger):  # type: ignore[misc]
    """APScheduler's next run time of a slot job: when the identity's rota says a start may
    be due (`Rota.wake_at`), so an idle identity does not wake once a slot."""

    def __init__(self, rota: Rota) -> None:
        self.rota = rota
        self.planned: datetime | None = None
        """The last time it answered: a nudge to a later time is no news."""

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """The rota's wake-up time, never `now` itself (APScheduler loops while it is <= now)."""
        del previous_fire_time
        wake = self.rota.wake_at(now)
        soonest = now + timedelta(milliseconds=10)
        self.planned = soonest + IDLE_RECHECK if wake is None else max(wake, soonest)
        return self.planned


class Dispatcher:
    """The scheduler and its jobs, the cycle workers, and which watches are busy.

    Shared by the main loop and the job threads: `_busy_lock` guards `_stopping`, `_busy`
    and `_dealt`. A cycle's thread is credited with the signs of life of its adapters
    (`alive`), so the heartbeat knows which cycle moves.
    """

    def __init__(
        self, heartbeat: Heartbeat, status: StatusLine, notifier: Notifier, signals: SignalFlags
    ) -> None:
        self.heartbeat, self.status = heartbeat, status
        self.notifier, self.signals = notifier, signals
        self._stopping = False
        self._busy: set[str] = set()
        self._dealt = 0  # cycles started by the slot jobs and not finished yet
        self._busy_lock = threading.Lock()
        self._budgets: set[str] = set()  # budget lines already logged
        self.teams: list[Team] = []
        self._rotas: list[tuple[Team, RotaTrigger]] = []
        self._local = threading.local()
        # the cycles the slot jobs start run here: a one-off APScheduler job per cycle
        # would cost the scheduler thread a job and two more wake-ups each time
        self._workers = futures.ThreadPoolExecutor(MAX_WORKERS, thread_name_prefix="cycle")
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={
                SLOTS: DebugExecutor(),
                LOOKS: ThreadPoolExecutor(max_workers=MAX_LOOKS),
            },
            # misfire_grace_time=None: a late run still runs (the default 1 s skips it).
            # max_instances=3: a Drive look still waiting for Drive at its next tick lets
            # the next one pass quietly instead of being skipped with a warning.
            job_defaults={"coalesce": True, "max_instances": 3, "misfire_grace_time": None},
        )

    def alive(self, at: float) -> None:
        """Credit the cycle running on this thread (if any) with a sign of life at `at`."""
        key: str | None = getattr(self._local, "job", None)
        if key is not None:
            self.heartbeat.alive(key, at)

    def schedule(self, runtime: Runtime) -> None:
        """(Re)build each identity's rota and its slot job; every group's first cycle comes
        at once (one per slot)."""
        self.scheduler.remove_all_jobs()
        now = datetime.now(UTC)
        self.teams = teams(serving(runtime.journal, runtime.config.watches), runtime.sheets, now)
        google = runtime.config.google
        max_idle = google.max_idle_seconds if google.drive else None
        self._rotas = []
        for team in self.teams:
            self._announce_budget(team.budget(max_idle))
            rota = team.rota(now, max_idle)
            trigger = RotaTrigger(rota)
            self._rotas.append((team, trigger))
            self.scheduler.add_job(
                self._slot,
                trigger,
                args=(runtime, team, rota),
                id=f"slots {team.identity.name}",
                name=f"read slots of {team.identity.label}",
                executor=SLOTS,
                next_run_time=now,
            )
            if max_idle is not None:
                lookout = Lookout(team, rota, ChangeFeed(team.identity.sheets))
                self.scheduler.add_job(
                    self._look,
                    IntervalTrigger(seconds=team.tick, timezone=UTC),
                    args=(lookout,),
                    id=f"drive {team.identity.name}",
                    name=f"Drive changes of {team.identity.label}",
                    executor=LOOKS,
                    next_run_time=now,
                )

    def _announce_budget(self, budget: Budget) -> None:
        """A WARNING when the schedules need more reads than the budget (once per text)."""
        text = budget.describe()
        if budget.over and text not in self._budgets:
            self._budgets.add(text)
            log.warning("%s", text)

    def _slot(self, runtime: Runtime, team: Team, rota: Rota) -> None:
        """One read slot of an identity: start the group due longest, if any (never waits)."""
        with self._busy_lock:
            if self._stopping:
                return
            free = MAX_WORKERS - self._dealt
            key = rota.take(datetime.now(UTC), free)
            if key is None:
                return
            self._dealt += 1
        self._workers.submit(self._dealt_cycle, runtime, team.groups[key], rota)

    def _dealt_cycle(self, runtime: Runtime, watches: Sequence[Watch], rota: Rota) -> None:
        try:
            self.run_cycle(runtime, watches, rota)
        finally:
            with self._busy_lock:
                self._dealt -= 1
            for team, trigger in self._rotas:  # a worker is free: any identity may start
                trigger.rota.resume()
                self._nudge(team, trigger)

    def _look(self, lookout: Lookout) -> None:
        """A Drive look; what changed may be due at once."""
        lookout.look(datetime.now(UTC))
        for team, trigger in self._rotas:
            if trigger.rota is lookout.rota:
                self._nudge(team, trigger)

    def _nudge(self, team: Team, trigger: RotaTrigger) -> None:
        """Pull an identity's slot job forward when its rota has a start due sooner."""
        wake = trigger.rota.wake_at(datetime.now(UTC))
        if wake is None or (trigger.planned is not None and wake >= trigger.planned):
            return
        trigger.planned = wake
        with contextlib.suppress(JobLookupError):
            self.scheduler.modify_job(f"slots {team.identity.name}", next_run_time=wake)

    def run_cycle(
        self, runtime: Runtime, watches: Sequence[Watch], rota: Rota | None = None
    ) -> bool:
        """One cycle of a group of watches; False when skipped (stopping, or a watch busy)."""
        names = {w.name for w in watches}
        key = group_key(watches)
        with self._busy_lock:
            if self._stopping or names & self._busy:
                log.debug("cycle of %s skipped: stopping or still busy", key)
                if rota is not None:
                    rota.release(key)
                return False
            self._busy |= names
        self._local.job = key
        self.heartbeat.cycle_started(key, time.monotonic())
        started = datetime.now(UTC)
        reports = None
        try:
            reports = runtime.cycle_group(watches)
            for report in reports:
                self.status.record_cycle(
                    report.watch, datetime.now(UTC), triggered=report.triggered, error=report.error
                )
        except Exception as exc:  # a bug in one group must not stop the others
            log.exception("cycle of %s failed unexpectedly: %s", key, exc)
            for name in sorted(names):
                self.status.record_cycle(name, datetime.now(UTC), error=str(exc))
        finally:
            self.heartbeat.cycle_finished(key, time.monotonic())
            self._local.job = None
            if rota is not None:
                end_turn(rota, runtime.sheets, runtime.journal, watches, reports, started)
            else:
                runtime.sheets.take_reads(watches[0].spreadsheet_id)
            self._done(names)
        return True

    def _done(self, names: set[str]) -> None:
        with self._busy_lock:
            self._busy -= names
            stopping = self._stopping
        if stopping or self.notifier.enabled:
            # the main loop waits for the cycles in progress to end, or sends STATUS=
            self.signals.wake()

    def stop(self) -> list[str]:
        """No new cycle starts from now; the watches whose cycles are still running."""
        with self._busy_lock:
            self._stopping = True
            return sorted(self._busy)

    def idle(self) -> bool:
        """Whether no cycle is running."""
        with self._busy_lock:
            return not self._busy

    def close(self) -> None:
        """Let the workers go (the cycles have ended: `idle`)."""
        self._workers.shutdown(wait=False)
