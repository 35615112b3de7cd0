"""The long-running daemon: APScheduler jobs, signals, sd_notify and the watchdog rule.

The only module that imports APScheduler. Signal handlers only bump counters: a handler
runs on the main thread between two bytecodes, so any lock it takes (the scheduler's,
or the one inside `threading.Event.set()`) may already be held by the code it
interrupted (cf. CPython issues 121649 and 126434). `signal.set_wakeup_fd` wakes the main
loop, which does the work:

    SIGHUP            RELOADING=1, re-read the config (an invalid one is refused and the old
                      one kept), READY=1
    SIGTERM/SIGINT    STOPPING=1; no new cycle starts, the cycles in progress finish, exit 0
    a second one      exit at once, killed by that signal: the journal keeps every row safe
    every tick        WATCHDOG=1 only while the scheduler dispatches and no running cycle
                      has gone without a sign of life for the stall limit (half of
                      WatchdogSec=); STATUS= when the summary changes

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
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from apscheduler.executors.debug import DebugExecutor
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from sheetsync.adapters.store.protocol import Store
from sheetsync.config import Config, Watch, load_config
from sheetsync.core import telemetry
from sheetsync.core.budget import Budget
from sheetsync.errors import SheetsyncError
from sheetsync.service.drive import ChangeFeed, Lookout, end_turn
from sheetsync.service.health import longest_call, needing_a_person, triggered_today
from sheetsync.service.leasing import Leasing, serving, share
from sheetsync.service.logs import journal_prefix
from sheetsync.service.notify import Heartbeat, Notifier, StatusLine, stall_limit
from sheetsync.service.rota import Rota
from sheetsync.service.schedules import Team, group_key, teams
from sheetsync.service.signals import SignalFlags
from sheetsync.service.wiring import Runtime, open_runtime

if TYPE_CHECKING:
    from sheetsync.service.metrics import MetricsServer

log = logging.getLogger("sheetsync.daemon")

TICK_SECONDS = 5.0
"""The main loop wakes at least this often (more often under a short watchdog); signals
and, under systemd, every cycle's end wake it at once."""
STOP_GRACE_SECONDS = 25.0
"""After SIGTERM a cycle still sends this long; then waits for pace slots end within a
second, its unsent rows wait for the next start (`waiting`, never `sending`) and the cycle
ends within 30 s of the signal, well inside the unit's TimeoutStopSec=90s."""
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


