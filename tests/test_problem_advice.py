"""Each problem a person must act on, through the real HTTP stacks: one ERROR or WARNING
with what to do when it begins, nothing more while it lasts, one INFO when it clears."""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from sheetsync.adapters import pacing
from sheetsync.adapters.axiom import outage
from sheetsync.cycle import sending
from sheetsync.testing import World

HEADER = ["url", "product"]
ROWS = [["https://a", "A"], ["https://b", "B"], ["https://c", "C"]]


def told(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    """What `sheetsync.service.problems` logged at INFO or above: (level, message), in order."""
    return [
        (r.levelname, r.getMessage())
        for r in caplog.records
        if r.name == "sheetsync.problems" and r.levelno >= logging.INFO
    ]


def cycles(world: World, n: int, step: float) -> None:
    """`n` cycles, `step` seconds of fake time apart."""
    for _ in range(n):
        world.once()
        world.clock.advance(step)


def began_then_cleared(caplog: pytest.LogCaptureFixture, level: str) -> str:
    """The problem's one line at `level`, after checking it cleared once at INFO."""
    lines = told(caplog)
    assert [lv for lv, _ in lines] == [level, "INFO"], lines
    assert lines[1][1].startswith("watch w0: resolved: "), lines
    return lines[0][1]


def test_google_quota_is_one_error_with_googles_advice(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Sheets answering 429 to every read for three cycles: one ERROR naming Google's
    per-minute quota and what to lower; reads answered again: one INFO."""
    caplog.set_level(logging.DEBUG)
    world.sheet([HEADER, *ROWS])
    world.config()
    world.google.add_fault(path=r"values:batchGet$", status=429)
    for _ in range(3):
        assert world.once()[0].error_reason == "quota"
        world.clock.advance(60)
    world.google.clear_faults()
    assert world.once()[0].error is None
    line = began_then_cleared(caplog, "ERROR")
    assert "Google quota exceeded" in line, line
    assert "Google's per-minute quota is used up: lower reads_per_minute" in line, line
    assert world.column("Status") == ["triggered"] * 3


def test_axiom_quota_is_one_warning_with_axioms_advice_not_googles(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """axiom's runtime allowance spent: rows wait; the WARNING speaks of the billing period,
    the plan and /remaining-runtime, never of Google's per-minute quota. When minutes are
    left again the rows go by themselves, and the problem clears at INFO."""
    caplog.set_level(logging.DEBUG)
    world.sheet([HEADER, *ROWS])
    world.config()
    world.axiom.set_quota_exceeded(True)
    cycles(world, 3, 300)
    assert world.column("Status") == ["waiting"] * 3
    world.axiom.set_quota_exceeded(False)
    world.once()
    assert world.column("Status") == ["triggered"] * 3
    line = began_then_cleared(caplog, "WARNING")
    assert line.startswith(
        "watch w0: axiom quota exceeded (the runtime allowance of this billing period is used "
        "up) (3 row(s) waiting); raise the plan in axiom's dashboard or wait for the next "
        "billing period; sheetsync asks /remaining-runtime every 5 minutes"
    ), line
    assert "Google" not in line and "reads_per_minute" not in line, line


def test_axiom_down_behind_a_gateway_is_one_warning_saying_what_happens(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A gateway answering 504 to everything: one row `unknown`, the rest held by the outage
    gate; one WARNING for the held rows saying that sheetsync probes and sends them by
    itself, and what to check; axiom back: one INFO, the held rows triggered."""
    caplog.set_level(logging.DEBUG)
    world.sheet([HEADER, *ROWS])
    world.config({"mode": "row"})
    world.axiom.add_fault(path=".*", status=504)
    cycles(world, 6, 10)
    assert Counter(world.column("Status")) == Counter({"unknown": 1, "waiting": 2})
    world.axiom.clear_faults()
    cycles(world, 6, 60)
    assert Counter(world.column("Status")) == Counter({"unknown": 1, "triggered": 2})
    line = began_then_cleared(caplog, "WARNING")
    assert line.startswith(
        "watch w0: axiom is down or answered a trigger unclearly (held until it answers "
        "again) (2 row(s) waiting); sheetsync asks /list-automations (it starts nothing)"
    ), line
    assert "sends the rows by itself once axiom answers" in line, line
    assert "run history" in line, line


def test_sheets_permission_denied_is_one_error_until_shared_again(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A 403 from Sheets: one ERROR saying to share the spreadsheet as Editor; shared
    again: one INFO, and the rows go."""
    caplog.set_level(logging.DEBUG)
    world.sheet([HEADER, *ROWS])
    world.config()
    world.google.deny(world.spreadsheet_id)
    for _ in range(3):
        assert world.once()[0].error_reason == "permission"
        world.clock.advance(5)
    world.google.deny(world.spreadsheet_id, False)
    assert world.once()[0].error is None
    line = began_then_cleared(caplog, "ERROR")
    assert "permission denied" in line, line
    assert line.endswith("; share the spreadsheet with the service account as Editor"), line
    assert world.column("Status") == ["triggered"] * 3


def test_rejected_service_account_credentials_are_one_error_until_fixed(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Google's token endpoint refusing the key (deleted in Google Cloud: invalid_grant):
    one ERROR pointing at the key file; accepted again: one INFO."""
    caplog.set_level(logging.DEBUG)
    world.sheet([HEADER, *ROWS])
    world.config()
    world.once()
    world.google.insert_rows(world.spreadsheet_id, "Queue", 5, values=[["https://d", "D"]])
    world.google.expire_tokens()
    refusal = {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
    world.google.add_fault(path="/token$", status=400, body=refusal)
    for _ in range(3):
        assert world.once()[0].error_reason == "auth"
        world.clock.advance(5)
    world.google.clear_faults()
    assert world.once()[0].error is None
    line = began_then_cleared(caplog, "ERROR")
    assert "Google rejected the service-account credentials" in line, line
    assert "check google.service_account_file" in line, line
    assert world.column("Status") == ["triggered"] * 4


def test_rows_a_stop_left_unsent_are_one_warning_saying_they_go_at_the_next_start(
    world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop while rows wait for axiom's pace (5 calls a minute): the rows left unsent
    are one WARNING saying so and that nothing is to be done; the next start sends them
    and has no problem to report."""
    monkeypatch.setattr(sending, "CONCURRENT_ABOVE", 1_000)
    caplog.set_level(logging.DEBUG)
    world.sheet([HEADER, *[[f"https://r/{i}", f"R{i}"] for i in range(10)]])
    world.config({"mode": "row"}, axiom={"calls_per_minute": 5})
    world.runtime().engine.stopping = lambda: world.clock.elapsed > 5.0
    world.once()
    unsent = world.column("Status").count("waiting")
    assert unsent == 5, world.column("Status")
    assert told(caplog) == [
        (
            "WARNING",
            f"watch w0: rows not sent: sheetsync stopped before sending them ({unsent} row(s) "
            "waiting); nothing to do: they go at the next start",
        )
    ]
    world.close_runtime()
    pacing.clear_limiters()
    outage.clear_gates()
    world.clock.advance(60)
    world.once()
    assert world.column("Status") == ["triggered"] * 10
    assert len(told(caplog)) == 1, told(caplog)
