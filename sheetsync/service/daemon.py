"""The long-running daemon: start, the main loop, signals, reload and stop.

Signal handlers only bump counters (`sheetsync.service.signals` says why); the main loop
wakes on each and does the work:

    SIGHUP            RELOADING=1, re-read the config (an invalid one is refused and the old
                      one kept, `sheetsync.service.reloading`), READY=1
    SIGTERM/SIGINT    STOPPING=1; no new cycle starts, the cycles in progress finish, exit 0
    a second one      exit at once, killed by that signal: the journal keeps every row safe
    every tick        follow the leases (a fleet: `sheetsync.service.leasing`); WATCHDOG=1
                      only while the scheduler dispatches and every running cycle shows life
                      (`sheetsync.service.watchdog`); STATUS= when the summary changes

Which cycle runs when, and on which thread, is `sheetsync.service.dispatch`'s: this module
starts, reloads and stops it, and credits a cycle's thread with its adapters' signs of life.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sheetsync.adapters.store.protocol import Store
from sheetsync.config import Config, load_config
from sheetsync.core import telemetry
from sheetsync.errors import SheetsyncError
from sheetsync.service import reloading
from sheetsync.service.dispatch import Dispatcher
from sheetsync.service.health import needing_a_person, triggered_today
from sheetsync.service.leasing import Leasing, serving, share
from sheetsync.service.logs import journal_prefix
from sheetsync.service.notify import Heartbeat, Notifier, StatusLine, stall_limit
from sheetsync.service.signals import SignalFlags
from sheetsync.service.watchdog import Watchdog
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


class Daemon:
    """Schedules every watch of a config and keeps it running until told to stop."""

    def __init__(
        self,
        config_path: Path,
        environ: Mapping[str, str],
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        pace_clock: Callable[[], float] | None = None,
    ) -> None:
        """Load the config and open the journal; raises ConfigError/JournalError (exit 2).

        `sleep` and `monotonic` are the adapters' (pace, backoff): a fake sleep must
        advance the fake clock, and PostgreSQL's shared paces then count in `pace_clock`
        (Unix seconds; None: the database's clock). The heartbeat counts in real time.
        """
        self._pause, self._monotonic, self._pace_clock = sleep, monotonic, pace_clock
        self.config_path = config_path
        self.environ = dict(environ)
        self.config: Config = load_config(config_path, self.environ)
        self.notifier = Notifier.from_environ(self.environ)
        self.heartbeat = Heartbeat(stall_limit=stall_limit(self.notifier))
        self.status = StatusLine(watches=len(self.config.watches))
        self.signals = SignalFlags()  # bumped by the signal handler; read by the main loop
        self._stop_at: float | None = None
        self._last_status = ""  # the main loop's own
        # no thread starts before `run`: the workers start with the first cycle
        self.dispatcher = Dispatcher(self.heartbeat, self.status, self.notifier, self.signals)
        self.watchdog = Watchdog(self.notifier, self.heartbeat, self.dispatcher.scheduler)
        self.runtime: Runtime = self._open(self.config)
        self.journal: Store = self.runtime.journal
        self.leasing = Leasing(self.journal, fleet=self.config.state.postgres)
        self._seed_status()
        try:
            self.metrics = self._serve_metrics()
        except BaseException:
            self.runtime.close()  # a refused [metrics] listen must not keep the journal's lock
            raise

    def _seed_status(self) -> None:
        """Today's triggered rows and the rows needing a person, from the journal."""
        now = datetime.now(UTC)
        self.status.seed(now.date(), triggered_today(self.journal, now))
        for name, rows in needing_a_person(self.journal, self.config.watches).items():
            self.runtime.problems.attend(name, rows)

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
        runtime = open_runtime(
            config,
            sleep=self._sleep,
            monotonic=self._clock,
            journal=journal,
            pace_clock=self._pace_clock,
        )
        runtime.engine.progress = self._progress
        runtime.engine.stopping = self._past_grace  # a warm stop ends a long backlog early
        return runtime

    def _alive(self, at: float) -> None:
        """Credit the cycle running on this thread (if any) with a sign of life at `at`."""
        self.dispatcher.alive(at)

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

    # -- main loop -----------------------------------------------------------------
    def run(self) -> int:
        """Serve until stopped (call it on the main thread); returns the exit code: 0."""
        if not faulthandler.is_enabled():
            # systemd's watchdog kills with SIGABRT: leave every thread's stack in the journal
            with contextlib.suppress(RuntimeError, ValueError, OSError):
                faulthandler.enable(all_threads=True)
        with self.signals.serving(journal_prefix(logging.WARNING, self.environ)):
            self.dispatcher.schedule(self.runtime)
            self.dispatcher.scheduler.start()
            self.journal.start()  # PostgreSQL: renew and take spreadsheets in the background
            self._announce()
            try:
                self._loop()
            finally:
                self._stop()
        return 0

    def _announce(self) -> None:
        names = ", ".join(w.name for w in self.config.watches) or "none"
        watchdog = self.watchdog.describe(self.config)
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
        """The main loop's tick: follow the leases, WATCHDOG=1 when due, if every running
        cycle shows life and the scheduler dispatches; STATUS= if the summary changed."""
        if self.leasing.follow(self.config, self.runtime.engine):
            self.dispatcher.schedule(self.runtime)  # only the spreadsheets held now are read
            if self.metrics is not None:  # a watch taken over counts from now (/healthz)
                self.metrics.recorder.expect(self._served(), self.metrics.clock())
        self.watchdog.check()
        text = self._status_text()
        if text != self._last_status:
            self._last_status = text
            self.notifier.status(text)

    def _status_text(self) -> str:
        now = datetime.now(UTC)
        problems = self.runtime.problems
        held = share(self.journal, self.config)
        text = self.status.render(now, problems.summary(now), problems.attention(), held)
        return f"stuck: {', '.join(self.watchdog.stuck)}; {text}" if self.watchdog.stuck else text

    def _stop(self) -> None:
        """No new cycle starts; the ones in progress finish; the journal is closed."""
        self._stop_at = time.monotonic()
        busy = self.dispatcher.stop()
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
        self.dispatcher.scheduler.shutdown(wait=False)  # none start now; the running ones go on
        self._drain()
        if self.metrics is not None:  # before the journal: a scrape reads it
            self.metrics.close()
            telemetry.install(telemetry.Telemetry())
        self.dispatcher.close()
        self.runtime.close()
        self.notifier.close()
        log.info("sheetsync stopped")

    def _drain(self) -> None:
        """Wait for the cycles in progress in `nap`, not in a thread join, so that a
        second SIGTERM ends the process whichever thread the kernel hands it to."""
        while not self.dispatcher.idle():
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
        reloading.warn_kept(self.config, config, self.journal.where)
        runtime.problems = self.runtime.problems  # a problem that lasts is not logged again
        runtime.engine.unsettled = self.runtime.engine.unsettled  # sends still to record
        runtime.problems.forget({w.name for w in config.watches})
        before, self.config, self.runtime = self.config, config, runtime
        self.status.watches = len(config.watches)
        self.leasing.reload(config, runtime.engine)  # removed spreadsheets are released
        if self.metrics is not None:
            self.metrics.recorder.expect(self._served(), self.metrics.started)
        self.dispatcher.schedule(runtime)
        log.info("configuration reloaded: %s", reloading.changes(before, config))
