"""Test helpers shipped with the package: a sheet + axiom "world" on the local emulators.

Used by the test suite, the benchmarks and anyone writing an integration test of their
own config: it writes a real config file and a real service-account key, and drives
the real adapters over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sheetsync import testing_pg
from sheetsync.config import Config, load_config
from sheetsync.core.report import CycleReport
from sheetsync.emulator.axiom import AxiomEmulator
from sheetsync.emulator.google import GoogleEmulator
from sheetsync.service.wiring import Runtime, open_runtime
from sheetsync.testing_config import config_text

TEST_KEY = "axk_test_0123456789abcdef"
AUTOMATION = "Scrape product page"
KEY_ENV = "SHEETSYNC_TEST_AXIOM_KEY"


@dataclass
class Clock:
    """A settable UTC clock whose `sleep` advances it instead of waiting."""

    start: datetime = field(default_factory=lambda: datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    elapsed: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    @property
    def now(self) -> datetime:
        """The current fake time."""
        return self.start + timedelta(seconds=self.elapsed)

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        """Seconds since the clock started, for rate limiters (exact for tiny sleeps)."""
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        """Record the wait and move time forward."""
        self.sleeps.append(seconds)
        self.elapsed += seconds

    def advance(self, seconds: float) -> None:
        """Move time forward without recording a wait."""
        self.elapsed += seconds


@dataclass
class World:
    """Both emulators, one spreadsheet and a config folder."""

    folder: Path
    google: GoogleEmulator
    axiom: AxiomEmulator
    clock: Clock = field(default_factory=Clock)
    spreadsheet_id: str = ""
    tab: str = "Queue"
    environ: dict[str, str] = field(default_factory=dict)
    state_url: str | None = None
    """`SHEETSYNC_TEST_STORE=postgres`: the world's own database (None: a SQLite file)."""
    pace_origin: float = field(default_factory=time.time)
    """The real time the world began: its shared paces' fake time starts there (PostgreSQL:
    calls a daemon stamped with the database's clock and the world's share one line)."""
    _runtime: Runtime | None = None

    @classmethod
    def start(
        cls,
        folder: Path,
        automations: tuple[str, ...] = (AUTOMATION,),
        *,
        axiom_options: Mapping[str, Any] | None = None,
        share_clock: bool = False,
    ) -> World:
        """Start both emulators and write the service-account key into `folder`.

        `axiom_options` go to `AxiomEmulator` (e.g. `rate_limit`); `share_clock` makes the
        axiom emulator count time on the world's fake clock, as sheetsync's pacer does.
        """
        clock = Clock()
        options: dict[str, Any] = {"clock": clock.monotonic} if share_clock else {}
        options.update(axiom_options or {})
        google = GoogleEmulator()
        axiom = AxiomEmulator(api_key=TEST_KEY, automations=list(automations), **options)
        google.start()
        axiom.start()
        world = cls(folder, google, axiom, clock=clock, environ={KEY_ENV: TEST_KEY})
        world.state_url = testing_pg.fresh_database() if testing_pg.on_postgres() else None
        google.write_service_account_file(folder / "service-account.json")
        return world

    def stop(self) -> None:
        """Close the runtime and stop both emulators."""
        self.close_runtime()
        self.google.stop()
        self.axiom.stop()

    # -- the sheet -----------------------------------------------------------
    def sheet(self, values: list[list[str]], /, tab: str = "Queue", **grid: int) -> str:
        """Create the spreadsheet with one tab holding `values` (header first); `grid`:
        the tab's `rows` and `cols`."""
        self.tab = tab
        self.spreadsheet_id = self.google.create_spreadsheet("Queue", {tab: values}, **grid)
        return self.spreadsheet_id

    def values(self, tab: str | None = None) -> list[list[str]]:
        """The tab's values as a person would see them."""
        return self.google.values(self.spreadsheet_id, tab or self.tab)

    def column(self, name: str, tab: str | None = None) -> list[str]:
        """One column's cells below the header, by header name, padded with ""."""
        values = self.values(tab)
        index = values[0].index(name)
        return [row[index] if index < len(row) else "" for row in values[1:]]

    def row(self, number: int, tab: str | None = None) -> dict[str, str]:
        """Sheet row `number` (1-based, header is 1) as header -> cell."""
        values = self.values(tab)
        row = values[number - 1] if number - 1 < len(values) else []
        return {h: (row[i] if i < len(row) else "") for i, h in enumerate(values[0])}

    # -- config and runs -------------------------------------------------------
    def config(self, *watches: Mapping[str, Any], **sections: Mapping[str, Any]) -> Path:
        """Write sheetsync.toml with the given watches (defaults fill name, sheet, automation)."""
        axiom = {"api_key_env": KEY_ENV, "base_url": self.axiom.root_url + "/api/v3"}
        google: dict[str, Any] = {
            "service_account_file": "service-account.json",
            "api_base_url": self.google.root_url,
        }
        defaults = {
            "spreadsheet": self.spreadsheet_id,
            "worksheet": self.tab,
            "automation": AUTOMATION,
            "interval_seconds": 5,
        }
        if self.state_url is not None and "state" not in sections:
            sections = {**sections, "state": {"url": self.state_url, **testing_pg.PG_LEASES}}
        path = self.folder / "sheetsync.toml"
        path.write_text(config_text(watches, sections, axiom, google, defaults), encoding="utf-8")
        self.close_runtime()
        return path

    def load(self) -> Config:
        """Load the written config as the daemon would."""
        return load_config(self.folder / "sheetsync.toml", self.environ)

    def runtime(self) -> Runtime:
        """The runtime for the current config, with the world's clock and recorded sleeps."""
        if self._runtime is None:
            self._runtime = open_runtime(
                self.load(),
                sleep=self.clock.sleep,
                monotonic=self.clock.monotonic,
                now=self.clock,
                pace_clock=self.pace_time,
            )
            if self.state_url is not None:
                testing_pg.hold_every_spreadsheet(self._runtime)
        return self._runtime

    def pace_time(self) -> float:
        """The shared paces' clock: the fake elapsed time from `pace_origin`."""
        return self.pace_origin + self.clock.elapsed

    def past_grace(self) -> None:
        """Move the clock past this start's claim grace (see `testing_pg.past_grace`)."""
        testing_pg.past_grace(self.runtime(), self.clock.advance)

    def close_runtime(self) -> None:
        """Release the journal (as a process exit would)."""
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None

    def crash(self) -> None:
        """Lose the runtime as kill -9 would: its journal closes under a cycle still running
        (whose next journal call then fails), and the next `once` starts afresh."""
        if self._runtime is not None:
            self._runtime.journal.close()
            self._runtime = None

    def once(self) -> list[CycleReport]:
        """One cycle of every watch, like `sheetsync once`."""
        return self.runtime().cycle_all()

    def once_while_held(self, edit: Callable[[], None], wait: float = 20.0) -> CycleReport:
        """A cycle whose first trigger's answer is held until `edit` changed the sheet."""
        hold = threading.Event()
        fault = self.axiom.add_fault(path="/trigger", hold=hold, phase="after", count=1)
        result: list[CycleReport] = []
        thread = threading.Thread(target=lambda: result.extend(self.once()))
        thread.start()
        assert fault.arrived.wait(wait), "the trigger never reached axiom"
        edit()
        hold.set()
        thread.join(wait)
        assert not thread.is_alive(), "the cycle did not finish"
        return result[0]

    def until_quiet(self, limit: int = 10, step: float = 0.0) -> list[CycleReport]:
        """Cycles until one triggers nothing (advancing the clock by `step` between them)."""
        reports: list[CycleReport] = []
        for _ in range(limit):
            batch = self.once()
            reports += batch
            if not any(r.new for r in batch):
                return reports
            self.clock.advance(step)
        return reports

    def payloads(self) -> list[Any]:
        """The `data` of every trigger axiom received, in order."""
        return [t.data for t in self.axiom.triggers]


