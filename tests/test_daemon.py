"""`sheetsync run` as systemd runs it: notify protocol, watchdog, signals, reload, credentials.

Most tests start the real daemon as a subprocess against the emulators in this process,
with the environment a unit gives it (NOTIFY_SOCKET on a datagram socket the test owns,
WATCHDOG_USEC, INVOCATION_ID, CREDENTIALS_DIRECTORY); the last two drive the watchdog
rule of a `Daemon` in this process. Nothing sleeps: the tests wait on emulator faults
(`hold`, `arrived`), on notifications and on the sheet's state.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time

from sheetsync.service.daemon import Daemon
from sheetsync.testing import KEY_ENV, TEST_KEY, DaemonProcess, World

HEADER = ["url", "product"]
ROWS = [[f"https://shop.example/{i}", f"P{i}"] for i in range(1, 9)]
WAIT = 30.0
"""Upper bound of every wait; a healthy run needs a fraction of it."""
UNIT_ENVIRONMENT = (
    "NOTIFY_SOCKET",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
    "INVOCATION_ID",
    "JOURNAL_STREAM",
    "CREDENTIALS_DIRECTORY",
)
"""What systemd sets for a unit; cleared first so the test's own environment cannot leak in."""
CYCLE_LINE = re.compile(
    r"^<6>sheetsync: watch \w+: \d+ rows seen, \d+ new, \d+ triggered.* in \d+\.\d\ds$"
)

Message = str
Match = str | Callable[[Message], bool]