class Daemon:
    """Schedules every watch of a config and keeps it running until told to stop."""

    def __init__(
        self,
        config_path: Path,
        environ: Mapping[str, str],
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Load the config and open the journal; raises ConfigError/JournalError (exit 2).

        `sleep` and `monotonic` are the adapters' (pace, backoff): a fake sleep must
        advance the fake clock. The heartbeat counts in real time whatever they are.
        """
        self._pause, self._monotonic = sleep, monotonic
        self.config_path = config_path
        self.environ = dict(environ)
        self.config: Config = load_config(config_path, self.environ)
        self.notifier = Notifier.from_environ(self.environ)
        self.heartbeat = Heartbeat(stall_limit=stall_limit(self.notifier))
        self.status = StatusLine(watches=len(self.config.watches))
        self.signals = SignalFlags()  # bumped by the signal handler; read by the main loop
        self._stop_at: float | None = None
        # shared by the main loop and the job threads
        self._stopping = False
        self._busy: set[str] = set()
        self._dealt = 0  # cycles started by the slot jobs and not finished yet
        self._busy_lock = threading.Lock()
        self._budgets: set[str] = set()  # budget lines already logged
        self.teams: list[Team] = []
        self._rotas: list[tuple[Team, RotaTrigger]] = []
        self._local = threading.local()
        # the main loop's own
        self._last_ping = float("-inf")
        self._last_status = ""
        self._stuck: list[str] = []
        self._late: set[str] = set()
        self.runtime: Runtime = self._open(self.config)
        self.journal: Store = self.runtime.journal
        self.leasing = Leasing(self.journal, fleet=self.config.state.postgres)
        now = datetime.now(UTC)
        self.status.seed(now.date(), triggered_today(self.journal, now))
        for name, rows in needing_a_person(self.journal, self.config.watches).items():
            self.runtime.problems.attend(name, rows)
        try:
            self.metrics = self._serve_metrics()
        except BaseException:
            self.runtime.close()  # a refused [metrics] listen must not keep the journal's lock
            raise
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

    def _serve_metrics(self) -> MetricsServer | None:
        """Start /metrics and /healthz when configured (prometheus_client is loaded only then)."""
        if self.config.metrics.listen is None:
            return None
        from sheetsync.service.metrics import MetricsServer

        server = MetricsServer(
            self.config.metrics.listen,
            lambda: self.journal,
            lambda: serving(self.journal, self.config.watches),  # a peer's are its to report
            share=lambda: share(self.journal, self.config),
        )
        server.recorder.expect(self._served(), server.started)
        telemetry.install(server.recorder)
        log.info("metrics on http://%s/metrics and /healthz", self.config.metrics.listen)
        return server

    # -- signs of life -------------------------------------------------------------
    def _open(self, config: Config, journal: Store | None = None) -> Runtime:
        runtime = open_runtime(config, sleep=self._sleep, monotonic=self._clock, journal=journal)
        runtime.engine.progress = self._progress
        runtime.engine.stopping = self._past_grace  # a warm stop ends a long backlog early
        return runtime

    def _alive(self, at: float) -> None:
        """Credit the cycle running on this thread (if any) with a sign of life at `at`."""
        key: str | None = getattr(self._local, "job", None)
        if key is not None:
            self.heartbeat.alive(key, at)

    def _clock(self) -> float:
        """The adapters' pacers' clock: every request is paced, so it is life."""
        self._alive(time.monotonic())
        return self._monotonic()

    def _sleep(self, seconds: float) -> None:
        """`time.sleep` for the adapters: a deliberate wait (pace, backoff) is life till it ends."""
        self._alive(time.monotonic() + max(0.0, seconds))
        self._pause(seconds)

    def _progress(self, watch: str, done: int, total: int) -> None:
        """The engine finished a trigger (called on the cycle's thread)."""
        del watch, done, total
        self._alive(time.monotonic())

    def stop(self) -> None:
        """Ask for a warm stop as the first SIGTERM does (from another thread, not a handler)."""
        self.signals.request_stop()

    def _stop_requested(self) -> bool:
        return self.signals.stops > 0

    def _past_grace(self) -> bool:
        """After a stop request, a cycle may go on sending for `STOP_GRACE_SECONDS`."""
        return self._stop_at is not None and time.monotonic() - self._stop_at > STOP_GRACE_SECONDS

    # -- jobs ----------------------------------------------------------------------
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

    # -- main loop -----------------------------------------------------------------
    def run(self) -> int:
        """Serve until stopped (call it on the main thread); returns the exit code: 0."""
        if not faulthandler.is_enabled():
            # systemd's watchdog kills with SIGABRT: leave every thread's stack in the journal
            with contextlib.suppress(RuntimeError, ValueError, OSError):
                faulthandler.enable(all_threads=True)
        with self.signals.serving(journal_prefix(logging.WARNING, self.environ)):
            self.schedule(self.runtime)
            self.scheduler.start()
            self.journal.start()  # PostgreSQL: renew and take spreadsheets in the background
            self._announce()
            try:
                self._loop()
            finally:
                self._stop()
        return 0

    def _announce(self) -> None:
        names = ", ".join(w.name for w in self.config.watches) or "none"
        interval = self.notifier.watchdog_interval()
        watchdog = "no watchdog"
        if interval is not None:
            limit, longest = self.heartbeat.stall_limit, longest_call(self.config)
            watchdog = f"watchdog {2 * interval:g} s, stall limit {limit:g} s"
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
        log.info(
            "sheetsync started: %d watch(es): %s; %s",
            len(self.config.watches),
            names,
            watchdog,
        )
        self._last_status = self._status_text()
        self.notifier.ready(self._last_status)

    def _served(self) -> set[str]:
        """The watches this instance serves (SQLite: every enabled one)."""
        return {w.name for w in serving(self.journal, self.config.watches)}

    def _tick(self) -> float:
        interval = self.notifier.watchdog_interval()
        tick = TICK_SECONDS if interval is None else min(TICK_SECONDS, interval / 2)
        return min(tick, self.config.state.acquire_seconds) if self.config.state.postgres else tick

    def _loop(self) -> None:
        tick = self._tick()
        while not self._stop_requested():
            self.signals.nap(tick)
            if self._stop_requested():
                return
            if self.signals.take_reload():
                self.reload()
            self.beat()

    def beat(self) -> None:
        """The main loop's tick: WATCHDOG=1 when due, if every running cycle shows life and
        the scheduler dispatches; STATUS= if the summary changed."""
        if self.leasing.follow(self.config, self.runtime.engine):
            self.schedule(self.runtime)  # only the spreadsheets held now are read
            if self.metrics is not None:  # a watch taken over counts from now (/healthz)
                self.metrics.recorder.expect(self._served(), self.metrics.clock())
        now = time.monotonic()
        stuck = self.heartbeat.stalled(now)
        late = self._late_jobs()
        self._report(stuck, late)
        interval = self.notifier.watchdog_interval()
        due = interval is not None and now - self._last_ping >= interval / 2
        if due and not stuck and not late:
            self.notifier.watchdog()
            self._last_ping = now
        text = self._status_text()
        if text != self._last_status:
            self._last_status = text
            self.notifier.status(text)

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
        if whose == self._stuck:
            return
        action = (
            "withholding the watchdog ping, so systemd restarts sheetsync"
            if self.notifier.watchdog_interval() is not None
            else "it may be hung"
        )
        for key in sorted(set(stuck) - set(self._stuck)):
            log.error(
                "cycle of %s has shown no progress for %g s; %s",
                key,
                self.heartbeat.stall_limit,
                action,
            )
        for key in sorted(late - set(self._stuck)):
            log.error(
                "the scheduler has not started the due cycle of %s for %g s; %s",
                key,
                self.heartbeat.stall_limit,
                action,
            )
        for key in sorted(set(self._stuck) - set(whose)):
            log.info("cycle of %s is moving again", key)
        self._stuck = whose

    def _status_text(self) -> str:
        now = datetime.now(UTC)
        problems = self.runtime.problems
        held = share(self.journal, self.config)
        text = self.status.render(now, problems.summary(now), problems.attention(), held)
        return f"stuck: {', '.join(self._stuck)}; {text}" if self._stuck else text

    def _stop(self) -> None:
        """No new cycle starts; the ones in progress finish; the journal is closed."""
        self._stop_at = time.monotonic()
        with self._busy_lock:
            self._stopping = True
            busy = sorted(self._busy)
        reason = self.signals.reason()
        if busy:
            log.info(
                "%s: finishing the cycle in progress (watch %s), then exiting; "
                "a second signal exits at once",
                reason,
                ", ".join(busy),
            )
            self.notifier.stopping(f"stopping: finishing the cycle of {', '.join(busy)}")
        else:
            log.info("%s: no cycle in progress, exiting", reason)
            self.notifier.stopping("stopping")
        self.scheduler.shutdown(wait=False)  # none start now; the running ones go on
        self._drain()
        if self.metrics is not None:  # before the journal: a scrape reads it
            self.metrics.close()
            telemetry.install(telemetry.Telemetry())
        self._workers.shutdown(wait=False)
        self.runtime.close()
        self.notifier.close()
        log.info("sheetsync stopped")

    def _drain(self) -> None:
        """Wait for the cycles in progress in `nap`, not in a thread join, so that a
        second SIGTERM ends the process whichever thread the kernel hands it to."""
        while True:
            with self._busy_lock:
                if not self._busy:
                    return
            self.signals.nap(self._tick())

    def reload(self) -> None:
        """Re-read the config; keep running on the old one when the new one is invalid."""
        self.notifier.reloading("reloading the configuration")
        try:
            config = load_config(self.config_path, self.environ)
            runtime = self._open(config, journal=self.journal)
        except SheetsyncError as exc:
            log.error("reload failed, still running the previous config: %s", exc)
        except Exception as exc:  # a bug while reloading must not take a working daemon down
            log.exception("reload failed, still running the previous config: %r", exc)
        else:
            self._adopt(config, runtime)
        self._last_status = self._status_text()
        self.notifier.ready(self._last_status)

    def _adopt(self, config: Config, runtime: Runtime) -> None:
        if (config.state_path, config.state.url) != (self.config.state_path, self.config.state.url):
            key = "url" if self.config.state.postgres else "path"  # SQLite's words as ever
            log.warning("[state] %s changes need a restart; keeping %s", key, self.journal.where)
        if config.metrics.listen != self.config.metrics.listen:
            kept = self.config.metrics.listen or "no metrics"
            log.warning("[metrics] listen changes need a restart; keeping %s", kept)
        before = {w.name for w in self.config.watches}
        after = {w.name for w in config.watches}
        runtime.problems = self.runtime.problems  # a problem that lasts is not logged again
        runtime.problems.forget(after)
        self.config, self.runtime = config, runtime
        self.status.watches = len(config.watches)
        self.leasing.reload(config, runtime.engine)  # removed spreadsheets are released
        if self.metrics is not None:
            self.metrics.recorder.expect(self._served(), self.metrics.started)
        self.schedule(runtime)
        changes = [
            f"{what}: {', '.join(sorted(names))}"
            for what, names in (("added", after - before), ("removed", before - after))
            if names
        ]
        log.info(
            "configuration reloaded: %d watch(es)%s",
            len(config.watches),
            f" ({'; '.join(changes)})" if changes else "",
        )
