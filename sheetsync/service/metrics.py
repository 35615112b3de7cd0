"""Prometheus metrics and /healthz (`[metrics] listen`), with the official prometheus_client.

Imported only when the config has `[metrics]`: the idle daemon without it never loads
prometheus_client. `Recorder` is the `Telemetry` the adapters and the engine report to;
`JournalCollector` reads the enabled watches' rows by state, the journal's size and (on
PostgreSQL) the spreadsheets this instance holds at each scrape; `MetricsServer` serves
both, and `/healthz`, on a small threaded HTTP server.

    GET /metrics   the Prometheus text format (any other path but /healthz too)
    GET /healthz   200 while every watch served had a successful cycle within 3 of its
                   intervals (counted from the start for a watch still on its first), else 503
                   (on PostgreSQL a watch is served by the holder of its spreadsheet's lease)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from sheetsync.adapters.store.protocol import Store
from sheetsync.config import Watch
from sheetsync.core.report import CycleReport
from sheetsync.core.telemetry import Telemetry
from sheetsync.errors import ConfigError
from sheetsync.service.health import healthy

CYCLE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
"""Seconds: an idle cycle is well under 0.1 s, a backlog at axiom's pace takes minutes."""


class Recorder(Telemetry):
    """Turns the hooks into Prometheus counters, histograms and gauges."""

    def __init__(self, registry: CollectorRegistry, clock: Callable[[], float] = time.time):
        self.clock = clock
        self.last_success: dict[str, float] = {}
        self._gauged: set[str] = set()
        """Watches with a sample in the last-success gauge."""
        self._lock = threading.Lock()
        self.rows = Counter(
            "sheetsync_row_outcomes",
            "Rows whose trigger ended (sent or held back), by watch and outcome",
            ["watch", "outcome"],
            registry=registry,
        )
        self.triggers = Counter(
            "sheetsync_triggers",
            "POSTs to /trigger by watch and result (the outcome, or retried)",
            ["watch", "result"],
            registry=registry,
        )
        self.requests = Counter(
            "sheetsync_requests",
            "HTTP requests to Google Sheets and axiom by kind and status (429s included)",
            ["service", "kind", "status"],
            registry=registry,
        )
        self.pacing = Counter(
            "sheetsync_pacing_wait_seconds",
            "Seconds requests waited for a slot of the shared pace",
            ["service"],
            registry=registry,
        )
        self.cycles = Counter(
            "sheetsync_cycles", "Cycles by watch and result", ["watch", "result"], registry=registry
        )
        self.duration = Histogram(
            "sheetsync_cycle_duration_seconds",
            "How long cycles took",
            ["watch"],
            buckets=CYCLE_BUCKETS,
            registry=registry,
        )
        self.success = Gauge(
            "sheetsync_last_successful_cycle_timestamp_seconds",
            "Unix time of each watch's last cycle without error",
            ["watch"],
            registry=registry,
        )

    def request(self, service: str, kind: str, status: str) -> None:
        """Count one request."""
        self.requests.labels(service, kind, status).inc()

    def paced(self, service: str, seconds: float) -> None:
        """Add a pacing wait (the series exists from the first paced request, at 0)."""
        self.pacing.labels(service).inc(max(0.0, seconds))

    def outcome(self, watch: str, state: str, rows: int) -> None:
        """Count rows by outcome."""
        self.rows.labels(watch, state).inc(rows)

    def trigger(self, watch: str, result: str) -> None:
        """Count one POST to /trigger."""
        self.triggers.labels(watch, result).inc()

    def expect(self, watches: Iterable[str], started: float) -> None:
        """The watches served (at start, after each reload or lease change): one still without a
        successful cycle counts from `started`, as /healthz does, so that an alert on the
        gauge's age fires for a watch broken since a restart; a removed watch's is gone."""
        names = set(watches)
        with self._lock:
            for gone in self._gauged - names:
                self.success.remove(gone)
                self.last_success.pop(gone, None)
            for name in names - set(self.last_success):
                self.success.labels(name).set(started)
            self._gauged = names

    def cycle(self, report: CycleReport, at: float) -> None:
        """Observe a cycle; a successful one moves the watch's last-success time."""
        self.duration.labels(report.watch).observe(report.seconds)
        self.cycles.labels(report.watch, "error" if report.error else "ok").inc()
        if report.error is None:
            with self._lock:
                self.success.labels(report.watch).set(at)
                self.last_success[report.watch] = at
                self._gauged.add(report.watch)