class NotifySocket:
    """systemd's side of sd_notify: an AF_UNIX datagram socket (abstract namespace)."""

    def __init__(self) -> None:
        self.address = f"@sheetsync-test-{uuid.uuid4().hex}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(b"\0" + self.address[1:].encode())
        self.received: list[Message] = []

    def close(self) -> None:
        self.sock.close()

    def _receive(self, timeout: float) -> Message | None:
        self.sock.settimeout(max(timeout, 0.001))
        try:
            message = self.sock.recv(65536).decode("utf-8")
        except TimeoutError:
            return None
        self.received.append(message)
        return message

    def wait_for(self, match: Match, timeout: float = WAIT) -> Message:
        """The next datagram holding the field `match` (or satisfying it); fails after `timeout`."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = self._receive(left)
            if message is not None and _matches(match, message):
                return message
        pytest.fail(f"no datagram matching {match!r} within {timeout} s; got {self.received}")

    def collect(self, seconds: float) -> list[Message]:
        """Every datagram that arrives within `seconds`."""
        deadline = time.monotonic() + seconds
        messages = []
        while (left := deadline - time.monotonic()) > 0:
            message = self._receive(left)
            if message is not None:
                messages.append(message)
        return messages


def _matches(match: Match, message: Message) -> bool:
    if callable(match):
        return match(message)
    return match in message.split("\n")


Service = DaemonProcess


class Services:
    """Starts daemons like the unit does and kills any still running when the test ends."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.started: list[Service] = []

    def environ(
        self, env: Mapping[str, str] | None = None, drop: tuple[str, ...] = ()
    ) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if k not in UNIT_ENVIRONMENT}
        environ = {**base, **self.world.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        for name in drop:
            environ.pop(name, None)
        return environ

    def start(
        self,
        config: Path,
        notify: NotifySocket | None = None,
        env: Mapping[str, str] | None = None,
        drop: tuple[str, ...] = (),
    ) -> Service:
        environ = self.environ(env, drop)
        if notify is not None:
            environ["NOTIFY_SOCKET"] = notify.address
        log_path = self.world.folder / f"daemon-{len(self.started)}.log"
        service = Service(config, environ, log_path)
        self.started.append(service)
        return service

    def stop_all(self) -> None:
        """Kill what still runs; print every log (pytest shows it when the test failed)."""
        for service in self.started:
            if service.proc.poll() is None:
                service.proc.kill()
                service.proc.wait(WAIT)
            print(f"--- {service.log_path.name} (exit {service.proc.returncode})")
            print(service.log())


@pytest.fixture
def services(world: World) -> Iterator[Services]:
    """Daemon subprocesses for the test; none outlives it."""
    started = Services(world)
    try:
        yield started
    finally:
        started.stop_all()
        world.google.on_request = None


@pytest.fixture
def notify() -> Iterator[NotifySocket]:
    """A notification socket the test owns, as systemd's /run/systemd/notify."""
    sock = NotifySocket()
    try:
        yield sock
    finally:
        sock.close()


def statuses(world: World, spreadsheet: str | None = None, tab: str | None = None) -> list[str]:
    """The status column of a tab ([] before sheetsync added it)."""
    values = world.google.values(spreadsheet or world.spreadsheet_id, tab or world.tab)
    if not values or "Status" not in values[0]:
        return []
    index = values[0].index("Status")
    return [row[index] if index < len(row) else "" for row in values[1:]]


def until(world: World, done: Callable[[], bool], timeout: float = WAIT) -> None:
    """Wait until `done()` holds, checking at every request the daemon makes to Google."""
    reached = threading.Event()

    def check(_request: object) -> None:
        if done():
            reached.set()

    world.google.on_request = check
    try:
        assert reached.wait(timeout) or done(), "the sheet never reached the expected state"
    finally:
        world.google.on_request = None


def final(values: list[str], rows: int) -> bool:
    """Every one of `rows` rows has a final status."""
    return len(values) == rows and all(s not in {"", "sending"} for s in values)


def sent_once(world: World, rows: list[list[str]]) -> None:
    """axiom received exactly one trigger per row: none lost, none repeated."""
    sent = Counter(tuple(t.data[1]) for t in world.axiom.triggers)
    assert sent == Counter(tuple(r) for r in rows), sent


def test_notify_ready_watchdog_status_stopping_and_journald_lines(
    world: World, services: Services, notify: NotifySocket
) -> None:
    """READY=1, WATCHDOG=1 every half interval, STATUS= on change, STOPPING=1; journald lines.

    While a cycle hangs on a held Sheets read the pings stop (stall limit: half of the
    2 s watchdog) and resume once it moves again.
    """
    world.sheet([HEADER, *ROWS[:2]])
    # 600 reads a minute: slots of 0.1 s, so the read budget keeps the 0.5 s interval
    config = world.config({"interval_seconds": 0.5}, google={"reads_per_minute": 600})
    daemon = services.start(
        config, notify, env={"WATCHDOG_USEC": "2000000", "INVOCATION_ID": "5e2c0ffee"}
    )

    ready = notify.wait_for("READY=1")
    share = "serving 1 of 1 spreadsheet; " if world.state_url else ""  # a fleet's share
    assert f"STATUS=1 watch; {share}no cycle yet; 0 rows triggered today; no errors" in ready
    notify.wait_for(lambda m: "rows triggered today" in m and "2 rows" in m)
    assert statuses(world) == ["triggered", "triggered"]
    steady = notify.collect(2.0)
    assert steady.count("WATCHDOG=1") >= 2, steady
    status_updates = [m for m in notify.received if m.startswith("STATUS=")]
    assert all(a != b for a, b in itertools.pairwise(status_updates)), status_updates

    hold = threading.Event()
    read = world.google.add_fault(path=r"values:batchGet$", hold=hold, count=1)
    assert read.arrived.wait(WAIT)
    notify.wait_for(lambda m: m.startswith("STATUS=stuck: w0;"), timeout=5.0)
    silent = notify.collect(2.0)  # four ping periods
    assert "WATCHDOG=1" not in silent, silent
    hold.set()
    notify.wait_for("WATCHDOG=1", timeout=5.0)
    notify.wait_for(lambda m: m.startswith("STATUS=") and "stuck" not in m, timeout=5.0)

    daemon.signal(signal.SIGTERM)
    assert "STOPPING=1" in notify.wait_for(lambda m: "STOPPING=1" in m.split("\n"))
    assert daemon.wait() == 0

    lines = daemon.lines()
    assert all(re.match(r"^<[0-7]>[\w.]+: \S", line) for line in lines), lines
    info = [line for line in lines if line.startswith("<6>")]
    cycles = [line for line in info if CYCLE_LINE.match(line)]
    assert len(cycles) >= 3
    rows = [line for line in info if line.startswith("<6>sheetsync.rows: watch w0, tab 'Queue'")]
    assert len(rows) == 2 and all(": triggered http" in line for line in rows), rows
    others = [line for line in info if line not in cycles and line not in rows]
    journal = world.state_url or config.parent / "sheetsync.db"
    assert others[0] == f"<6>sheetsync.journal: created a new journal at {journal}"
    others = others[1:]
    assert [line.split(":")[0] for line in others] == ["<6>sheetsync.daemon"] * 4, others
    assert others[0].startswith("<6>sheetsync.daemon: sheetsync started: 1 watch(es): w0;")
    assert others[1] == "<6>sheetsync.daemon: cycle of w0 is moving again"  # a clear is INFO
    assert others[2].startswith("<6>sheetsync.daemon: SIGTERM received:")
    assert others[3] == "<6>sheetsync.daemon: sheetsync stopped"
    stuck = [line for line in lines if "has shown no progress" in line]
    assert len(stuck) == 1 and stuck[0].startswith("<3>sheetsync.daemon: cycle of w0"), stuck
    assert sum("cycle of w0 is moving again" in line for line in lines) == 1


def stopping_mid_trigger(
    world: World, services: Services, notify: NotifySocket
) -> tuple[Path, Service, threading.Event]:
    """Three rows, the first trigger held at axiom, then SIGTERM: the daemon is stopping."""
    world.sheet([HEADER, *ROWS[:3]])
    config = world.config({"interval_seconds": 0.5})
    hold = threading.Event()
    first = world.axiom.add_fault(path="/trigger", hold=hold, count=1)
    daemon = services.start(config, notify)
    assert first.arrived.wait(WAIT)
    daemon.signal(signal.SIGTERM)
    notify.wait_for(lambda m: "STOPPING=1" in m.split("\n"))
    return config, daemon, hold


def test_sigterm_mid_cycle_finishes_the_cycle_then_exits_0(
    world: World, services: Services, notify: NotifySocket
) -> None:
    """The cycle in progress sends and writes back all its rows; the next start repeats none."""
    config, daemon, hold = stopping_mid_trigger(world, services, notify)
    hold.set()
    assert daemon.wait() == 0
    assert statuses(world) == ["triggered"] * 3
    sent_once(world, ROWS[:3])
    stop_lines = [line for line in daemon.lines() if "SIGTERM received" in line]
    assert len(stop_lines) == 1
    assert "finishing the cycle in progress (watch w0)" in stop_lines[0]

    for i, row in enumerate(ROWS[3:5]):  # arrived while it was down
        world.google.insert_rows(world.spreadsheet_id, "Queue", 2 + i, values=[row])
    again = services.start(config)
    until(world, lambda: final(statuses(world), 5))
    again.signal(signal.SIGTERM)
    assert again.wait() == 0
    assert statuses(world) == ["triggered"] * 5
    sent_once(world, ROWS[:5])


@pytest.mark.parametrize("to_thread", [False, True], ids=["main-thread", "job-thread"])
def test_second_sigterm_exits_at_once_and_the_journal_keeps_rows_safe(
    world: World, services: Services, notify: NotifySocket, to_thread: bool
) -> None:
    """A second SIGTERM ends the process by that signal mid-trigger, whichever thread the
    kernel hands it to; the restart marks the in-flight row unknown, sends the rows never
    sent, and repeats nothing."""
    config, daemon, hold = stopping_mid_trigger(world, services, notify)
    if to_thread:
        daemon.signal_thread(signal.SIGTERM)
    else:
        daemon.signal(signal.SIGTERM)
    assert daemon.wait(10) == -signal.SIGTERM  # killed by the signal; a shell shows 143
    assert not hold.is_set()  # it did not wait for the held trigger
    assert "second stop signal: exiting at once" in daemon.log()
    hold.set()  # the request reaches axiom after all: the run started, nobody heard back

    again = services.start(config)
    until(world, lambda: final(statuses(world), 3))
    again.signal(signal.SIGTERM)
    assert again.wait() == 0
    sent_once(world, ROWS[:3])
    in_flight = list(world.axiom.triggers[0].data[1])
    by_url = {world.row(n)["url"]: world.row(n)["Status"] for n in range(2, 5)}
    assert by_url == {r[0]: "unknown" if r == in_flight else "triggered" for r in ROWS[:3]}
    assert "marked unknown" in again.log()


def test_sighup_adds_a_watch_and_a_broken_config_keeps_the_old_one(
    world: World, services: Services, notify: NotifySocket
) -> None:
    """SIGHUP picks up a new watch in the same process; an invalid config is refused and logged."""
    world.sheet([HEADER, *ROWS[:2]])
    leads = world.google.create_spreadsheet("Leads", {"Leads": [HEADER, *ROWS[2:4]]})
    config = world.config({"interval_seconds": 0.5})
    daemon = services.start(config, notify)
    notify.wait_for("READY=1")
    until(world, lambda: final(statuses(world), 2))
    assert statuses(world, leads, "Leads") == []

    new_watch = {"name": "leads", "spreadsheet": leads, "worksheet": "Leads"}
    world.config({"interval_seconds": 0.5}, {**new_watch, "interval_seconds": 0.5})
    daemon.signal(signal.SIGHUP)
    notify.wait_for(lambda m: "RELOADING=1" in m.split("\n"))
    notify.wait_for("READY=1")
    until(world, lambda: final(statuses(world, leads, "Leads"), 2))
    assert statuses(world, leads, "Leads") == ["triggered", "triggered"]
    assert daemon.proc.poll() is None
    assert daemon.log().count("sheetsync started") == 1
    assert "configuration reloaded: 2 watch(es) (added: leads)" in daemon.log()

    good = config.read_text(encoding="utf-8")
    config.write_text(good + "\n[unknown_table]\nkey = 1\n", encoding="utf-8")
    daemon.signal(signal.SIGHUP)
    notify.wait_for(lambda m: "RELOADING=1" in m.split("\n"))
    notify.wait_for("READY=1")
    refused = [line for line in daemon.lines() if "reload failed" in line]
    assert len(refused) == 1, refused
    assert "still running the previous config" in refused[0]
    assert "unknown_table: unknown key" in refused[0]
    world.google.insert_rows(leads, "Leads", 2, values=[ROWS[4]])  # the reloaded watch goes on
    until(world, lambda: final(statuses(world, leads, "Leads"), 3))

    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0
    assert daemon.log().count("sheetsync started") == 1
    sent_once(world, ROWS[:5])


def _credentials(world: World, key_mode: int = 0o440, account_mode: int = 0o400) -> Path:
    """The folder systemd fills from LoadCredential=: both secrets, group-readable is fine."""
    folder = world.folder / "credentials"
    folder.mkdir()
    (folder / "axiom-key").write_text(TEST_KEY + "\n", encoding="utf-8")
    shutil.move(world.folder / "service-account.json", folder / "service-account.json")
    (folder / "axiom-key").chmod(key_mode)
    (folder / "service-account.json").chmod(account_mode)
    return folder


def _unit_config(world: World, **watch: object) -> Path:
    """The config the README prescribes: both secrets from ${CREDENTIALS_DIRECTORY}."""
    path = world.config(
        {"interval_seconds": 0.5, **watch},
        google={"service_account_file": "${CREDENTIALS_DIRECTORY}/service-account.json"},
    )
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        f'api_key_env = "{KEY_ENV}"', 'api_key_file = "${CREDENTIALS_DIRECTORY}/axiom-key"'
    )
    path.write_text(text, encoding="utf-8")
    return path


