"""Forced stops and restarts of the real daemon in the middle of a paced backlog.

- A forced stop (second SIGTERM, SIGKILL) while rows wait for pace slots leaves no row
  `unknown` that axiom did not receive: the slot is taken before `sending` is committed.
- kill -9 and an immediate restart keep the pace: the journal records every call, and
  the new process counts the last minute's calls before it sends.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sheetsync.adapters.pacing import RollingLimiter
from sheetsync.adapters.store.budgets import keep_pace
from sheetsync.adapters.store.journal import Journal
from sheetsync.testing import Clock, DaemonProcess, World

if TYPE_CHECKING:
    from tests.conftest import StateQuery

HEADER = ["url", "product"]
WAIT = 30.0
PACE_LINE = "for axiom's pace, not yet sending"


def rows(n: int) -> list[list[str]]:
    return [[f"https://shop.example/{i}", f"P{i}"] for i in range(1, n + 1)]


def poll(check: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Look until `check()` holds (a subprocess gives no other sign than its files)."""
    pause = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        pause.wait(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def waiting_for_slots(daemon: DaemonProcess, states: list[str]) -> bool:
    """Four rows answered, and three threads on to their next rows, waiting for a slot:
    they say so in the log (or, as sheetsync did before, show `sending` in the journal)."""
    if states.count("triggered") < 4:
        return False
    return daemon.log().count(PACE_LINE) >= 3 or states.count("sending") >= 4


def Daemon(world: World, config: Path) -> DaemonProcess:
    return DaemonProcess.for_world(world, config, "--log-level", "DEBUG")


@pytest.mark.parametrize("how", ["second-sigterm", "sigkill"])
def test_a_forced_stop_while_rows_wait_for_slots_leaves_no_false_unknown(
    world: World, how: str, state_query: StateQuery
) -> None:
    """20 rows at 5 calls a minute: four answered, the fifth held at axiom, the other
    threads waiting for a slot. A forced stop there, then a restart: only the held row
    (which axiom received) may be unknown; every other row goes exactly once."""
    world.sheet([HEADER, *rows(20)])
    config = world.config({"mode": "row", "interval_seconds": 0.5}, axiom={"calls_per_minute": 5})
    fifth = world.axiom.add_fault(
        path="/trigger", hold=threading.Event(), phase="after", skip=4, count=1
    )
    daemon = Daemon(world, config)

    def states() -> list[str]:  # read beside the running (or dead) daemon
        return [state for (state,) in state_query(world, "SELECT state FROM rows")]

    try:
        assert fifth.arrived.wait(WAIT), daemon.log()
        poll(lambda: waiting_for_slots(daemon, states()), "three threads waiting for a slot")
    finally:
        if how == "sigkill":
            daemon.kill()
        else:
            daemon.signal(signal.SIGTERM)
            poll(lambda: "SIGTERM received" in daemon.log(), "the first SIGTERM taken")
            daemon.signal(signal.SIGTERM)
            assert daemon.wait() == -signal.SIGTERM
    world.axiom.clear_faults()
    received = {t.data[1][0] for t in world.axiom.triggers}
    assert len(received) == 5

    world.until_quiet(step=60)  # the restart, in process on the world's fake clock
    unknown = {r["url"] for r in map(world.row, range(2, 22)) if r["Status"] == "unknown"}
    assert unknown <= received
    assert len(unknown) <= 1
    assert world.column("Status").count("triggered") == 20 - len(unknown)
    sent = [t.data[1][0] for t in world.axiom.triggers]
    assert sorted(sent) == sorted(set(sent))


def test_kill_9_and_an_immediate_restart_keep_the_pace(world: World) -> None:
    """At 10 calls a minute the first daemon sends 10 triggers and is killed; a second one
    started at once sends nothing until the minute is over (today's code sent 10 more)."""
    world.sheet([HEADER, *rows(30)])
    config = world.config({"mode": "row", "interval_seconds": 0.5}, axiom={"calls_per_minute": 10})
    tenth = world.axiom.add_fault(path="/trigger", skip=9, count=1)  # observes only
    first = Daemon(world, config)
    try:
        assert tenth.arrived.wait(WAIT), first.log()
    finally:
        first.kill()
    assert len(world.axiom.triggers) == 10
    second = Daemon(world, config)
    try:
        poll(
            lambda: len(world.axiom.triggers) > 10 or PACE_LINE in second.log(),
            "the second daemon's first trigger",
        )
    finally:
        second.kill()
    assert len(world.axiom.triggers) == 10
    assert world.axiom.calls_per_rolling_minute_max() <= 10


@pytest.mark.sqlite_only(
    "the SQLite journal's record of a pace's calls, failed with a pragma; the shared"
    " pace's: tests/fleet/test_store_pacing.py"
)
def test_a_call_end_the_journal_cannot_record_keeps_the_pace(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A journal that fails as a call ends (disk full, a read-only remount) neither turns
    the call's answer into an error nor frees its slot early, in this process or the next."""
    clock = Clock()
    path = tmp_path / "sheetsync.db"
    journal = Journal(path, now=clock)
    limiter = RollingLimiter(1, 60.0, clock=clock.monotonic, sleep=clock.sleep, name="axiom-x")
    keep_pace(limiter, journal, clock)
    with limiter.slot():
        journal.db.execute("PRAGMA query_only=1")  # after `began` was committed
    assert limiter.delay() == pytest.approx(60.0)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "cannot record a call's end" in warned[0], warned
    journal.close()
    clock.advance(30)
    again = Journal(path, now=clock)
    try:
        fresh = RollingLimiter(1, 60.0, clock=clock.monotonic, sleep=clock.sleep, name="axiom-x")
        keep_pace(fresh, again, clock)
        assert fresh.delay() == pytest.approx(60.0)  # no end recorded: counted as just ended
    finally:
        again.close()
