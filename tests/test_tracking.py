"""Run tracking and sequential mode: /run-data polls on the injected clock, outcomes per row."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from sheetsync.adapters.store.journal import Journal
from sheetsync.config import load_config
from sheetsync.errors import ConfigError
from sheetsync.testing import AUTOMATION, World

HEADER = ["url", "product"]
OTHER = "Enrich lead"


def rows(n: int) -> list[list[str]]:
    return [[f"https://shop.example/{i}", f"P{i}"] for i in range(1, n + 1)]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """Both emulators, the axiom one counting time on the world's fake clock."""
    w = World.start(tmp_path, (AUTOMATION, OTHER), share_clock=True)
    try:
        yield w
    finally:
        w.stop()


def poll_times(world: World, polls: list[int]) -> list[int]:
    """Cycle one second before and at each expected poll; return when /run-data was called.

    No cycle runs in between, so a poll can only happen at these probes: a poll one
    second early or late shows up as a difference.
    """
    times = []
    for t in sorted({p - 1 for p in polls} | set(polls)):
        world.clock.advance(t - world.clock.elapsed)
        before = world.axiom.calls("/run-data")
        world.once()
        times += [t] * (world.axiom.calls("/run-data") - before)
    return times


def journal_rows(world: World) -> list[tuple[str, ...]]:
    db = sqlite3.connect(world.folder / "sheetsync.db")
    try:
        return db.execute(
            "SELECT state, run_status, wait_reason FROM rows ORDER BY triggered_at, row_id"
        ).fetchall()
    finally:
        db.close()


@pytest.mark.parametrize(
    ("final", "shown"), [("Success", "success"), ("Failure", "failure"), ("Finished", "success")]
)
def test_a_tracked_row_shows_running_then_how_the_run_ended(
    world: World, final: str, shown: str
) -> None:
    """Running then Success/Failure (or the older Running/Finished) land in `Run status`."""
    world.sheet([HEADER, *rows(1)])
    world.config({"track_runs": True})
    world.axiom.set_run_statuses(AUTOMATION, ["Running", final])
    world.once()
    assert world.row(2)["Status"] == "triggered"
    assert world.row(2)["Run status"] == "running"
    world.clock.advance(5)
    world.once()
    assert world.row(2)["Run status"] == "running"
    world.clock.advance(10)
    world.once()
    assert world.row(2)["Run status"] == shown
    assert world.row(2)["Status"] == "triggered"
    world.clock.advance(600)
    world.once()
    assert world.axiom.calls("/run-data") == 2  # an ended run is not polled again
    assert len(world.axiom.triggers) == 1


def test_polls_back_off_from_5_to_60_seconds_on_the_injected_clock(world: World) -> None:
    """A run that keeps running is polled 5, 15, 35, 75, 135, 195 s after its trigger."""
    world.sheet([HEADER, *rows(1)])
    world.config({"track_runs": True})
    world.once()
    assert poll_times(world, [5, 15, 35, 75, 135, 195, 255]) == [5, 15, 35, 75, 135, 195, 255]
    assert world.row(2)["Run status"] == "running"


def test_poll_schedule_is_configurable_and_a_poll_not_due_costs_nothing(world: World) -> None:
    """track_poll_seconds/track_poll_max_seconds set the schedule; idle cycles: one read."""
    world.sheet([HEADER, *rows(1)])
    world.config({"track_runs": True, "track_poll_seconds": 2, "track_poll_max_seconds": 8})
    world.once()
    assert poll_times(world, [2, 6, 14, 22, 30]) == [2, 6, 14, 22, 30]
    world.google.reset_counters()
    calls = world.axiom.calls("/run-data")
    world.once()  # 32 s: the next poll is due at 38 s
    assert world.axiom.calls("/run-data") == calls
    assert world.google.reads() == 1 and world.google.writes() == 0


def test_a_batch_run_is_one_poll_for_all_its_rows(world: World) -> None:
    """Batch mode: one trigger, one /run-data call per due poll, the outcome on every row."""
    world.sheet([HEADER, *rows(3)])
    world.config({"track_runs": True, "mode": "batch"})
    world.axiom.set_run_statuses(AUTOMATION, ["Success"])
    world.once()
    world.clock.advance(5)
    world.once()
    assert world.axiom.calls("/run-data") == 1
    assert world.column("Run status") == ["success"] * 3


