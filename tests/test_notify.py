"""sd_notify client, watchdog decisions and the STATUS= line, against a real datagram socket."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sheetsync.redact import clear_secrets, register_secret
from sheetsync.service.notify import Heartbeat, Notifier, StatusLine


@dataclass
class Listener:
    """The systemd side: a bound AF_UNIX datagram socket and the NOTIFY_SOCKET naming it."""

    sock: socket.socket
    address: str

    def receive(self) -> str:
        """The next datagram as text (fails the test after 2 s instead of hanging)."""
        return self.sock.recv(65536).decode("utf-8")

    def fields(self) -> list[str]:
        """The next datagram split into its KEY=value lines."""
        return self.receive().split("\n")

    def pending(self) -> list[str]:
        """Every datagram already queued, without waiting."""
        self.sock.setblocking(False)
        messages = []
        try:
            while True:
                messages.append(self.sock.recv(65536).decode("utf-8"))
        except BlockingIOError:
            return messages
        finally:
            self.sock.settimeout(2.0)


def _bound(address: str | bytes) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(2.0)
    return sock


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[Listener]:
    """A notification socket on the file system, like systemd's /run/systemd/notify."""
    path = tmp_path / "notify"
    sock = _bound(str(path))
    yield Listener(sock, str(path))
    sock.close()


@pytest.fixture(autouse=True)
def _no_secrets() -> Iterator[None]:
    clear_secrets()
    yield
    clear_secrets()


def test_ready_sends_ready_and_status(listener: Listener) -> None:
    """ready() sends READY=1 and the optional STATUS= in one datagram."""
    with closing(Notifier.from_environ({"NOTIFY_SOCKET": listener.address})) as notifier:
        assert notifier.enabled
        assert notifier.ready("2 watches") is True
    assert listener.fields() == ["READY=1", "STATUS=2 watches"]


def test_watchdog_status_and_stopping_datagrams(listener: Listener) -> None:
    """watchdog(), status() and stopping() each send exactly their own assignment."""
    with closing(Notifier(listener.address)) as notifier:
        notifier.watchdog()
        notifier.status("1 watch; no cycle yet")
        notifier.stopping()
        notifier.stopping("finishing the cycle in progress")
    assert listener.receive() == "WATCHDOG=1"
    assert listener.receive() == "STATUS=1 watch; no cycle yet"
    assert listener.receive() == "STOPPING=1"
    assert listener.fields() == ["STOPPING=1", "STATUS=finishing the cycle in progress"]
    assert listener.pending() == []


def test_reloading_carries_monotonic_usec(listener: Listener) -> None:
    """reloading() sends RELOADING=1 with MONOTONIC_USEC= from the monotonic clock, in µs."""
    with closing(Notifier(listener.address, monotonic_ns=lambda: 5_000_000_123_456)) as notifier:
        notifier.reloading()
    assert listener.fields() == ["RELOADING=1", "MONOTONIC_USEC=5000000123"]


