"""Log lines for journald, terminals and JSON: one line per event, never a secret."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from sheetsync.redact import clear_secrets, register_secret
from sheetsync.service.logs import (
    MAX_MESSAGE_CHARS,
    LineFormatter,
    RedactingFilter,
    configure_logging,
    under_journald,
)

PLAIN_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (\w+) ([\w.]+): (.*)$")
AXIOM_KEY = "axk_live_9f8e7d6c5b4a"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    clear_secrets()
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(False)
    clear_secrets()


def _journal_env(stream: io.TextIOWrapper) -> dict[str, str]:
    info = os.fstat(stream.fileno())
    return {"JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}", "INVOCATION_ID": "abc123"}


def _lines(buffer: io.StringIO) -> list[str]:
    text = buffer.getvalue()
    assert text.endswith("\n") or not text
    return text.splitlines()


def test_plain_format_has_utc_timestamp_level_and_logger() -> None:
    """Outside systemd a line reads `2026-…Z INFO sheetsync.engine: message`."""
    out = io.StringIO()
    configure_logging("INFO", "text", environ={}, stream=out)
    logging.getLogger("sheetsync.engine").info("cycle done in %.1f s", 1.25)
    logging.getLogger("sheetsync.engine").debug("not shown at INFO")
    [line] = _lines(out)
    match = PLAIN_LINE.match(line)
    assert match is not None, line
    assert match.groups() == ("INFO", "sheetsync.engine", "cycle done in 1.2 s")


def test_plain_timestamp_is_the_records_utc_time() -> None:
    """The timestamp is the event's own time in UTC, to the second."""
    record = logging.LogRecord("sheetsync.engine", logging.WARNING, "f.py", 1, "slow", None, None)
    record.created = 1_795_946_400.75  # 2026-11-29T10:00:00.75Z
    line = LineFormatter("text").format(record)
    assert line == "2026-11-29T10:00:00Z WARNING sheetsync.engine: slow"


@pytest.mark.parametrize(
    ("level", "prefix"),
    [
        (logging.DEBUG, "<7>"),
        (logging.INFO, "<6>"),
        (logging.WARNING, "<4>"),
        (logging.ERROR, "<3>"),
        (logging.CRITICAL, "<2>"),
    ],
)
def test_journald_lines_carry_a_priority_prefix_and_no_timestamp(
    tmp_path: Path, level: int, prefix: str
) -> None:
    """Under journald each line starts with its syslog priority and has no timestamp."""
    with open(tmp_path / "journal", "w+", encoding="utf-8") as stream:
        configure_logging("DEBUG", "text", environ=_journal_env(stream), stream=stream)
        logging.getLogger("sheetsync.daemon").log(level, "watch %s ready", "scrape")
        stream.seek(0)
        assert stream.read() == f"{prefix}sheetsync.daemon: watch scrape ready\n"


def test_journal_stream_of_another_file_means_plain_output(tmp_path: Path) -> None:
    """JOURNAL_STREAM naming another file means stderr was redirected away from journald."""
    with (
        open(tmp_path / "journal", "w", encoding="utf-8") as journal,
        open(tmp_path / "redirected", "w", encoding="utf-8") as redirected,
    ):
        assert under_journald(_journal_env(journal), journal)
        assert not under_journald(_journal_env(journal), redirected)


def test_invocation_id_alone_counts_when_the_stream_cannot_be_checked() -> None:
    """A systemd unit (INVOCATION_ID) whose stream has no file descriptor is treated as journald."""
    assert under_journald({"INVOCATION_ID": "abc"}, io.StringIO())
    assert not under_journald({}, io.StringIO())
    assert not under_journald({"JOURNAL_STREAM": "garbage"}, io.StringIO())


def test_json_format_one_object_per_line_with_extras() -> None:
    """JSON lines carry ts, level, logger, msg and the record's extra fields."""
    out = io.StringIO()
    configure_logging("INFO", "json", environ={}, stream=out)
    log = logging.getLogger("sheetsync.engine")
    log.info("cycle done", extra={"watch": "scrape", "new": 2, "level": "x"})
    log.warning("second")
    first, second = (json.loads(line) for line in _lines(out))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["ts"])
    assert first["level"] == "INFO"
    assert first["logger"] == "sheetsync.engine"
    assert first["msg"] == "cycle done"
    assert (first["watch"], first["new"], first["extra_level"]) == ("scrape", 2, "x")
    assert second["level"] == "WARNING"


