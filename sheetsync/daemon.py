"""The long-running daemon: APScheduler jobs per watch, signals, sd_notify.

The only module that imports APScheduler. Signal handlers only set flags (calling the
scheduler from a handler can deadlock, CPython issue 121649); the main thread's loop
does the work: WATCHDOG=1 while cycles complete, STATUS= updates, reload on SIGHUP,
and a warm stop on the first SIGTERM/SIGINT (the cycle in progress finishes). A
second signal exits at once: the journal keeps that safe.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from sheetsync.config import Config, Watch, load_config
from sheetsync.errors import SheetsyncError
from sheetsync.journal import Journal
from sheetsync.notify import Heartbeat, Notifier, StatusLine
from sheetsync.runtime import Runtime, open_runtime

log = logging.getLogger("sheetsync.daemon")

LOOP_SECONDS = 1.0
"""How often the main thread wakes to ping the watchdog and look at signals."""
STALL_FLOOR_SECONDS = 120.0
"""A cycle running longer than this (or 4x its interval) counts as stuck for the watchdog."""
EXIT_COLD = 1


class Daemon:
    """Schedules every watch of a config and keeps it running until told to stop."""

    def __init__(self, config_path: Path, environ: Mapping[str, str]) -> None:
        self.config_path = config_path
        self.environ = dict(environ)
        self.config: Config = load_config(config_path, self.environ)
        self.notifier = Notifier.from_environ(self.environ)
        self.heartbeat = Heartbeat(stall_limit=self._stall_limit(self.config))
        self.status = StatusLine(watches=len(self.config.watches))
        self.stop_event = threading.Event()
        self.reload_requested = threading.Event()
        self._signals = 0
        self.runtime: Runtime = open_runtime(self.config)
        self.journal: Journal = self.runtime.journal
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=8)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    @staticmethod
    def _stall_limit(config: Config) -> float:
        longest = max((w.interval for w in config.watches), default=60.0)
        return max(STALL_FLOOR_SECONDS, 4 * longest)

    # -- signals ---------------------------------------------------------------
    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self._signals += 1
        if self._signals > 1:
            os.write(2, b"sheetsync: second signal, exiting now\n")
            os._exit(EXIT_COLD)
        self.stop_event.set()

    def _on_hup(self, signum: int, frame: FrameType | None) -> None:
        self.reload_requested.set()
        self.stop_event.set()  # wake the loop; it tells reload from stop

    def install_signals(self) -> None:
        """Route SIGTERM/SIGINT to a warm stop and SIGHUP to a reload."""
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)

    # -- jobs --------------------------------------------------------------------
    def _job(self, runtime: Runtime, watch: Watch) -> None:
        self.heartbeat.cycle_started(watch.name, time.monotonic())
        try:
            report = runtime.cycle(watch)
            self.status.record_cycle(
                watch.name, datetime.now(UTC), triggered=report.triggered, error=report.error
            )
        except Exception as exc:  # a bug in one watch must not stop the others
            log.exception("watch %s: cycle failed unexpectedly: %s", watch.name, exc)
            self.status.record_cycle(watch.name, datetime.now(UTC), error=str(exc))
        finally:
            self.heartbeat.cycle_finished(watch.name, time.monotonic())

    def schedule(self, runtime: Runtime) -> None:
        """(Re)create one job per watch; the first cycle runs at once."""
        for job in self.scheduler.get_jobs():
            job.remove()
        now = datetime.now(UTC)
        for watch in runtime.config.watches:
            trigger: CronTrigger | IntervalTrigger
            if watch.cron:
                trigger = CronTrigger.from_crontab(watch.cron, timezone=UTC)
            else:
                trigger = IntervalTrigger(seconds=watch.interval, timezone=UTC)
            self.scheduler.add_job(
                self._job,
                trigger,
                args=(runtime, watch),
                id=watch.name,
                name=f"watch {watch.name}",
                next_run_time=now,
            )

    # -- main loop -----------------------------------------------------------
    def run(self) -> int:
        """Serve until stopped; returns the exit code."""
        self.install_signals()
        self.schedule(self.runtime)
        self.scheduler.start()
        names = ", ".join(w.name for w in self.config.watches) or "none"
        log.info("sheetsync started: %d watch(es): %s", len(self.config.watches), names)
        self.notifier.ready(self.status.render(datetime.now(UTC)))
        try:
            self._loop()
        finally:
            self.notifier.stopping("finishing the cycle in progress")
            log.info("stopping: finishing the cycle in progress")
            self.scheduler.shutdown(wait=True)
            self.runtime.close()
            log.info("sheetsync stopped")
        return 0

    def _loop(self) -> None:
        while True:
            self.stop_event.wait(LOOP_SECONDS)
            if self.reload_requested.is_set():
                self.reload_requested.clear()
                if self._signals == 0:
                    self.stop_event.clear()
                self.reload()
            if self.stop_event.is_set():
                return
            if self.heartbeat.should_ping(time.monotonic()):
                self.notifier.watchdog()
            else:
                stuck = ", ".join(self.heartbeat.stalled(time.monotonic()))
                log.error("cycle stuck for watch %s; withholding the watchdog ping", stuck)
            self.notifier.status(self.status.render(datetime.now(UTC)))

    def reload(self) -> None:
        """Re-read the config; keep running on the old one when the new one is invalid."""
        self.notifier.reloading("reloading the configuration")
        try:
            config = load_config(self.config_path, self.environ)
            runtime = open_runtime(config, journal=self.journal)
        except SheetsyncError as exc:
            log.error("reload failed, still running the previous config: %s", exc)
            self.notifier.ready(self.status.render(datetime.now(UTC)))
            return
        if config.state_path != self.config.state_path:
            log.warning("[state] path changes need a restart; keeping %s", self.config.state_path)
        self.config, self.runtime = config, runtime
        self.heartbeat.stall_limit = self._stall_limit(config)
        self.status.watches = len(config.watches)
        self.schedule(runtime)
        log.info("configuration reloaded: %d watch(es)", len(config.watches))
        self.notifier.ready(self.status.render(datetime.now(UTC)))