def time_usec() -> int:
    """CLOCK_MONOTONIC in microseconds, read the way systemd reads it."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def test_real_monotonic_clock_is_used_by_default(listener: Listener) -> None:
    """Without an injected clock MONOTONIC_USEC is CLOCK_MONOTONIC, which systemd compares with."""
    before = time_usec()
    with closing(Notifier(listener.address)) as notifier:
        notifier.reloading()
    after = time_usec()
    stamp = int(listener.fields()[1].removeprefix("MONOTONIC_USEC="))
    assert before <= stamp <= after


def test_status_cannot_inject_assignments_or_secrets(listener: Listener) -> None:
    """A newline in STATUS text cannot smuggle READY=1 in, and registered secrets are masked."""
    register_secret("axk_live_0123456789")
    with closing(Notifier(listener.address)) as notifier:
        notifier.status("failed: bad key axk_live_0123456789\nREADY=1")
    assert listener.fields() == ["STATUS=failed: bad key *** READY=1"]


def test_abstract_namespace_socket() -> None:
    """NOTIFY_SOCKET=@name reaches a socket bound in the abstract namespace."""
    name = f"sheetsync-test-{uuid.uuid4().hex}"
    sock = _bound(b"\0" + name.encode())
    try:
        with closing(Notifier.from_environ({"NOTIFY_SOCKET": f"@{name}"})) as notifier:
            assert notifier.ready() is True
        assert sock.recv(1024) == b"READY=1"
    finally:
        sock.close()


def test_without_notify_socket_everything_is_a_noop() -> None:
    """With NOTIFY_SOCKET unset nothing is sent and nothing fails."""
    notifier = Notifier.from_environ({})
    assert not notifier.enabled
    assert notifier.ready() is False
    assert notifier.watchdog() is False
    assert notifier.watchdog_interval() is None


def test_unsupported_address_disables_notifications() -> None:
    """A relative path (or a vsock: address) is not sent to, rather than misrouted."""
    assert not Notifier("relative/notify").enabled
    assert not Notifier("vsock:2:1234").enabled


def test_send_errors_never_raise_and_are_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A vanished socket makes sends return False, with one debug line however many sends."""
    caplog.set_level(logging.DEBUG, logger="sheetsync.notify")
    with closing(Notifier(str(tmp_path / "gone"))) as notifier:
        assert notifier.watchdog() is False
        assert notifier.status("still here") is False
    failures = [r for r in caplog.records if "sd_notify" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].levelno == logging.DEBUG


def test_socket_reopens_after_close(listener: Listener) -> None:
    """close() releases the socket and a later send opens a new one."""
    with closing(Notifier(listener.address)) as notifier:
        notifier.watchdog()
        notifier.close()
        notifier.watchdog()
    assert listener.pending() == ["WATCHDOG=1", "WATCHDOG=1"]


def test_watchdog_interval_is_half_of_watchdog_usec() -> None:
    """WATCHDOG_USEC=120000000 (WatchdogSec=120s) means a ping every 60 s."""
    env = {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "120000000"}
    assert Notifier.from_environ(env).watchdog_interval() == 60.0


def test_watchdog_pid_must_be_ours() -> None:
    """A WATCHDOG_PID naming another process means the watchdog is not ours to feed."""
    env = {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "4242"}
    assert Notifier.from_environ(env, pid=4242).watchdog_interval() == 1.0
    assert Notifier.from_environ(env, pid=4243).watchdog_interval() is None
    env["WATCHDOG_PID"] = str(os.getpid())
    assert Notifier.from_environ(env).watchdog_interval() == 1.0