class JournalCollector(Collector):
    """Rows of the enabled watches by state and the journal's size on disk, read at each
    scrape."""

    def __init__(
        self,
        journal: Callable[[], Store],
        watches: Callable[[], Sequence[Watch]],
        share: Callable[[], tuple[int, int] | None] = lambda: None,
    ) -> None:
        self.journal = journal
        self.watches = watches
        self.share = share

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The two gauges, from the journal as it is now."""
        journal = self.journal()
        rows = GaugeMetricFamily(
            "sheetsync_rows", "Rows in the journal by watch and state", labels=["watch", "state"]
        )
        for watch in sorted({w.name for w in self.watches()}):
            for state, count in journal.counts(watch).items():
                rows.add_metric([watch, state], count)
        yield rows
        yield GaugeMetricFamily(
            "sheetsync_journal_size_bytes",
            "The journal's size: the SQLite file and its WAL, or the PostgreSQL database",
            value=journal.size_bytes(),
        )
        held = self.share()
        if held is not None:  # PostgreSQL: this instance's part of the fleet's spreadsheets
            yield GaugeMetricFamily(
                "sheetsync_spreadsheets_held",
                "Spreadsheets whose lease this instance holds (it serves their watches)",
                value=held[0],
            )
            yield GaugeMetricFamily(
                "sheetsync_spreadsheets_configured",
                "Spreadsheets of the config, shared by every instance",
                value=held[1],
            )


def interval_seconds(watch: Watch, now: datetime) -> float:
    """A watch's interval; for a cron expression, the gap between its next two runs."""
    if not watch.cron:
        return watch.interval
    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger.from_crontab(watch.cron, timezone=UTC)
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1)) if first else None
    return (second - first).total_seconds() if first and second else 86400.0


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every 15 s would flood the journal: say nothing."""


class MetricsServer:
    """Serves /metrics and /healthz on `listen` (`host:port`) from a daemon thread."""

    def __init__(
        self,
        listen: str,
        journal: Callable[[], Store],
        watches: Callable[[], Sequence[Watch]],
        *,
        clock: Callable[[], float] = time.time,
        share: Callable[[], tuple[int, int] | None] = lambda: None,
    ) -> None:
        """`share`: (spreadsheets held, configured) on PostgreSQL, None on SQLite."""
        self.registry = CollectorRegistry()
        self.recorder = Recorder(self.registry, clock)
        self.registry.register(JournalCollector(journal, watches, share))
        self.watches = watches
        self.clock = clock
        self.started = clock()
        self._metrics_app = make_wsgi_app(self.registry)
        host, _, port = listen.rpartition(":")
        try:
            self.server = make_server(
                host.strip("[]"), int(port), self._app, _ThreadingServer, _QuietHandler
            )
        except OSError as exc:
            raise ConfigError(f"metrics.listen: cannot listen on {listen}: {exc.strerror}") from exc
        self.port = self.server.server_port
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="metrics", daemon=True
        )
        self._thread.start()

    def health(self) -> tuple[bool, list[str]]:
        """The /healthz verdict now."""
        now = self.clock()
        at = datetime.fromtimestamp(now, UTC)
        intervals = {w.name: interval_seconds(w, at) for w in self.watches()}
        return healthy(intervals, dict(self.recorder.last_success), self.started, now)

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == "/healthz":
            ok, late = self.health()
            body = ("ok\n" if ok else "\n".join(late) + "\n").encode()
            status = "200 OK" if ok else "503 Service Unavailable"
            start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
            return [body]
        return self._metrics_app(environ, start_response)

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
