"""kill -9 at every step of a cycle: no row is ever triggered twice, none is lost.

The real daemon runs as a subprocess against the emulators in this process. Each
step is frozen by holding one HTTP request (the emulators' `hold` faults), the process
is SIGKILLed there, and a fresh daemon takes over.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from sheetsync.emulator._http import EmulatorServer
from sheetsync.emulator.faults import Fault
from sheetsync.testing import DaemonProcess, World

HEADER = ["url", "product"]
WAIT = 30.0
ROWS = [[f"https://shop.example/{i}", f"P{i}"] for i in range(1, 9)]


def Daemon(world: World, config: Path) -> DaemonProcess:
    """`sheetsync run` in a subprocess, logging at DEBUG into the world's folder."""
    return DaemonProcess.for_world(world, config, "--log-level", "DEBUG")


def freeze(world: World, fault: Fault, config: Path) -> None:
    """Start a daemon, wait until it is stuck on `fault`, kill -9 it, release the hold."""
    daemon = Daemon(world, config)
    try:
        assert fault.arrived.wait(WAIT), (world.folder / "daemon.log").read_text()
    finally:
        daemon.kill()
    world.google.clear_faults()
    world.axiom.clear_faults()


def held(server: EmulatorServer, **kw: object) -> Fault:
    return server.add_fault(hold=threading.Event(), count=1, **kw)


def settle(world: World, config: Path) -> None:
    """Run a daemon until every row has a final status, then stop it with SIGTERM."""
    done = threading.Event()

    def check(_request: object) -> None:
        statuses = world.column("Status") if "Status" in world.values()[0] else []
        if statuses and all(s not in {"", "sending"} for s in statuses):
            done.set()

    world.google.on_request = check
    daemon = Daemon(world, config)
    try:
        assert done.wait(WAIT), (world.folder / "daemon.log").read_text()
    finally:
        assert daemon.stop() == 0
        world.google.on_request = None


@pytest.mark.timeout(180)
def test_kill_at_every_step_never_duplicates_or_loses(world: World) -> None:
    """SIGKILL after the read, after the claim, mid-POST, before and during write-back."""
    world.sheet([HEADER, *ROWS[:2]])
    config = world.config({"mode": "row", "interval_seconds": 0.5})
    sid = world.spreadsheet_id
    batch_update = r"values:batchUpdate$"

    # 1. after the read: the claim write never lands
    freeze(world, held(world.google, path=batch_update, method="POST"), config)
    # 2. after the claim write: the sheet shows sending, nothing was sent
    freeze(world, held(world.google, path=batch_update, method="POST", phase="after"), config)
    assert Counter(world.column("Status")) == Counter({"sending": 2})
    assert world.axiom.triggers == []
    # 3. mid-POST: axiom took the first trigger but its answer never came back
    freeze(world, held(world.axiom, path="/trigger", phase="after"), config)
    assert len(world.axiom.triggers) == 1
    # 4. after the answers, before the write-back read (add rows so there is work)
    for i, row in enumerate(ROWS[2:5]):
        world.google.insert_rows(sid, "Queue", 2 + i, values=[row])
    # let the first read pass: hold the second, the one after the triggers
    freeze(world, held(world.google, path=r"values:batchGet$", skip=1), config)
    # 5. during the write-back: the result write is applied, its answer never returns
    world.google.insert_rows(sid, "Queue", 2, values=[ROWS[5]])
    write_back = held(world.google, path=batch_update, method="POST", phase="after", skip=1)
    freeze(world, write_back, config)
    # 6. rows that arrived while it was down, then a clean run to the end
    world.google.insert_rows(sid, "Queue", 2, values=[ROWS[6], ROWS[7]])
    settle(world, config)

    sent = Counter(tuple(t.data[1]) for t in world.axiom.triggers)
    assert all(n == 1 for n in sent.values()), sent
    by_url = {row["url"]: row for row in (world.row(n) for n in range(2, 10))}
    statuses = {url: row["Status"] for url, row in by_url.items()}
    assert set(statuses) == {r[0] for r in ROWS}
    unknown = [url for url, s in statuses.items() if s == "unknown"]
    assert unknown == [world.axiom.triggers[0].data[1][0]]
    assert all(s == "triggered" for url, s in statuses.items() if url not in unknown), statuses
    assert len(sent) == len(ROWS)
    assert "may or may not" in by_url[unknown[0]]["Message"]


@pytest.mark.sqlite_only(
    "the SQLite journal's lock file; on PostgreSQL a second instance is a fleet peer"
    " that shares the spreadsheets (tests/fleet/test_fleet_takeover.py)"
)
def test_second_daemon_on_the_same_state_file_refuses(world: World) -> None:
    """A second sheetsync on the same journal exits 2 with one line; the first goes on."""
    world.sheet([HEADER, *ROWS[:1]])
    config = world.config({"interval_seconds": 0.5})
    polled = world.google.add_fault(path=r"values:batchGet$", count=1)  # observe only
    first = Daemon(world, config)
    try:
        assert polled.arrived.wait(WAIT), "the first daemon never polled"
        env = {**os.environ, **world.environ}
        second = subprocess.run(
            [sys.executable, "-m", "sheetsync", "run", "-c", str(config)],
            env=env,
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
        assert second.returncode == 2
        assert "another sheetsync" in second.stderr
        assert first.proc.poll() is None
    finally:
        assert first.stop() == 0