def test_json_under_journald_has_prefix_and_no_timestamp(tmp_path: Path) -> None:
    """journald gets `<6>{...}` without ts: it stamps entries itself."""
    with open(tmp_path / "journal", "w+", encoding="utf-8") as stream:
        configure_logging("INFO", "json", environ=_journal_env(stream), stream=stream)
        logging.getLogger("sheetsync").info("hello")
        stream.seek(0)
        line = stream.read()
    assert line.startswith("<6>{")
    assert json.loads(line[3:]) == {"level": "INFO", "logger": "sheetsync", "msg": "hello"}


def test_plain_text_appends_extra_fields() -> None:
    """Extra fields appear as key=value after the message, quoted when they hold spaces."""
    out = io.StringIO()
    configure_logging("INFO", "text", environ={}, stream=out)
    logging.getLogger("sheetsync.engine").info(
        "cycle", extra={"watch": "scrape", "rows": 12, "note": "two words"}
    )
    [line] = _lines(out)
    assert line.endswith('sheetsync.engine: cycle watch=scrape rows=12 note="two words"')


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_exception_is_folded_onto_the_same_line(fmt: str) -> None:
    """A traceback becomes part of its event's single line."""
    out = io.StringIO()
    configure_logging("INFO", fmt, environ={}, stream=out)  # type: ignore[arg-type]
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        logging.getLogger("sheetsync.daemon").exception("cycle failed")
    [line] = _lines(out)
    text = json.loads(line)["exc"] if fmt == "json" else line
    assert "Traceback (most recent call last): | File" in text
    assert text.endswith("ValueError: boom | second line")


def test_multiline_message_is_folded() -> None:
    """Newlines in a message (an axiom error text, a cell) never start a new log line."""
    out = io.StringIO()
    configure_logging("INFO", "text", environ={}, stream=out)
    logging.getLogger("sheetsync").error("axiom said:\n  Task not found\r\nretry later")
    [line] = _lines(out)
    assert line.endswith("axiom said: | Task not found | retry later")


def test_huge_message_is_truncated() -> None:
    """A 50,000-character value is cut to a bounded line that says how much was dropped."""
    out = io.StringIO()
    configure_logging("INFO", "text", environ={}, stream=out)
    logging.getLogger("sheetsync").warning("cell: %s", "x" * 50_000)
    [line] = _lines(out)
    assert len(line) < MAX_MESSAGE_CHARS + 200
    assert line.endswith(f"({50_006 - MAX_MESSAGE_CHARS} more characters)")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_registered_secrets_never_reach_a_line(fmt: str) -> None:
    """A registered key is masked in args, message, extras and exception text."""
    register_secret(AXIOM_KEY)
    out = io.StringIO()
    configure_logging("DEBUG", fmt, environ={}, stream=out)  # type: ignore[arg-type]
    log = logging.getLogger("sheetsync.axiom")
    log.info("using key %s", AXIOM_KEY)
    log.info(f"inline {AXIOM_KEY}")  # the mistake the filter must survive
    log.info("payload", extra={"body": {"key": AXIOM_KEY, "name": "Scrape"}, "api_key": "zzzzz"})
    try:
        raise RuntimeError(f"401 for {AXIOM_KEY}")
    except RuntimeError:
        log.exception("trigger failed")
    text = out.getvalue()
    assert AXIOM_KEY not in text
    assert "zzzzz" not in text
    assert text.count("***") >= 5
    assert len(text.splitlines()) == 4


def test_token_patterns_are_masked_without_registration() -> None:
    """OAuth tokens and key-like fields are masked even when nobody registered them."""
    out = io.StringIO()
    configure_logging("DEBUG", "text", environ={}, stream=out)
    log = logging.getLogger("urllib3.connectionpool")
    log.debug("headers %s", {"Authorization": "Bearer ya29.a0AfB_xyzTOKEN"})
    log.debug('token response {"access_token": "opaque-token-123", "expires_in": 3599}')
    log.debug("https://lar.axiom.ai/api/v3/trigger?key=axk_live_111&name=x")
    log.debug('body {"key": "axk_live_222", "name": "Scrape"}')
    text = out.getvalue()
    for secret in ("ya29", "xyzTOKEN", "opaque-token-123", "axk_live_111", "axk_live_222"):
        assert secret not in text, secret
    assert "'Bearer ***'" in text and "key=***&name=x" in text