def recorder() -> tuple[list[float], Callable[[float], None]]:
    """A sleep that records its waits instead of sleeping."""
    waits: list[float] = []
    return waits, waits.append


def signal_thread(pid: int, signum: int) -> None:
    """Send a signal that the kernel hands to one of a process's other threads, as it may
    do with any signal sent to a process (Linux: kill() on a thread's id offers the signal
    to that thread first)."""
    for tid in sorted(int(t) for t in os.listdir(f"/proc/{pid}/task")):
        if tid != pid:
            with contextlib.suppress(ProcessLookupError):  # that thread just ended
                os.kill(tid, signum)
                return
    raise AssertionError(f"process {pid} has no thread but its main one")


class DaemonProcess:
    """`sheetsync run -c CONFIG` in a subprocess, stdout and stderr into one log file."""

    def __init__(
        self, config: Path, environ: Mapping[str, str], log_path: Path, *extra: str
    ) -> None:
        self.log_path = log_path
        argv = [sys.executable, "-m", "sheetsync", "run", "-c", str(config), *extra]
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                argv, env=dict(environ), stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )

    @classmethod
    def for_world(cls, world: World, config: Path, *extra: str) -> DaemonProcess:
        """A daemon with the world's key in its environment and no systemd around it."""
        env = {**os.environ, **world.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("NOTIFY_SOCKET", None)
        return cls(config, env, world.folder / "daemon.log", *extra)

    def signal(self, signum: int) -> None:
        """Send a signal to the daemon."""
        self.proc.send_signal(signum)

    def signal_thread(self, signum: int) -> None:
        """Send a signal that the kernel hands to one of the daemon's other threads."""
        signal_thread(self.proc.pid, signum)

    def wait(self, timeout: float = 30.0) -> int:
        """Its exit code (negative: killed by that signal)."""
        return self.proc.wait(timeout)

    def kill(self, timeout: float = 30.0) -> None:
        """kill -9, as a crash would."""
        self.signal(signal.SIGKILL)
        self.wait(timeout)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, as systemctl stop does; returns the exit code."""
        self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def log(self) -> str:
        """Everything it printed so far."""
        return self.log_path.read_text(encoding="utf-8")

    def lines(self) -> list[str]:
        """Its output, line by line."""
        return self.log().splitlines()