def test_secrets_come_from_the_credentials_directory(world: World, services: Services) -> None:
    """With the unit's config and environment the daemon authenticates to both services."""
    world.sheet([HEADER, *ROWS[:2]])
    credentials = _credentials(world)
    config = _unit_config(world)
    daemon = services.start(
        config, env={"CREDENTIALS_DIRECTORY": str(credentials)}, drop=(KEY_ENV,)
    )
    until(world, lambda: final(statuses(world), 2))
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0
    assert statuses(world) == ["triggered", "triggered"]
    assert TEST_KEY not in daemon.log()


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("no axiom key", r"axiom\.api_key_file: .*/axiom-key does not exist"),
        ("no service account", r"google\.service_account_file: .*service-account\.json does not"),
        ("key readable by others", r"axiom\.api_key_file: .*readable by others \(mode 0640\)"),
    ],
)
def test_config_and_credential_errors_exit_2_with_one_error_line(
    world: World, services: Services, case: str, reason: str
) -> None:
    """Exit 2 (RestartPreventExitStatus=2: no restart loop) and one `<3>` line for journald."""
    world.sheet([HEADER, *ROWS[:1]])
    credentials = _credentials(world)
    config = _unit_config(world)
    environ = services.environ(
        {"CREDENTIALS_DIRECTORY": str(credentials), "INVOCATION_ID": "5e2c0ffee"}, (KEY_ENV,)
    )
    if case == "no axiom key":
        (credentials / "axiom-key").unlink()
    elif case == "no service account":
        (credentials / "service-account.json").unlink()
    else:  # outside $CREDENTIALS_DIRECTORY the usual ssh-like rule applies
        (credentials / "axiom-key").chmod(0o640)
        environ["CREDENTIALS_DIRECTORY"] = str(world.folder / "elsewhere")
        environ["SHEETSYNC_KEY_DIR"] = str(credentials)
        text = config.read_text(encoding="utf-8").replace(
            "${CREDENTIALS_DIRECTORY}/axiom-key", "${SHEETSYNC_KEY_DIR}/axiom-key"
        )
        config.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "sheetsync", "run", "-c", str(config)],
        env=environ,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("<3>sheetsync: "), lines
    assert re.search(reason, lines[0]), lines[0]


