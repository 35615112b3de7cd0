"""`[metrics]`: Prometheus metrics and /healthz, scraped over HTTP; nothing loaded without it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from sheetsync.core import telemetry
from sheetsync.service.daemon import Daemon
from sheetsync.testing import World

HEADER = ["url", "product"]


@pytest.fixture(autouse=True)
def _no_telemetry_left() -> Iterator[None]:
    """A daemon that was not stopped must not leave its recorder installed."""
    yield
    telemetry.install(telemetry.Telemetry())


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics, by name and labels."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_outcomes_requests_429s_and_health(world: World) -> None:
    """A scrape shows outcomes by watch, requests by kind and status (a 429 too), rows by
    state, the cycle histogram, the last success and the journal size; /healthz turns 503
    once a watch had no successful cycle for three intervals."""
    world.sheet([HEADER, ["https://a", "A"], ["https://b", "B"]])
    world.axiom.script(["started", "error"])
    world.axiom.add_fault(path="/trigger$", status=429, count=1, retry_after="1")
    config = world.config({"interval_seconds": 10}, metrics={"listen": "127.0.0.1:0"})
    daemon = Daemon(
        config,
        world.environ,
        sleep=world.clock.sleep,
        monotonic=world.clock.monotonic,
        pace_clock=world.pace_time,
    )
    try:
        assert daemon.metrics is not None
        now = [daemon.metrics.clock()]
        daemon.metrics.clock = lambda: now[0]
        port = daemon.metrics.port
        daemon.dispatcher.run_cycle(daemon.runtime, daemon.config.watches)
        samples = scrape(port)
        health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        now[0] = daemon.metrics.recorder.last_success["w0"] + 31
        late = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    finally:
        daemon.runtime.close()
        daemon.metrics.close() if daemon.metrics else None

    def value(name: str, **labels: str) -> float:
        return samples.get((name, frozenset(labels.items())), 0.0)

    assert value("sheetsync_row_outcomes_total", watch="w0", outcome="triggered") == 1
    assert value("sheetsync_row_outcomes_total", watch="w0", outcome="error") == 1
    assert value("sheetsync_triggers_total", watch="w0", result="retried") == 1  # the 429
    assert value("sheetsync_triggers_total", watch="w0", result="triggered") == 1
    assert value("sheetsync_triggers_total", watch="w0", result="error") == 1
    assert value("sheetsync_requests_total", service="axiom", kind="trigger", status="429") == 1
    assert value("sheetsync_requests_total", service="axiom", kind="trigger", status="200") == 1
    assert value("sheetsync_requests_total", service="axiom", kind="trigger", status="404") == 1
    reads = value(
        "sheetsync_requests_total", service="sheets", kind="values.batchGet", status="200"
    )
    assert reads >= 2  # read 1 and read 2 (and the resize's metadata read)
    assert value("sheetsync_rows", watch="w0", state="triggered") == 1
    assert value("sheetsync_rows", watch="w0", state="error") == 1
    assert value("sheetsync_cycle_duration_seconds_count", watch="w0") == 1
    assert value("sheetsync_cycles_total", watch="w0", result="ok") == 1
    assert value("sheetsync_last_successful_cycle_timestamp_seconds", watch="w0") > 1e9
    assert value("sheetsync_journal_size_bytes") > 0
    assert ("sheetsync_pacing_wait_seconds_total", frozenset({("service", "axiom")})) in samples
    assert world.clock.sleeps == [1.0]  # the 429's Retry-After, on the injected clock
    assert health.status_code == 200 and health.text == "ok\n"
    assert late.status_code == 503 and "w0: no successful cycle for 0:00:31" in late.text


def test_a_port_in_use_is_a_config_error(world: World) -> None:
    """Another process on the metrics port: one line naming the key, exit 2 from `run`."""
    import socket

    from sheetsync.errors import ConfigError

    world.sheet([HEADER])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = world.config(metrics={"listen": f"127.0.0.1:{port}"})
        with pytest.raises(ConfigError, match=f"metrics.listen: cannot listen on 127.0.0.1:{port}"):
            Daemon(config, world.environ)


LAZY = """
import sys
from sheetsync.service.daemon import Daemon
daemon = Daemon(sys.argv[1], {"SHEETSYNC_TEST_AXIOM_KEY": sys.argv[2]})
daemon.dispatcher.run_cycle(daemon.runtime, daemon.config.watches)
print("prometheus_client" in sys.modules)
"""


def test_without_metrics_prometheus_client_is_never_imported(world: World) -> None:
    """The idle daemon's memory: no `[metrics]`, no prometheus_client in the process."""
    world.sheet([HEADER, ["https://a", "A"]])
    config = world.config()
    key = world.environ["SHEETSYNC_TEST_AXIOM_KEY"]
    proc = subprocess.run(
        [sys.executable, "-c", LAZY, str(config), key],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert proc.stdout.strip() == "False", proc.stderr
    assert world.column("Status") == ["triggered"]


def test_a_watch_that_never_succeeded_has_a_last_success_from_the_start(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The "no successful cycle for 10 minutes" alert fires after a restart with a broken
    watch too: every enabled watch's last success starts at the process start (as /healthz
    counts), a watch added by a reload gets one, a removed one loses it; a reload that
    changes `[metrics] listen` says it needs a restart."""
    world.sheet([HEADER, ["https://a", "A"]])
    config = world.config({"worksheet": "Missing"}, metrics={"listen": "127.0.0.1:0"})
    daemon = Daemon(config, world.environ)
    try:
        assert daemon.metrics is not None
        port, started = daemon.metrics.port, daemon.metrics.started
        before = scrape(port)
        daemon.dispatcher.run_cycle(daemon.runtime, daemon.config.watches)
        failed = scrape(port)
        world.config({"name": "w1"}, metrics={"listen": "127.0.0.1:1"})
        daemon.reload()
        reloaded = scrape(port)
    finally:
        daemon.runtime.close()
        daemon.metrics.close() if daemon.metrics else None
    gauge = "sheetsync_last_successful_cycle_timestamp_seconds"
    w0, w1 = frozenset({("watch", "w0")}), frozenset({("watch", "w1")})
    assert before[(gauge, w0)] == failed[(gauge, w0)] == started
    assert failed[("sheetsync_cycles_total", frozenset({("watch", "w0"), ("result", "error")}))]
    assert reloaded.get((gauge, w0)) is None and reloaded[(gauge, w1)] == started
    needs = [r.getMessage() for r in caplog.records if "need a restart" in r.getMessage()]
    assert needs == ["[metrics] listen changes need a restart; keeping 127.0.0.1:0"], needs


def test_a_scrape_while_the_daemon_stops_never_reads_a_closed_journal(world: World) -> None:
    """The metrics stop serving before the journal closes: a scrape in between would fail
    in the journal collector, with a traceback on stderr."""
    world.sheet([HEADER, ["https://a", "A"]])
    config = world.config(metrics={"listen": "127.0.0.1:0"})
    daemon = Daemon(config, world.environ)
    metrics = daemon.metrics
    assert metrics is not None
    answers: list[int] = []
    close = metrics.close

    def scrape_then_close() -> None:
        url = f"http://127.0.0.1:{metrics.port}/metrics"
        answers.append(requests.get(url, timeout=5).status_code)
        close()

    metrics.close = scrape_then_close  # type: ignore[method-assign]
    daemon.dispatcher.scheduler.start(paused=True)  # as `run` leaves it, without its cycles
    try:
        daemon._stop()
    finally:
        daemon.runtime.close()
    assert answers == [200]


def test_triggers_count_posts_and_row_outcomes_count_rows(world: World) -> None:
    """One batch of three rows is one POST and three row outcomes; rows held back after a
    refusal count as outcomes, never as POSTs."""
    world.sheet([HEADER, *[[f"https://{c}", c] for c in "abc"]])
    config = world.config({"mode": "batch"}, metrics={"listen": "127.0.0.1:0"})
    daemon = Daemon(config, world.environ)
    try:
        assert daemon.metrics is not None
        daemon.dispatcher.run_cycle(daemon.runtime, daemon.config.watches)
        world.axiom.set_key_valid(False)
        world.google.insert_rows(world.spreadsheet_id, "Queue", 5, values=[["https://d", "D"]])
        world.google.insert_rows(world.spreadsheet_id, "Queue", 6, values=[["https://e", "E"]])
        world.config({"max_rows_per_trigger": 1}, metrics={"listen": "127.0.0.1:0"})
        daemon.reload()
        daemon.dispatcher.run_cycle(daemon.runtime, daemon.config.watches)
        samples = scrape(daemon.metrics.port)
    finally:
        daemon.runtime.close()
        daemon.metrics.close() if daemon.metrics else None

    def value(name: str, **labels: str) -> float:
        return samples.get((name, frozenset(labels.items())), 0.0)

    assert world.axiom.calls("/trigger") == 2
    assert value("sheetsync_triggers_total", watch="w0", result="triggered") == 1
    assert value("sheetsync_triggers_total", watch="w0", result="waiting") == 1
    assert value("sheetsync_row_outcomes_total", watch="w0", outcome="triggered") == 3
    assert value("sheetsync_row_outcomes_total", watch="w0", outcome="waiting") == 2
