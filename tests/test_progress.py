"""Backlog progress: log lines every few seconds when not on a terminal."""

from __future__ import annotations

import io
import logging

import pytest

from sheetsync.service.progress import progress_logger, progress_reporter


def test_logger_reports_every_few_seconds_and_at_the_end(caplog: pytest.LogCaptureFixture) -> None:
    """A 100-row backlog logs at most one line per 5 s, plus the final count."""
    caplog.set_level(logging.INFO, "sheetsync.progress")
    now = [0.0]
    report = progress_logger(clock=lambda: now[0], every=5.0)
    for done in range(1, 101):
        now[0] += 0.5
        report("w", done, 100)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 10  # at 11, 21, ... 91 rows, then the last
    assert lines[-1].startswith("watch w: 100/100 rows sent, 2.0 rows/s")


def test_a_backlog_sent_in_an_instant_shows_no_rate(caplog: pytest.LogCaptureFixture) -> None:
    """Rows all sent within a second log their count, never a rate like 1e10 rows/s."""
    caplog.set_level(logging.INFO, "sheetsync.progress")
    report = progress_logger(clock=lambda: 100.0)
    for done in range(1, 21):
        report("w", done, 20)
    assert [r.getMessage() for r in caplog.records] == ["watch w: 20/20 rows sent"]


def test_small_backlogs_stay_quiet(caplog: pytest.LogCaptureFixture) -> None:
    """A handful of rows finishes too fast to need progress."""
    caplog.set_level(logging.INFO, "sheetsync.progress")
    report = progress_logger(clock=lambda: 100.0)
    report("w", 3, 3)
    assert caplog.records == []


def test_reporter_is_a_logger_when_not_a_terminal(caplog: pytest.LogCaptureFixture) -> None:
    """Output redirected to a file or journald gets log lines, not a bar."""
    caplog.set_level(logging.INFO, "sheetsync.progress")
    stream = io.StringIO()
    with progress_reporter(stream) as report:
        report("w", 10, 10)  # a finished backlog logs at once, whatever the clock says
    assert [r.getMessage() for r in caplog.records] == ["watch w: 10/10 rows sent"]
    assert stream.getvalue() == ""  # no bar drawn into the file
