"""A backlog longer than axiom's pace, on the world's fake clock: the sheet shows progress
while triggers wait for slots, a stop request ends the waits in time, and the pace
survives a restart (the journal records every call, axiom's and Google's)."""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from sheetsync.adapters import pacing
from sheetsync.adapters.axiom import outage
from sheetsync.cycle import sending
from sheetsync.cycle.sending import STOPPED_MESSAGE
from sheetsync.emulator._http import Request
from sheetsync.service.daemon import STOP_GRACE_SECONDS
from sheetsync.testing import World

HEADER = ["url", "product"]


def rows(start: int, end: int) -> list[list[str]]:
    return [[f"https://shop.example/{i}", f"P{i}"] for i in range(start, end + 1)]


def restart(world: World) -> None:
    """What a new process starts with: the journal and nothing else."""
    world.close_runtime()
    pacing.clear_limiters()
    outage.clear_gates()


def test_the_sheet_shows_results_while_triggers_wait_for_slots(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """10 rows at 4 calls a minute (one sending thread, so the fake clock is exact): while
    the 5th trigger waits a minute for its slot, the sheet is read and written every 10 s
    and shows the first 4 results, and each flush logs the progress."""
    world.sheet([HEADER, *rows(1, 10)])
    world.config({"mode": "row"}, axiom={"calls_per_minute": 4})
    seen: dict[str, object] = {}

    def at_the_5th(request: Request) -> None:
        if request.path.endswith("/trigger") and world.axiom.calls("/trigger") == 4:
            seen["reads"] = world.google.count("values.batchGet")
            seen["statuses"] = Counter(world.column("Status"))

    world.axiom.on_request = at_the_5th
    with caplog.at_level(logging.INFO, logger="sheetsync.engine"):
        [report] = world.once()
    assert report.triggered == 10
    assert seen["statuses"] == Counter({"triggered": 4, "sending": 6})
    assert isinstance(seen["reads"], int) and seen["reads"] >= 1 + 5  # read 1, a flush per 10 s
    progress = [r.getMessage() for r in caplog.records if "rows answered after" in r.message]
    assert len(progress) >= 5
    assert progress[0].startswith("watch w0: 4 of 10 rows answered after 10 s")
    assert world.column("Status") == ["triggered"] * 10


def test_a_stop_request_ends_a_backlog_within_30_s_and_the_rest_goes_at_the_next_start(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop asked 5 s into a 120-row backlog: sending ends after the grace, the cycle
    within 30 s of the request (not after the minute-long slot wait); unsent rows show
    `waiting` saying why, and go once each at the next start. One sending thread: with
    several, the fake clock's sleeps race, and which row is last before the stop varies."""
    monkeypatch.setattr(sending, "CONCURRENT_ABOVE", 1_000)
    world.sheet([HEADER, *rows(1, 120)])
    world.config({"mode": "row"})
    asked = 5.0
    world.runtime().engine.stopping = lambda: world.clock.elapsed > asked + STOP_GRACE_SECONDS
    [report] = world.once()
    assert world.clock.elapsed - asked <= 30.0
    assert report.outcomes == {"triggered": 90, "waiting": 30}
    assert Counter(world.column("Status")) == Counter({"triggered": 90, "waiting": 30})
    assert world.column("Message").count(STOPPED_MESSAGE) == 30

    restart(world)
    world.until_quiet(step=60)
    assert world.column("Status") == ["triggered"] * 120
    assert Counter(t.data[1][0] for t in world.axiom.triggers) == Counter(
        r[0] for r in rows(1, 120)
    )


def test_a_restart_counts_the_calls_of_the_last_minute(world: World) -> None:
    """Five triggers at 5 calls a minute, a restart 10 s later, three new rows: the new
    process waits for the minute to pass (as axiom counts on the world's clock)."""
    world.axiom.clock = world.clock.monotonic  # as World.start(share_clock=True) does
    world.sheet([HEADER, *rows(1, 5)])
    world.config({"mode": "row"}, axiom={"calls_per_minute": 5})
    world.once()
    restart(world)
    world.clock.advance(10)
    world.google.insert_rows(world.spreadsheet_id, "Queue", 7, values=rows(6, 8))
    world.once()
    assert world.column("Status") == ["triggered"] * 8
    assert world.axiom.calls_per_rolling_minute_max() <= 5


def test_a_restart_counts_the_sheets_reads_of_the_last_minute(world: World) -> None:
    """Google's pace survives a restart too: with 3 reads a minute used up, the new
    process's first read waits for the minute to pass."""
    world.sheet([HEADER, *rows(1, 1)])
    world.config({}, google={"reads_per_minute": 3})
    world.once()  # read 1, the tab's metadata, read 2
    assert world.clock.sleeps == []
    restart(world)
    world.clock.advance(5)
    world.once()
    assert world.clock.sleeps and world.clock.sleeps[0] == pytest.approx(55.0)


def test_a_restart_counts_the_sheets_writes_of_the_last_minute(world: World) -> None:
    """Sheets writes keep their pace across a restart as reads do: with 2 writes a minute
    used up (the claim and the results), the new process writes nothing until the minute
    has passed (a write that would wait that long is left to a later cycle), then does."""
    world.sheet([HEADER, *rows(1, 1)])
    world.config({}, google={"writes_per_minute": 2})
    world.once()
    assert world.google.writes() == 2
    restart(world)
    world.clock.advance(5)
    world.google.insert_rows(world.spreadsheet_id, "Queue", 3, values=rows(2, 2))
    [report] = world.once()
    assert report.error is not None and "write budget is used up for 55s" in report.error
    assert world.google.writes() == 2 and len(world.axiom.triggers) == 1
    world.clock.advance(55)
    world.once()
    assert world.column("Status") == ["triggered", "triggered"]
    assert world.google.writes() == 4
