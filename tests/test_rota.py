"""Issue 14: the rota deals an identity's read slots fairly, and says so once when it cannot
keep the schedules.

The rota and the budget arithmetic are pure and tested on their own; the daemon's use of
them is tested as systemd runs it (a subprocess: one WARNING, no per-tick chatter) and
`sheetsync check` prints the same arithmetic.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from sheetsync.core.budget import Budget, lag_for
from sheetsync.emulator._http import Request
from sheetsync.service.cli import main
from sheetsync.service.rota import Rota, every
from sheetsync.testing import DaemonProcess, World

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HEADER = ["url", "product", "Status", "Run link", "Message", "sheetsync id"]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def rota(*keys: str, period: float = 10.0, spacing: float = 1.0, **kw: float) -> Rota:
    return Rota({k: every(period, spacing) for k in keys}, spacing, T0, **kw)


def test_one_start_per_slot_due_longest_first() -> None:
    """Everything is due at once: one group per slot, in turn; a busy one is passed over."""
    r = rota("a", "b", "c")
    assert r.take(at(0)) == "a"
    assert r.take(at(0.2)) is None  # the slot is spent
    assert r.take(at(1)) == "b"
    r.finished("a", at(0))  # a is due again at 10
    assert r.take(at(2)) == "c"
    assert r.take(at(3)) is None  # b and c busy, a not due
    r.finished("b", at(1))
    r.finished("c", at(2))
    assert r.take(at(10)) == "a"
    assert r.take(at(11)) == "b"


def test_extra_reads_are_paid_with_the_next_slots() -> None:
    """A cycle that took three reads leaves the next two slots unused."""
    r = rota("a", "b", period=0.5)
    assert r.take(at(0)) == "a"
    r.finished("a", at(0), reads=3)
    assert [r.take(at(t)) for t in (1, 2, 3)] == [None, None, "b"]


def test_no_free_worker_keeps_the_slot() -> None:
    """With every worker busy the slot is not spent: the next call may still start one."""
    r = rota("a")
    assert r.take(at(0), free=0) is None
    assert r.take(at(0.1)) == "a"


def test_a_released_group_keeps_its_turn() -> None:
    """A group that could not run (busy across a reload) is due as it was."""
    r = rota("a", "b")
    assert r.take(at(0)) == "a"
    r.release("a")
    assert r.take(at(1)) == "a"


def test_with_drive_a_change_goes_first_then_first_reads_then_the_safety_net() -> None:
    """Quiet groups are not read; a change jumps the first reads; the safety net comes
    `max_idle` after the last read, after everything with a reason."""
    r = rota("a", "b", "c", max_idle=100.0)
    assert r.take(at(0)) == "a"
    r.finished("a", at(0), pending=False)  # read, nothing left
    r.changed(["c"], at(0.5))
    assert r.take(at(1)) == "c"  # a change before b's first read
    r.finished("c", at(1), pending=False)
    assert r.take(at(2)) == "b"
    r.finished("b", at(2), pending=False)
    assert [r.take(at(t)) for t in (20, 50, 99)] == [None, None, None]  # all quiet
    r.changed(["b"], at(99.5))
    assert r.take(at(100)) == "b"  # the change before a's safety net, due since 100
    assert r.take(at(101)) == "a"  # then the safety net
    r.finished("a", at(101), pending=True)  # a cycle that wrote: read again at its turn
    assert r.take(at(102)) == "c"  # c's safety net (due since 101)
    assert r.take(at(111)) == "a"


def test_interval_schedule_holds_its_grid_unless_served_late() -> None:
    """Served within a slot of its due time the grid holds; served late, it restarts."""
    schedule = every(10.0, 1.0)
    assert schedule(at(0), at(0.7)) == at(10)
    assert schedule(at(0), at(30)) == at(39)


def test_budget_arithmetic() -> None:
    """Equal periods: every spreadsheet every count * 60 / available s; mixed: a common lag."""
    budget = Budget("sa", (10.0,) * 100, 55.0)
    assert budget.over and budget.needed == 600
    assert budget.effective(10.0) == pytest.approx(100 * 60 / 55)
    fits = Budget("sa", (60.0,) * 10, 55.0)
    assert not fits.over and fits.lag == 0 and fits.effective(60) == 60
    lag = lag_for((10.0, 60.0), 3.0)
    assert 60 / (10 + lag) + 60 / (60 + lag) == pytest.approx(3.0)
    text = Budget("main (sa@p.iam)", (10.0,) * 100, 55.0).describe()
    assert "main (sa@p.iam): 100 spreadsheet(s) need 600 Sheets reads/min" in text
    assert "it may spend 55 (reads_per_minute)" in text
    assert "every 10 s -> about every 109 s" in text


def many_spreadsheets(world: World, count: int, **google: object) -> Path:
    """`count` spreadsheets with one row a person marked handled each (no sheetsync id: a
    journal that never saw it does not take it for its own), one watch each, every 0.5 s."""
    watches = []
    for i in range(count):
        row = [f"https://shop.example/{i}", f"P{i}", "done by hand"]
        sid = world.google.create_spreadsheet(f"Book {i}", {"Q": [HEADER, row]})
        watches.append({"name": f"w{i}", "spreadsheet": sid, "worksheet": "Q"})
    return world.config(*({**w, "interval_seconds": 0.5} for w in watches), google=google)


def test_check_prints_the_read_arithmetic(world: World) -> None:
    """`check` prints what the daemon would log: needed and available reads, the interval."""
    config = many_spreadsheets(world, 4, reads_per_minute=60)
    result = CliRunner().invoke(main, ["check", "-c", str(config)], env=world.environ)
    lines = [line for line in result.output.splitlines() if "Sheets reads/min" in line]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("! Google identity default (")
    assert "4 spreadsheet(s) need 480 Sheets reads/min, but it may spend 60" in lines[0]
    assert "every 0.5 s -> about every 4.0 s" in lines[0]


def test_the_daemon_warns_once_and_serves_every_spreadsheet_in_turn(world: World) -> None:
    """12 spreadsheets at 0.5 s on a 240 reads/min identity: one WARNING with the arithmetic,
    no per-tick chatter (APScheduler's "skipped: maximum number of running instances"),
    and every spreadsheet read in turn, none twice before the others."""
    config = many_spreadsheets(world, 12, reads_per_minute=240)
    reads: list[str] = []
    enough = threading.Event()

    def count(request: Request) -> None:
        if request.path.endswith("values:batchGet"):
            reads.append(request.path.split("/")[3])
            if len(reads) >= 36:
                enough.set()

    world.google.on_request = count
    daemon = DaemonProcess.for_world(world, config)
    try:
        assert enough.wait(30), reads
        assert daemon.stop() == 0
    finally:
        world.google.on_request = None
        if daemon.proc.poll() is None:
            daemon.kill()
    warnings = [line for line in daemon.lines() if " INFO " not in line and " DEBUG " not in line]
    assert len(warnings) == 1, warnings
    assert "12 spreadsheet(s) need 1440 Sheets reads/min, but it may spend 240" in warnings[0]
    assert "about every 3.0 s" in warnings[0]
    assert "maximum number of running instances" not in daemon.log()
    for start in (0, 12, 24):  # each spreadsheet once per round, none twice before the others
        assert len(set(reads[start : start + 12])) == 12, reads
