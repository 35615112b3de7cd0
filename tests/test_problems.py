"""Problems at the right level, once: WARNING/ERROR when they begin, INFO when they clear."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner
from freezegun import freeze_time

from sheetsync.adapters.store.sqlite import SqliteStore
from sheetsync.service.cli import main
from sheetsync.service.daemon import Daemon
from sheetsync.testing import World

HEADER = ["url", "product"]


def problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The messages at WARNING or above: what `journalctl -p warning` shows."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_missing_tab_is_one_error_until_it_clears(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Three failing cycles log one ERROR with what to do; the fix logs one INFO."""
    caplog.set_level(logging.DEBUG)
    world.sheet([HEADER, ["https://a", "A"]], tab="Queue")
    world.config({"worksheet": "Inbox"})
    for _ in range(3):
        assert world.once()[0].error_reason == "missing_tab"
    assert len(problems(caplog)) == 1, problems(caplog)
    assert "'Inbox' does not exist" in problems(caplog)[0]
    assert "sheetsync check` lists the tabs" in problems(caplog)[0]
    world.google.add_sheet(world.spreadsheet_id, "Inbox", [HEADER])
    assert world.once()[0].error is None
    resolved = [r.getMessage() for r in caplog.records if "resolved" in r.getMessage()]
    assert len(resolved) == 1 and resolved[0].startswith("watch w0: resolved:"), resolved
    assert len(problems(caplog)) == 1


def test_an_invalid_key_warns_once_and_each_row_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Rows wait on a rejected key: one WARNING per row as it starts waiting, one for the
    problem; retries that wait again add nothing at WARNING; the fix clears it at INFO."""
    caplog.set_level(logging.INFO)
    world.sheet([HEADER, ["https://a", "A"], ["https://b", "B"]])
    world.config()
    world.axiom.set_key_valid(False)
    world.once()
    warned = problems(caplog)
    rows = [m for m in warned if ", tab 'Queue', row " in m]
    assert len(rows) == 2, warned
    assert rows[0].startswith("watch w0, tab 'Queue', row 2, id ")
    assert "'https://a': waiting: axiom rejected the API key" in rows[0]
    key = [m for m in warned if m.startswith("watch w0: axiom rejected the API key")]
    assert len(key) == 1 and "(2 row(s) waiting)" in key[0] and "dashboard" in key[0], warned
    for _ in range(3):  # retried when due, still rejected: nothing new at WARNING
        world.clock.advance(3600)
        world.once()
    assert len(problems(caplog)) == 3, problems(caplog)
    world.axiom.set_key_valid(True)
    world.clock.advance(3600)
    world.once()
    assert world.column("Status") == ["triggered", "triggered"]
    assert any("resolved: axiom rejected the API key" in r.getMessage() for r in caplog.records)
    assert len(problems(caplog)) == 3


def test_rows_ending_error_or_unknown_warn_with_row_and_message(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """An `error` row is one WARNING: watch, tab, row number, row id, status and message."""
    caplog.set_level(logging.INFO)
    world.sheet([HEADER, ["https://a", "A"], ["https://b", "B"]])
    world.config()
    world.axiom.script(["started", "error"])
    world.once()
    ids = world.column("sheetsync id")
    warned = problems(caplog)
    assert warned == [
        f"watch w0, tab 'Queue', row 3, id {ids[1]}, 'https://b': error: "
        "Task not found, please check the name and try again."
    ], warned


@freeze_time("2026-01-05 10:02:30")
def test_status_line_names_the_problem_and_today_survives_a_restart(world: World) -> None:
    """STATUS= says what is wrong and since when; its "today" count comes from the journal.

    Time stands still (freezegun): "since" and "today" mean the same whenever it runs.
    """
    world.sheet([HEADER, ["https://a", "A"], ["https://b", "B"]])
    config = world.config()
    daemon = Daemon(config, world.environ)
    try:
        daemon.dispatcher.run_cycle(daemon.runtime, daemon.config.watches)
        assert "2 rows triggered today; no errors" in daemon._status_text()
    finally:
        daemon.runtime.close()
    world.axiom.set_key_valid(False)
    world.google.insert_rows(world.spreadsheet_id, "Queue", 4, values=[["https://c"]])
    again = Daemon(config, world.environ)
    try:
        assert "2 rows triggered today" in again._status_text()  # before any cycle
        again.dispatcher.run_cycle(again.runtime, again.config.watches)
        text = again._status_text()
    finally:
        again.runtime.close()
    assert "waiting: w0: axiom rejected the API key since 10:02Z" in text, text
    assert text.endswith("; 1 row waiting"), text


def test_once_exits_3_when_rows_end_error_unknown_or_waiting(world: World) -> None:
    """Cron and timers can alert: exit 3 when the cycle ran but rows need a person."""
    world.sheet([HEADER, ["https://a", "A"]])
    config = world.config()
    runner = CliRunner()
    world.axiom.script(["error"])
    result = runner.invoke(main, ["once", "-c", str(config)], env=world.environ)
    assert result.exit_code == 3, result.output
    world.google.insert_rows(world.spreadsheet_id, "Queue", 3, values=[["https://b"]])
    result = runner.invoke(main, ["once", "-c", str(config)], env=world.environ)
    assert result.exit_code == 0, result.output


@pytest.mark.sqlite_only(
    "the failure is injected with a SQLite pragma (query_only); a failing PostgreSQL"
    " store: tests/fleet/test_store_faults.py"
)
def test_a_journal_that_refuses_writes_is_one_error_not_a_traceback(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A journal that refuses writes (disk full, a read-only remount) fails the cycle with
    reason `journal`: one ERROR for `once` and the daemon alike, no traceback, every cycle
    counted and named in STATUS=."""
    caplog.set_level(logging.DEBUG)
    world.sheet([HEADER, ["https://a", "A"]])
    config = world.config()
    world.once()
    world.google.insert_rows(world.spreadsheet_id, "Queue", 3, values=[["https://b", "B"]])
    journal = world.runtime().journal
    assert isinstance(journal, SqliteStore)
    journal.db.execute("PRAGMA query_only=1")
    for _ in range(2):
        (report,) = world.once()
        assert report.error_reason == "journal", report
    world.close_runtime()
    daemon = Daemon(config, world.environ)
    try:
        assert isinstance(daemon.journal, SqliteStore)
        daemon.journal.db.execute("PRAGMA query_only=1")
        for _ in range(2):
            assert daemon.dispatcher.run_cycle(daemon.runtime, daemon.config.watches)
        text = daemon._status_text()
    finally:
        daemon.runtime.close()
    assert "error: w0: " in text and "readonly database" in text, text
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    errors = [m for m in problems(caplog) if "readonly database" in m]
    assert len(errors) == 2, errors  # once per process: the daemon's problems are its own
    assert all("check the state file and its disk" in m for m in errors), errors
    assert world.column("Status") == ["triggered", ""]