def test_a_long_cycle_that_keeps_moving_never_counts_as_stuck(world: World) -> None:
    """Stalls are measured from a cycle's last sign of life, not its start: a backlog
    sent slowly for longer than the stall limit keeps the watchdog fed."""
    world.sheet([HEADER, *ROWS[:5]])
    config = world.config({"interval_seconds": 60})
    world.axiom.add_fault(path="/trigger", delay=0.4)  # every trigger answers 0.4 s late
    daemon = Daemon(config, {**world.environ, "WATCHDOG_USEC": "1600000"})
    assert daemon.heartbeat.stall_limit == 0.8  # half of WatchdogSec=
    stuck_at_each_trigger: list[list[str]] = []
    world.axiom.on_request = lambda _request: stuck_at_each_trigger.append(
        daemon.heartbeat.stalled(time.monotonic())
    )
    began = time.monotonic()
    try:
        assert daemon.dispatcher.run_cycle(daemon.runtime, daemon.config.watches)
    finally:
        world.axiom.on_request = None
        daemon.runtime.close()
    assert time.monotonic() - began > 2 * daemon.heartbeat.stall_limit
    assert stuck_at_each_trigger == [[]] * 5
    assert statuses(world) == ["triggered"] * 5


def test_a_scheduler_that_stops_dispatching_counts_as_stuck(
    world: World, notify: NotifySocket, caplog: pytest.LogCaptureFixture
) -> None:
    """A job overdue by more than the stall limit, seen twice (the first sight only wakes the
    scheduler: a wall-clock jump looks the same), withholds WATCHDOG=1 like a hung cycle."""
    world.sheet([HEADER, *ROWS[:1]])
    config = world.config({"interval_seconds": 60})
    # WATCHDOG_USEC=2: every tick is due for a ping and the stall limit is 1 µs
    environ = {**world.environ, "NOTIFY_SOCKET": notify.address, "WATCHDOG_USEC": "2"}
    caplog.set_level(logging.INFO, "sheetsync.daemon")
    daemon = Daemon(config, environ)
    daemon.dispatcher.schedule(daemon.runtime)
    daemon.dispatcher.scheduler.start(paused=True)  # alive, but dispatching nothing
    try:
        daemon.beat()  # overdue for the first time: nudged, still pinging
        assert notify.wait_for("WATCHDOG=1", timeout=2.0)
        assert not [r for r in caplog.records if r.levelname == "ERROR"]

        daemon.beat()  # overdue again: the scheduler is not dispatching
        notify.wait_for(lambda m: m.startswith("STATUS=stuck: slots default; "), timeout=2.0)
        daemon.beat()
        assert "WATCHDOG=1" not in notify.collect(0.1)
        errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
        assert len(errors) == 1, errors
        assert errors[0].startswith("the scheduler has not started the due cycle of slots default")

        later = datetime.now(UTC) + timedelta(hours=1)
        # as if dispatched
        daemon.dispatcher.scheduler.modify_job("slots default", next_run_time=later)
        daemon.beat()
        assert notify.wait_for("WATCHDOG=1", timeout=2.0)
        assert "cycle of slots default is moving again" in caplog.text
    finally:
        daemon.dispatcher.scheduler.shutdown(wait=True)
        daemon.runtime.close()
        daemon.notifier.close()


