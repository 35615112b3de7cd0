"""What axiom offers, used well: pacing, per-row automations, ready gating, data options,
`check`, and rows waiting for the runtime allowance."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from sheetsync.adapters.pacing import RollingLimiter
from sheetsync.service.cli import main
from sheetsync.testing import AUTOMATION, KEY_ENV, TEST_KEY, Clock, World

if TYPE_CHECKING:
    from tests.conftest import StateQuery

HEADER = ["url", "product"]
OTHER = "Enrich lead"


def rows(n: int) -> list[list[str]]:
    return [[f"https://shop.example/{i}", f"P{i}"] for i in range(1, n + 1)]


def check(world: World) -> tuple[int, str]:
    """`sheetsync check -c sheetsync.toml` through the real command line."""
    result = CliRunner().invoke(
        main, ["check", "-c", str(world.folder / "sheetsync.toml")], env={KEY_ENV: TEST_KEY}
    )
    return result.exit_code, result.output


# -- pacing ----------------------------------------------------------------------------


@pytest.fixture
def paced_world(tmp_path: Path) -> Iterator[World]:
    """An axiom emulator enforcing 100 calls per rolling minute of the world's fake clock."""
    w = World.start(tmp_path, axiom_options={"rate_limit": 100}, share_clock=True)
    try:
        yield w
    finally:
        w.stop()


def test_300_rows_stay_under_the_configured_pace_and_go_exactly_once(paced_world: World) -> None:
    """300 row-mode triggers at 90 calls a minute: no rolling minute above 90, no 429."""
    world = paced_world
    world.sheet([HEADER, *rows(300)])
    world.config({"mode": "row"}, axiom={"calls_per_minute": 90})
    world.until_quiet(limit=3)
    assert world.axiom.calls_per_rolling_minute_max() <= 90
    assert {t.outcome for t in world.axiom.triggers} == {"started"}
    assert Counter(t.data[1][0] for t in world.axiom.triggers) == Counter(
        {r[0]: 1 for r in rows(300)}
    )
    assert world.column("Status") == ["triggered"] * 300
    assert world.clock.elapsed >= 3 * 60  # 300 calls at 90 a minute take over 3 minutes


def test_a_call_holds_its_pacing_slot_until_a_window_after_its_answer() -> None:
    """A slow call counts from when it ends: axiom may have received it that late."""
    clock = Clock()
    limiter = RollingLimiter(2, 60, clock=clock.monotonic, sleep=clock.sleep)
    with limiter.slot():
        clock.advance(50)  # the answer takes 50 s
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == pytest.approx(60.0)  # until 50 + 60, not 0 + 60
    assert clock.elapsed == pytest.approx(110.0)


# -- per-row automation -------------------------------------------------------------------


def test_two_automation_names_in_batch_mode_make_exactly_two_triggers(world: World) -> None:
    """Rows are grouped by their automation cell (empty: the watch's), one trigger each."""
    world.axiom.automations.append(OTHER)
    world.sheet(
        [
            [*HEADER, "Automation"],
            ["https://a", "A", ""],
            ["https://b", "B", OTHER],
            ["https://c", "C", AUTOMATION],
            ["https://d", "D", OTHER],
        ]
    )
    world.config({"mode": "batch", "automation_column": "Automation"})
    world.once()
    sent = {t.name: t.data for t in world.axiom.triggers}
    assert len(world.axiom.triggers) == 2
    assert sent == {
        AUTOMATION: [HEADER, ["https://a", "A"], ["https://c", "C"]],
        OTHER: [HEADER, ["https://b", "B"], ["https://d", "D"]],
    }
    assert world.column("Status") == ["triggered"] * 4


# -- ready gating and settling ------------------------------------------------------------


def test_unready_and_changing_rows_wait_and_ticking_the_box_sends_them(world: World) -> None:
    """Unticked rows never go; a ticked row goes once it stood still for settle_seconds."""
    world.sheet([[*HEADER, "Ready"], ["https://a", "A", "FALSE"], ["https://b", "B", ""]])
    world.config({"ready_column": "Ready", "settle_seconds": 10})
    sid = world.spreadsheet_id
    world.once()
    world.clock.advance(60)
    world.once()
    assert world.axiom.triggers == []
    world.google.set_cell(sid, "Queue", 2, 3, "TRUE")
    world.once()  # ticked: first seen now
    world.clock.advance(5)
    world.google.set_cell(sid, "Queue", 2, 2, "A, typed on")
    world.once()  # changed: the wait starts over
    world.clock.advance(5)
    world.once()
    assert world.axiom.triggers == []
    assert world.row(2)["Status"] == ""
    world.clock.advance(5)
    world.once()
    assert world.payloads() == [[HEADER, ["https://a", "A, typed on"]]]
    assert world.row(2)["Status"] == "triggered"
    assert world.row(3)["Status"] == ""


