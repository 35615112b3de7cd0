"""Fault tolerance: 429 storms, axiom outages, account problems, humans clearing cells."""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from sheetsync.testing import TEST_KEY, World

HEADER = ["url", "product"]


def rows(n: int) -> list[list[str]]:
    return [[f"https://shop.example/{i}", f"P{i}"] for i in range(1, n + 1)]


def sent_counts(world: World) -> Counter[str]:
    return Counter(t.data[1][0] for t in world.axiom.triggers)


def test_google_429_storm_is_survived_with_bounded_waits(world: World) -> None:
    """The first reads and writes answer 429: reads retry (waits injected), writes wait a cycle."""
    world.sheet([HEADER, *rows(4)])
    world.google.add_fault(path=r"values:batchGet$", status=429, count=3, retry_after="7")
    world.google.add_fault(path=r"values:batchUpdate$", status=429, count=3)
    world.config()
    errors = []
    for cycle in range(6):
        [report] = world.once()
        errors.append(report.error)
        world.clock.advance(5)
        if cycle == 0:  # the refused claim write is lost: not kept as a zombie's (PostgreSQL)
            world.past_grace()
    assert [e is not None and "quota" in e for e in errors] == [True] * 3 + [False] * 3
    assert world.column("Status") == ["triggered"] * 4
    assert sent_counts(world) == Counter({r[0]: 1 for r in rows(4)})
    assert world.clock.sleeps == [7.0, 7.0, 7.0]  # reads retried, Retry-After honoured
    writes = world.google.requests_matching(r"values:batchUpdate$", "POST")
    assert len(writes) == 3 + 2  # three refused, never retried in place; then claim + results


def test_google_429_beyond_retries_fails_the_cycle_then_heals(world: World) -> None:
    """A longer 429 storm fails one cycle with a clear line; the next cycle catches up."""
    world.sheet([HEADER, *rows(2)])
    world.config({"name": "a"})
    world.google.add_fault(path=r"values:batchGet$", status=429, count=6)
    [report] = world.once()
    assert report.error is not None and "quota" in report.error.lower()
    assert world.axiom.triggers == []
    [report] = world.once()
    assert report.error is None
    assert world.column("Status") == ["triggered"] * 2


def test_axiom_busy_for_a_minute_puts_rows_waiting_then_sends_them(world: World) -> None:
    """While axiom refuses with its own JSON 503 (nothing started) rows wait; after it they
    are sent exactly once, by themselves."""
    world.sheet([HEADER, *rows(3)])
    world.config()
    busy = {"status": "error", "message": "Server busy"}
    outage = world.axiom.add_fault(path="/trigger", status=503, body=busy)
    world.once()
    assert world.column("Status") == ["waiting"] * 3
    assert "retries by itself" in world.column("Message")[0]
    assert world.axiom.started() == []
    calls_during_outage = outage.hits
    assert calls_during_outage == 4  # one row tried with 3 retries; the others were held back
    world.clock.advance(30)
    world.once()
    assert outage.hits == calls_during_outage  # not due yet: no call
    world.axiom.clear_faults()
    world.clock.advance(60)
    world.once()
    assert world.column("Status") == ["triggered"] * 3
    assert Counter(t.data[1][0] for t in world.axiom.started()) == Counter(
        {r[0]: 1 for r in rows(3)}
    )


@pytest.mark.parametrize(("state", "word"), [("key", "Invalid key"), ("quota", "Quota exceeded")])
def test_account_problems_wait_and_recover_without_a_human(
    world: World, state: str, word: str
) -> None:
    """Invalid key or quota exceeded: rows are `waiting`, then triggered once axiom accepts."""
    world.sheet([HEADER, *rows(2)])
    world.config()
    if state == "key":
        world.axiom.set_key_valid(False)
    else:
        world.axiom.set_quota_exceeded(True)
    world.once()
    assert world.column("Status") == ["waiting", "waiting"]
    assert word in world.column("Message")[0]
    world.axiom.set_key_valid(True)
    world.axiom.set_quota_exceeded(False)
    world.clock.advance(16 * 60)
    world.once()
    assert world.column("Status") == ["triggered", "triggered"]
    assert len(world.axiom.started()) == 2