def test_each_automation_name_is_polled_once_and_tracked_on_its_own(world: World) -> None:
    """Two per-row automations: one poll per name, each row gets its own run's outcome."""
    world.sheet(
        [[*HEADER, "Automation"], ["https://a", "A", AUTOMATION], ["https://b", "B", OTHER]]
    )
    world.config({"track_runs": True, "automation_column": "Automation"})
    world.axiom.set_run_statuses(AUTOMATION, ["Failure"])
    world.axiom.set_run_statuses(OTHER, ["Success"])
    world.once()
    world.clock.advance(5)
    world.once()
    assert world.axiom.calls("/run-data") == 2
    assert world.column("Run status") == ["failure", "success"]


def test_only_the_latest_run_of_a_name_gets_its_status(world: World) -> None:
    """Overlapping runs of one name: the older row says why it is `untracked`."""
    world.sheet([HEADER, *rows(2)])
    world.config({"track_runs": True})
    world.axiom.set_run_statuses(AUTOMATION, ["Success"])
    world.once()
    world.clock.advance(5)
    world.once()
    assert world.column("Run status") == ["untracked", "success"]
    assert "only the latest run" in world.row(2)["Message"]
    assert "max_in_flight = 1" in world.row(2)["Message"]
    assert world.axiom.calls("/run-data") == 1


def test_a_new_trigger_takes_a_last_look_at_the_run_it_supersedes(world: World) -> None:
    """A run that ended between polls still gets its outcome when the next row arrives."""
    world.sheet([HEADER, *rows(1)])
    world.config({"track_runs": True})
    world.axiom.set_run_statuses(AUTOMATION, ["Running"])
    world.once()
    world.clock.advance(5)
    world.once()  # Running; next poll at 15 s
    world.axiom.finish_run(AUTOMATION, "Failure")
    world.google.insert_rows(world.spreadsheet_id, "Queue", 3, values=[["https://late", "L"]])
    world.clock.advance(2)
    world.once()  # not due, but the new trigger would hide it: one last look first
    assert world.column("Run status") == ["failure", "running"]


def test_poll_failures_never_lose_or_retrigger_a_row(world: World) -> None:
    """/run-data down or confused: the row stays triggered and is polled again later."""
    world.sheet([HEADER, *rows(1)])
    world.config({"track_runs": True}, axiom={"max_retries": 0})
    world.once()
    outage = world.axiom.add_fault(path="/run-data", status=503, count=2)
    world.clock.advance(5)
    world.once()
    world.clock.advance(10)
    world.once()
    assert world.row(2)["Status"] == "triggered"
    assert world.row(2)["Run status"] == "running"
    world.axiom.set_run_statuses(AUTOMATION, ["Success"])
    world.clock.advance(20)
    world.once()
    assert world.row(2)["Run status"] == "success"
    assert len(world.axiom.triggers) == 1
    assert outage.hits == 2 and world.axiom.calls("/run-data") == 1


def test_the_run_status_follows_its_row_when_rows_are_sorted(world: World) -> None:
    """The outcome lands by row id, wherever sorting moved the row meanwhile."""
    world.sheet([HEADER, *rows(1)])
    world.config({"track_runs": True})
    world.once()
    sid = world.spreadsheet_id
    world.google.insert_rows(sid, "Queue", 2, values=[["https://z-human", "Z", "done"]])
    world.google.sort(sid, "Queue", 1, ascending=False)
    world.axiom.set_run_statuses(AUTOMATION, ["Failure"])
    world.clock.advance(5)
    world.once()
    by_url = {r["url"]: r for r in (world.row(n) for n in (2, 3))}
    assert by_url["https://shop.example/1"]["Run status"] == "failure"
    assert by_url["https://z-human"]["Run status"] == ""