def test_a_different_problem_with_the_same_reason_is_logged_too(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Header A fixed, header B broken: a second ERROR (and A's fix at INFO); the same
    problem cycle after cycle stays one line."""
    caplog.set_level(logging.INFO)
    world.sheet([[*HEADER, "Status", "Status"], ["https://a", "A"]])
    world.config()
    for _ in range(2):
        assert world.once()[0].error_reason == "header"
    world.google.set_cell(world.spreadsheet_id, "Queue", 1, 4, "Message")
    world.google.set_cell(world.spreadsheet_id, "Queue", 1, 5, "Message")
    for _ in range(2):
        assert world.once()[0].error_reason == "header"
    errors = problems(caplog)
    assert len(errors) == 2, errors
    assert "headed like the result column 'Status'" in errors[0], errors
    assert "headed like the result column 'Message'" in errors[1], errors
    resolved = [r.getMessage() for r in caplog.records if "resolved" in r.getMessage()]
    assert len(resolved) == 1 and "'Status'" in resolved[0], resolved


@freeze_time("2026-01-05 10:02:30")
def test_status_line_counts_error_and_unknown_rows_instead_of_no_errors(world: World) -> None:
    """Rows ended `error` and `unknown` need a person: STATUS= says how many rather than
    "no errors", also after a restart before any cycle; the outage problem is worded."""
    world.sheet([HEADER, ["https://a", "A"], ["https://b", "B"], ["https://c", "C"]])
    config = world.config({"mode": "row"})
    world.axiom.script(["error"])
    world.axiom.add_fault(path="/trigger$", status=504, skip=1, count=1)
    daemon = Daemon(config, world.environ)
    try:
        daemon.dispatcher.run_cycle(daemon.runtime, daemon.config.watches)
        text = daemon._status_text()
    finally:
        daemon.runtime.close()
    assert world.column("Status") == ["error", "unknown", "waiting"]
    assert "no errors" not in text, text
    assert "0 rows triggered today; 2 rows need a person (error/unknown); waiting: w0: " in text
    assert "axiom is down or answered a trigger unclearly (held until it answers again) " in text
    assert text.endswith("since 10:02Z; 1 row waiting"), text
    again = Daemon(config, world.environ)
    try:
        text = again._status_text()  # before any cycle: counted from the journal
    finally:
        again.runtime.close()
    assert text.endswith(
        "; no cycle yet; 0 rows triggered today; 2 rows need a person (error/unknown)"
    ), text