def test_unreadable_answers_become_unknown_and_hold_the_rest(world: World) -> None:
    """An HTML 200 may follow a started run: that row is unknown, the others wait unsent
    until axiom answers /list-automations, then go once each."""
    world.sheet([HEADER, *rows(3)])
    world.axiom.script(["html"])
    world.config()
    world.once()
    assert world.column("Status") == ["unknown", "waiting", "waiting"]
    assert "may or may not" in world.column("Message")[0]
    assert all("not sent" in m for m in world.column("Message")[1:])
    assert len(world.axiom.triggers) == 1
    world.clock.advance(10)
    world.once()
    assert world.column("Status") == ["unknown", "triggered", "triggered"]
    assert len(world.axiom.triggers) == 3
    assert len(world.axiom.requests_matching("/list-automations$")) == 1


def test_clearing_a_status_restores_it_and_retry_resends(world: World) -> None:
    """A cleared `triggered` cell comes back without a trigger; `retry` sends again."""
    world.sheet([HEADER, *rows(1)])
    world.config()
    world.once()
    status_col = world.values()[0].index("Status") + 1
    link = world.row(2)["Run link"]
    world.google.set_cell(world.spreadsheet_id, "Queue", 2, status_col, "")
    world.once()
    assert world.row(2)["Status"] == "triggered"
    assert world.row(2)["Run link"] == link
    assert len(world.axiom.triggers) == 1
    world.google.set_cell(world.spreadsheet_id, "Queue", 2, status_col, "retry")
    world.once()
    assert len(world.axiom.triggers) == 2
    assert world.row(2)["Status"] == "triggered"
    assert world.row(2)["Run link"] != link


def test_start_from_now_sends_none_of_500_old_rows(world: World) -> None:
    """start_from = now marks existing rows skipped; only later rows are sent."""
    world.sheet([HEADER, *rows(500)])
    world.config({"start_from": "now"})
    [report] = world.once()
    assert report.skipped == 500
    assert world.axiom.triggers == []
    assert set(world.column("Status")) == {"skipped"}
    world.google.insert_rows(world.spreadsheet_id, "Queue", 502, values=[["https://late", "L"]])
    world.once()
    assert world.payloads() == [[HEADER, ["https://late", "L"]]]
    world.close_runtime()  # a restart must not skip again
    world.google.insert_rows(world.spreadsheet_id, "Queue", 503, values=[["https://later", "L"]])
    world.once()
    assert len(world.axiom.triggers) == 2


def test_unknown_after_read_timeout_is_never_resent(world: World) -> None:
    """A trigger whose answer timed out is `unknown` and stays so across cycles."""
    world.sheet([HEADER, *rows(1)])
    world.config(axiom={"read_timeout_seconds": 0.3})
    world.axiom.add_fault(path="/trigger", delay=2.0, count=1, phase="after")
    world.once()
    assert world.row(2)["Status"] == "unknown"
    world.once()
    world.once()
    assert len(world.axiom.triggers) == 1


def test_the_axiom_key_never_reaches_logs_or_the_sheet(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Across failures of every kind no log line and no cell contains the key."""
    caplog.set_level(logging.DEBUG)
    world.sheet([HEADER, *rows(4)])
    world.axiom.script(["rate_limit", "server_error", "invalid_key", "html"])
    world.google.add_fault(path=r"values:batchGet$", status=503, count=1)
    world.config()
    world.once()
    world.clock.advance(3600)
    world.once()
    text = caplog.text + repr(world.values())
    assert caplog.records
    assert TEST_KEY not in text


def test_start_from_now_with_refused_writes_neither_sends_nor_piles_up(world: World) -> None:
    """While the skip write keeps failing, no old row is sent and the journal stays one deep."""
    world.sheet([HEADER, *rows(50)])
    world.config({"start_from": "now"})
    world.google.add_fault(path=r"values:batchUpdate$", status=403, count=3)
    for _ in range(4):
        world.once()
    assert world.axiom.triggers == []
    assert set(world.column("Status")) == {"skipped"}
    assert world.runtime().journal.counts("w0") == {"skipped": 50}