@pytest.mark.parametrize("usec", ["", "0", "soon", "-5"])
def test_unusable_watchdog_usec_means_no_watchdog(usec: str) -> None:
    """An empty, zero or malformed WATCHDOG_USEC disables the watchdog."""
    env = {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": usec}
    assert Notifier.from_environ(env).watchdog_interval() is None


def test_heartbeat_pings_while_cycles_are_short() -> None:
    """With no cycle running, or one younger than the stall limit, pinging is allowed."""
    heartbeat = Heartbeat(stall_limit=60)
    assert not heartbeat.stalled(now=0.0)
    heartbeat.cycle_started("scrape", now=100.0)
    assert not heartbeat.stalled(now=160.0)
    assert heartbeat.stalled(now=160.0) == []


def test_heartbeat_stops_pinging_while_a_cycle_is_stuck() -> None:
    """A cycle older than the stall limit withholds pings until it finishes."""
    heartbeat = Heartbeat(stall_limit=60)
    heartbeat.cycle_started("scrape", now=100.0)
    heartbeat.cycle_started("leads", now=150.0)
    heartbeat.cycle_finished("leads", now=155.0)
    assert heartbeat.stalled(now=160.5)
    assert heartbeat.stalled(now=160.5) == ["scrape"]
    heartbeat.cycle_finished("scrape", now=170.0)
    assert not heartbeat.stalled(now=170.0)


def test_heartbeat_tracks_overlapping_cycles_of_one_watch() -> None:
    """Two runs of one watch: a finish ends the older one, the younger still counts."""
    heartbeat = Heartbeat(stall_limit=10)
    heartbeat.cycle_started("scrape", now=0.0)
    heartbeat.cycle_started("scrape", now=5.0)
    assert heartbeat.stalled(now=10.5) == ["scrape"]
    heartbeat.cycle_finished("scrape", now=10.5)
    assert not heartbeat.stalled(now=14.0)
    assert heartbeat.stalled(now=15.5) == ["scrape"]
    heartbeat.cycle_finished("scrape", now=16.0)
    heartbeat.cycle_finished("scrape", now=16.0)  # an extra finish is harmless
    assert not heartbeat.stalled(now=100.0)


def test_scheduler_loop_sends_no_watchdog_during_a_hung_cycle(listener: Listener) -> None:
    """The daemon's loop, driven by a fake clock, stops WATCHDOG=1 once a cycle hangs."""
    heartbeat = Heartbeat(stall_limit=30)
    with closing(Notifier(listener.address, watchdog_usec=20_000_000)) as notifier:
        interval = notifier.watchdog_interval()
        assert interval == 10.0
        heartbeat.cycle_started("scrape", now=0.0)  # and never finishes
        for tick in range(8):
            now = tick * interval
            if not heartbeat.stalled(now):
                notifier.watchdog()
    assert listener.pending() == ["WATCHDOG=1"] * 4  # t = 0, 10, 20, 30; silent from 40 on


def test_status_line_before_any_cycle() -> None:
    """A fresh status line names the watches and says no cycle ran yet."""
    now = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    assert StatusLine(watches=1).render(now) == (
        "1 watch; no cycle yet; 0 rows triggered today; no errors"
    )


def test_status_line_counts_today_and_shows_last_error() -> None:
    """Rows triggered today add up; the latest standing error is quoted with its watch."""
    status = StatusLine(watches=2)
    t0 = datetime(2026, 11, 29, 10, 0, 0, tzinfo=UTC)
    status.record_cycle("scrape", t0, triggered=3)
    status.record_cycle("leads", t0 + timedelta(seconds=5), error="worksheet 'Queue' not found")
    status.record_cycle("scrape", t0 + timedelta(seconds=30), triggered=1)
    assert status.render(t0 + timedelta(minutes=1)) == (
        "2 watches; last cycle 10:00:30Z; 4 rows triggered today; "
        "last error: leads: worksheet 'Queue' not found"
    )


def test_status_line_clears_an_error_when_its_watch_recovers() -> None:
    """A successful cycle of the failing watch removes its error; others stay counted."""
    status = StatusLine(watches=3)
    t0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    status.record_cycle("a", t0, error="429 from Google")
    status.record_cycle("b", t0 + timedelta(seconds=1), error="axiom down")
    assert status.render(t0).endswith("last error: b: axiom down (+1 more)")
    status.record_cycle("b", t0 + timedelta(seconds=2), triggered=1)
    assert status.render(t0).endswith("1 row triggered today; last error: a: 429 from Google")
    status.record_cycle("a", t0 + timedelta(seconds=3))
    assert status.render(t0).endswith("no errors")


def test_status_line_resets_the_daily_count_at_midnight() -> None:
    """Rows triggered yesterday are not counted today, and an old cycle shows its date."""
    status = StatusLine(watches=1)
    late = datetime(2026, 11, 29, 23, 59, 50, tzinfo=UTC)
    status.record_cycle("scrape", late, triggered=7)
    next_day = late + timedelta(seconds=20)
    assert status.render(next_day) == (
        "1 watch; last cycle 2026-11-29T23:59:50Z; 0 rows triggered today; no errors"
    )
    status.record_cycle("scrape", next_day, triggered=2)
    assert "2 rows triggered today" in status.render(next_day)


def test_status_line_error_is_one_short_line_without_secrets() -> None:
    """A long multi-line error with a token in it becomes a short single redacted line."""
    status = StatusLine(watches=1)
    now = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    status.record_cycle(
        "scrape", now, error="401\nAuthorization: Bearer ya29.a0AfB_secret" + "x" * 500
    )
    line = status.render(now)
    assert "\n" not in line
    assert "ya29" not in line and "a0AfB" not in line
    assert "Bearer ***" in line
    assert len(line) <= 240
