"""Two real `sheetsync run` processes on one PostgreSQL database: only the lease holder
serves the spreadsheet; SIGTERM hands it to the other, which sends what comes next once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable

from sheetsync.testing import DaemonProcess, World

WAIT = 60.0
HEADER = ["url", "product"]
ROWS = [[f"https://shop.example/{i}", f"P{i}"] for i in range(1, 4)]
SHORT = {"lease_seconds": 2, "renew_seconds": 0.5, "acquire_seconds": 0.25}
"""FLEET.md's test timings (renewal a quarter of the lease: a loaded machine is slow)."""


def until(world: World, done: Callable[[], bool]) -> None:
    """Wait until `done()` holds, checking at every request a daemon makes to Google."""
    reached = threading.Event()

    def check(_request: object) -> None:
        if done():
            reached.set()

    world.google.on_request = check
    try:
        assert reached.wait(WAIT) or done(), "the sheet never reached the expected state"
    finally:
        world.google.on_request = None


def statuses(world: World) -> list[str]:
    """The status column ([] before sheetsync added it)."""
    try:
        return world.column("Status")
    except ValueError:
        return []


def start(world: World, name: str) -> DaemonProcess:
    env = {**os.environ, **world.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("NOTIFY_SOCKET", None)
    return DaemonProcess(world.folder / "sheetsync.toml", env, world.folder / f"{name}.log")


def test_sigterm_hands_the_spreadsheet_to_the_other_instance(world: World, pg_url: str) -> None:
    """A serves the spreadsheet, B waits; SIGTERM makes A finish, release and exit 0; B
    takes the spreadsheet over and sends the row typed after: every row exactly once."""
    world.sheet([HEADER, *ROWS[:2]])
    world.config({"interval_seconds": 1}, state={"url": pg_url, **SHORT})
    a = start(world, "a")
    b: DaemonProcess | None = None
    try:
        until(world, lambda: statuses(world) == ["triggered"] * 2)
        b = start(world, "b")
        deadline = time.monotonic() + WAIT
        while "sheetsync started" not in b.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "sheetsync started" in b.log(), b.log()
        stopped = time.monotonic()
        assert a.stop(WAIT) == 0, a.log()
        exited = time.monotonic()
        world.google.insert_rows(world.spreadsheet_id, world.tab, 4, values=[ROWS[2]])
        until(world, lambda: statuses(world) == ["triggered"] * 3)
        done = time.monotonic()
        print(
            f"SIGTERM to exit {exited - stopped:.2f} s; the row typed then sent by the other "
            f"instance {done - exited:.2f} s later (lease 2 s, poll 0.25 s, interval 1 s)"
        )
        assert b.stop(WAIT) == 0, b.log()
    finally:
        for proc in (a, b):
            if proc is not None and proc.proc.poll() is None:
                proc.signal(signal.SIGKILL)
                proc.wait(WAIT)
    assert Counter(str(t.data[1][0]) for t in world.axiom.triggers) == Counter(
        {row[0]: 1 for row in ROWS}
    )
    assert "now served here" in b.log() and "Traceback" not in a.log() + b.log()


def test_sheetsync_once_on_postgresql(world: World, pg_url: str) -> None:
    """`sheetsync once` with `[state] url`: exit 0, every row sent once, the lease released
    at exit (a second `once` takes the spreadsheet at once and sends nothing again)."""
    import psycopg

    world.sheet([HEADER, *ROWS])
    config = world.config({}, state={"url": pg_url, **SHORT})
    env = {**os.environ, **world.environ}
    env.pop("NOTIFY_SOCKET", None)
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "sheetsync", "once", "-c", str(config)],
            env=env,
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        assert "served by another instance" not in done.stderr  # it held the spreadsheet
        with psycopg.connect(pg_url) as conn:  # and released it at exit
            assert conn.execute("SELECT holder FROM leases").fetchall() == [("",)]
    assert statuses(world) == ["triggered"] * 3
    assert Counter(str(t.data[1][0]) for t in world.axiom.triggers) == Counter(
        {row[0]: 1 for row in ROWS}
    )