def test_without_settle_seconds_a_ticked_row_goes_at_the_next_cycle(world: World) -> None:
    """Ticking the ready box is enough when no settle time is configured."""
    world.sheet([[*HEADER, "Ready"], ["https://a", "A", "no"]])
    world.config({"ready_column": "Ready"})
    world.once()
    assert world.axiom.triggers == []
    world.google.set_cell(world.spreadsheet_id, "Queue", 2, 3, "✓")
    world.once()
    assert world.payloads() == [[HEADER, ["https://a", "A"]]]


# -- data options ---------------------------------------------------------------------


def test_send_row_id_adds_the_rows_id_as_a_last_input_column(world: World) -> None:
    """The automation receives each row's sheetsync id under the id column's header."""
    world.sheet([HEADER, *rows(2)])
    world.config({"mode": "batch", "send_row_id": True})
    world.once()
    ids = world.column("sheetsync id")
    assert all(ids)
    assert world.payloads() == [
        [[*HEADER, "sheetsync id"], [*rows(2)[0], ids[0]], [*rows(2)[1], ids[1]]]
    ]


def test_triggered_at_is_written_in_iso_utc_where_the_column_exists(world: World) -> None:
    """An existing `Triggered at` column gets the trigger's ISO-8601 UTC time."""
    world.sheet([[*HEADER, "Triggered at"], *rows(1)])
    world.config()
    world.once()
    assert world.row(2)["Triggered at"] == "2026-01-05T09:00:00Z"


# -- check ----------------------------------------------------------------------------------


def test_check_names_the_near_miss_of_a_misspelt_automation(world: World) -> None:
    """`"scrape product page "` is not a name in axiom: exit 1 with the exact suggestion."""
    world.sheet([HEADER, *rows(1)])
    world.config({"automation": "scrape product page "})
    code, output = check(world)
    assert code == 1
    assert "'scrape product page '" in output
    assert "did you mean 'Scrape product page'?" in output
    assert world.axiom.triggers == []


def test_check_passes_prints_runtime_and_warns_of_duplicate_headers(world: World) -> None:
    """A good config exits 0, shows the remaining runtime and flags repeated headers."""
    world.sheet([[*HEADER, "url"], *rows(1)])
    world.config()
    code, output = check(world)
    assert code == 0, output
    assert "remaining runtime: 480 of 600 minutes left" in output
    assert "columns A and C have the same header 'url': both are sent to axiom" in output
    assert world.google.writes() == 0 and world.axiom.triggers == []


def test_check_verifies_per_row_automation_names(world: World) -> None:
    """A misspelt name in the automation column is a problem, with its near match."""
    world.sheet([[*HEADER, "Automation"], ["https://a", "A", "Scrape  product page"]])
    world.config({"automation_column": "Automation"})
    code, output = check(world)
    assert code == 1
    assert "did you mean 'Scrape product page'?" in output


# -- quota exceeded ---------------------------------------------------------------------------


def wait_reasons(world: World, state_query: StateQuery) -> list[str]:
    return [r[0] for r in state_query(world, "SELECT wait_reason FROM rows ORDER BY row_id")]


def test_rows_waiting_for_quota_ask_remaining_runtime_before_triggering(
    world: World, state_query: StateQuery
) -> None:
    """While the allowance is spent, only /remaining-runtime is asked, every 5 minutes."""
    world.sheet([HEADER, *rows(2)])
    world.config()
    world.axiom.set_quota_exceeded(True)
    world.once()
    assert world.column("Status") == ["waiting"] * 2
    assert wait_reasons(world, state_query) == ["quota", "quota"]
    assert len(world.axiom.triggers) == 1  # the second row was held back, not sent
    world.clock.advance(300)
    world.once()  # still refused: a runtime read, no trigger
    assert world.axiom.calls("/remaining-runtime") == 1
    assert len(world.axiom.triggers) == 1
    assert "/remaining-runtime" in world.row(2)["Message"]
    world.axiom.set_quota_exceeded(False)
    world.axiom.remaining = {"used": 600, "allowance": 600, "remaining": 0}
    world.clock.advance(120)
    world.once()  # not due: costs nothing
    assert world.axiom.calls("/remaining-runtime") == 1
    world.clock.advance(180)
    world.once()
    assert world.axiom.calls("/remaining-runtime") == 2
    assert len(world.axiom.triggers) == 1
    assert "0 of 600 minutes left" in world.row(2)["Message"]
    world.axiom.remaining = {"used": 100, "allowance": 600, "remaining": 500}
    world.clock.advance(300)
    world.once()
    assert world.axiom.calls("/remaining-runtime") == 3
    assert world.column("Status") == ["triggered"] * 2
    assert len(world.axiom.started()) == 2
    assert wait_reasons(world, state_query) == ["", ""]