@freeze_time("2026-01-05 09:01:00")  # a Monday inside the cron's hours: its gap is 5 min
def test_jobs_follow_schedules_and_groups(world: World) -> None:
    """Tabs of one sheet on one schedule share a turn; a cron watch takes turns on its cron;
    one slot job per identity, woken when its rota has a start due (slots 2 s apart)."""
    from sheetsync.service.dispatch import RotaTrigger

    sid = world.sheet([HEADER, *ROWS[:1]], tab="A")
    world.google.add_sheet(sid, "B", [HEADER])
    world.google.add_sheet(sid, "C", [HEADER])
    config = world.config(
        {"name": "a", "worksheet": "A", "interval_seconds": 15},
        {"name": "b", "worksheet": "B", "interval_seconds": 15},
        {"name": "c", "worksheet": "C", "interval_seconds": None, "cron": "*/5 8-18 * * mon-fri"},
        google={"reads_per_minute": 30},
    )
    daemon = Daemon(config, world.environ)
    try:
        daemon.dispatcher.schedule(daemon.runtime)
        jobs = {job.id: job.trigger for job in daemon.dispatcher.scheduler.get_jobs()}
    finally:
        daemon.runtime.close()
    assert set(jobs) == {"slots default"}
    trigger = jobs["slots default"]
    assert isinstance(trigger, RotaTrigger) and trigger.rota.spacing == 2.0
    [team] = daemon.dispatcher.teams
    assert {k: [w.name for w in g] for k, g in team.groups.items()} == {
        "a+b": ["a", "b"],
        "c": ["c"],
    }
    assert team.periods["a+b"] == 15
    assert team.periods["c"] == 300  # the cron's next gap