def test_max_in_flight_1_runs_20_rows_one_after_another(world: World) -> None:
    """Sequential mode: no second run starts before the first ended; 20 own outcomes."""
    world.sheet([HEADER, *rows(20)])
    world.config({"track_runs": True, "max_in_flight": 1})
    finals = ["Success" if i % 3 else "Failure" for i in range(20)]
    world.axiom.set_run_statuses(AUTOMATION, finals)
    for _ in range(200):
        world.google.reset_counters()
        world.once()
        assert world.google.count("values.batchGet") <= 2
        assert world.google.count("values.batchUpdate") <= 2
        if len(world.axiom.started()) == 20 and not world.axiom.runs[-1].running:
            break
        world.clock.advance(5)
    assert world.axiom.max_concurrent_runs(AUTOMATION) == 1
    assert [t.data[1][0] for t in world.axiom.started()] == [r[0] for r in rows(20)]
    assert world.column("Run status") == [f.lower() for f in finals]
    assert world.column("Status") == ["triggered"] * 20


def test_max_in_flight_counts_overlapped_runs_until_a_later_run_ends(world: World) -> None:
    """max_in_flight = 2 on one name: the next rows wait until the newer run is seen to end."""
    world.sheet([HEADER, *rows(4)])
    world.config({"track_runs": True, "max_in_flight": 2})
    world.once()
    assert len(world.axiom.triggers) == 2
    assert world.column("Run status") == ["untracked", "running", "", ""]
    world.clock.advance(5)
    world.once()  # still running: no free slot
    assert len(world.axiom.triggers) == 2
    world.axiom.finish_run(AUTOMATION, "Success")
    world.axiom.finish_run(AUTOMATION, "Success")
    world.clock.advance(10)
    world.once()
    assert world.column("Run status")[:2] == ["untracked", "success"]
    assert len(world.axiom.triggers) == 4
    assert world.axiom.max_concurrent_runs(AUTOMATION) == 2


def test_a_run_that_never_ends_stops_holding_its_slot(world: World) -> None:
    """After track_timeout_seconds a run is `untracked` and the next row may go."""
    world.sheet([HEADER, *rows(2)])
    world.config({"track_runs": True, "max_in_flight": 1, "track_timeout_seconds": 600})
    world.once()
    world.clock.advance(599)
    world.once()
    assert len(world.axiom.triggers) == 1
    world.clock.advance(1)
    world.once()
    assert len(world.axiom.triggers) == 2
    assert world.column("Run status") == ["untracked", "running"]
    assert "stopped tracking" in world.row(2)["Message"]


def test_max_in_flight_without_tracking_is_a_config_error(world: World) -> None:
    """A watch cannot know a run ended without tracking it: the error names the key."""
    world.sheet([HEADER, *rows(1)])
    path = world.config({"max_in_flight": 1})
    with pytest.raises(ConfigError, match=r"watch\[0\] \(w0\).*max_in_flight.*track_runs"):
        load_config(path, world.environ)


def test_tracking_adds_the_run_status_column(world: World) -> None:
    """track_runs adds `Run status` to the header; without it no column appears."""
    world.sheet([HEADER, *rows(1)])
    world.config()
    world.once()
    assert "Run status" not in world.values()[0]
    world.config({"track_runs": True})
    world.once()
    assert "Run status" in world.values()[0]


OLD_SCHEMA = """
CREATE TABLE rows (
    watch TEXT NOT NULL, row_id TEXT NOT NULL, state TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0, fingerprint TEXT NOT NULL DEFAULT '',
    automation TEXT NOT NULL DEFAULT '', link TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '', triggered_at TEXT NOT NULL DEFAULT '',
    run_status TEXT NOT NULL DEFAULT '', waits INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL,
    PRIMARY KEY (watch, row_id)
);
INSERT INTO rows (watch, row_id, state, fingerprint, automation, updated_at)
VALUES ('w0', 'rold', 'triggered', 'f', 'Scrape product page', '2026-01-01T00:00:00Z');
"""


@pytest.mark.sqlite_only(
    "an old SQLite journal file migrated in place (PostgreSQL: tests/fleet/test_store_setup.py)"
)
def test_a_journal_from_before_tracking_is_migrated_in_place(tmp_path: Path) -> None:
    """Opening an older journal adds the new columns and keeps every row."""
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.close()
    journal = Journal(path)
    try:
        columns = {r[1] for r in journal._query("PRAGMA table_info(rows)")}
        assert {"wait_reason", "trigger_id", "poll_at", "poll_seconds"} <= columns
        assert journal.counts("w0") == {"triggered": 1}
    finally:
        journal.close()
    Journal(path).close()  # a second open finds nothing to add