def test_reconfiguring_replaces_the_handler_and_keeps_others() -> None:
    """A second configure_logging (after a reload) leaves one sheetsync handler, not two."""
    first, second = io.StringIO(), io.StringIO()
    foreign = logging.NullHandler()
    logging.getLogger().addHandler(foreign)
    configure_logging("INFO", "text", environ={}, stream=first)
    configure_logging("WARNING", "text", environ={}, stream=second)
    logging.getLogger("sheetsync").warning("once")
    logging.getLogger("sheetsync").info("filtered by the new level")
    assert first.getvalue() == ""
    assert len(_lines(second)) == 1
    assert foreign in logging.getLogger().handlers
    logging.getLogger().removeHandler(foreign)


def test_default_stream_follows_sys_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a stream argument lines go to the current sys.stderr, even after it is swapped."""
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", first)
    configure_logging("INFO", "text", environ={})
    logging.getLogger("sheetsync").info("one")
    monkeypatch.setattr("sys.stderr", second)
    logging.getLogger("sheetsync").info("two")
    assert first.getvalue().endswith("sheetsync: one\n")
    assert second.getvalue().endswith("sheetsync: two\n")


def test_apscheduler_run_chatter_is_quiet_unless_debug() -> None:
    """APScheduler's per-run INFO lines are held back at INFO (warnings pass) and shown at DEBUG."""
    out = io.StringIO()
    configure_logging("INFO", "text", environ={}, stream=out)
    logging.getLogger("apscheduler.executors.default").info('Running job "watch scrape"')
    logging.getLogger("apscheduler.scheduler").info('Added job "watch scrape"')
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")
    [line] = _lines(out)
    assert "was missed" in line
    configure_logging("DEBUG", "text", environ={}, stream=out)
    logging.getLogger("apscheduler.executors.default").info('Running job "watch scrape"')
    assert "Running job" in out.getvalue()


def test_python_warnings_become_log_lines() -> None:
    """warnings.warn output goes through the same one-line handler."""
    out = io.StringIO()
    configure_logging("INFO", "text", environ={}, stream=out)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("old option", DeprecationWarning, stacklevel=1)
    [line] = _lines(out)
    assert " WARNING py.warnings: " in line and "old option" in line


@pytest.mark.parametrize(("level", "fmt"), [("LOUD", "text"), ("INFO", "xml")])
def test_unknown_level_or_format_is_refused(level: str, fmt: str) -> None:
    """A bad --log-level or --log-format raises a ValueError that names the choices."""
    with pytest.raises(ValueError, match="choose one of"):
        configure_logging(level, fmt, environ={}, stream=io.StringIO())  # type: ignore[arg-type]


def test_level_is_case_insensitive() -> None:
    """`--log-level debug` works like DEBUG."""
    out = io.StringIO()
    configure_logging("debug", "text", environ={}, stream=out)
    logging.getLogger("sheetsync").debug("visible")
    assert "DEBUG sheetsync: visible" in out.getvalue()


def test_a_broken_log_call_does_not_raise(capsys: pytest.CaptureFixture[str]) -> None:
    """Mismatched format args are reported by logging itself, never raised into the daemon."""
    out = io.StringIO()
    handler = configure_logging("INFO", "text", environ={}, stream=out)
    bad = logging.LogRecord("sheetsync", logging.INFO, "f.py", 1, "%d rows", ("many",), None)
    assert RedactingFilter().filter(bad)
    handler.handle(bad)  # directly: pytest's own handlers turn logging errors into failures
    handler.handle(logging.LogRecord("sheetsync", logging.INFO, "f.py", 2, "still", None, None))
    [line] = _lines(out)
    assert line.endswith("sheetsync: still")
    assert "Logging error" in capsys.readouterr().err
