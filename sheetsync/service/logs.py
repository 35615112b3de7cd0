"""Logging fit for journald and for a terminal: one line per event, secrets masked.

`configure_logging()` installs one handler on the root logger. Every event becomes exactly
one line (tracebacks and multi-line messages are folded with ` | `), because journald and
log shippers split on newlines. Three shapes:

    under journald   <6>sheetsync.engine: cycle done watch=scrape
    elsewhere        2026-11-29T10:00:00Z INFO sheetsync.engine: cycle done watch=scrape
    json             {"ts": "2026-11-29T10:00:00.123Z", "level": "INFO", "logger": ..., "msg": ...}

Under journald the line carries a syslog priority prefix and no timestamp: journald parses
the prefix into PRIORITY= and stamps the entry itself. A `RedactingFilter` on the handler
masks every registered secret and token shape (see `sheetsync.redact`) before anything is
written.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Mapping
from typing import Any, Literal, TextIO

from sheetsync.redact import MASK, is_sensitive_name, redact

LogFormat = Literal["text", "json"]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
"""The accepted `--log-level` values (case-insensitive)."""

LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
"""The accepted `--log-format` values."""

MAX_MESSAGE_CHARS = 16_000
"""Longer messages are cut: a 50,000-character cell must not become a 50 kB log line."""

FOLD = " | "
"""What joins the lines of a traceback or of a multi-line message."""

QUIET_LOGGERS = ("apscheduler.executors", "apscheduler.scheduler")
"""APScheduler narrates every job run and (re)scheduling at INFO; the daemon logs what matters
itself, so these are held at WARNING unless DEBUG is asked."""

_BLANK_RECORD = logging.LogRecord("", logging.INFO, "", 0, "", None, None)
_STANDARD_ATTRS = frozenset(_BLANK_RECORD.__dict__) | {"message", "asctime"}
_CORE_JSON_KEYS = frozenset({"ts", "level", "logger", "msg", "exc", "stack"})


def syslog_priority(levelno: int) -> int:
    """The syslog priority (2 crit … 7 debug) journald should file a Python log level under."""
    if levelno >= logging.CRITICAL:
        return 2
    if levelno >= logging.ERROR:
        return 3
    if levelno >= logging.WARNING:
        return 4
    if levelno >= logging.INFO:
        return 6
    return 7


def under_journald(environ: Mapping[str, str], stream: TextIO) -> bool:
    """Whether `stream` is connected to journald.

    JOURNAL_STREAM (`device:inode` of the journal stream systemd connected) is checked
    against the stream's file; a mismatch means stderr was redirected elsewhere. When it
    cannot be checked (unset, or the stream has no file descriptor), running as a systemd
    unit (INVOCATION_ID) is taken as the answer.
    """
    journal_stream = environ.get("JOURNAL_STREAM", "")
    device, _, inode = journal_stream.partition(":")
    if device.isdigit() and inode.isdigit():
        try:
            info = os.fstat(stream.fileno())
        except (AttributeError, OSError, ValueError):
            pass
        else:
            return (info.st_dev, info.st_ino) == (int(device), int(inode))
    return bool(environ.get("INVOCATION_ID"))


def journal_prefix(
    levelno: int, environ: Mapping[str, str] = os.environ, stream: TextIO | None = None
) -> str:
    """`<N>` for a line written straight to `stream` (default stderr) under journald, else "".

    For the few lines that bypass logging: a fatal error before logging is set up, or the
    line a signal handler writes with `os.write` on its way out.
    """
    target = sys.stderr if stream is None else stream
    return f"<{syslog_priority(levelno)}>" if under_journald(environ, target) else ""


def fold(text: str) -> str:
    """Text on one line: the non-blank lines, stripped, joined by ` | `."""
    if "\n" not in text and "\r" not in text:
        return text
    return FOLD.join(line.strip() for line in text.splitlines() if line.strip())


def _truncate(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def _scrub(value: Any) -> Any:
    """A JSON-ready copy of an extra field's value with secrets masked."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): MASK if is_sensitive_name(str(k)) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub(v) for v in value]
    return _truncate(redact(fold(str(value))))


def _extra(name: str, value: Any) -> Any:
    return MASK if is_sensitive_name(name) else _scrub(value)


class RedactingFilter(logging.Filter):
    """Renders each record's message with its args and masks secrets in it, in place."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace msg/args by their redacted rendering; never drops a record."""
        try:
            message = record.getMessage()
        except Exception:  # a broken log call is for the handler to report, not the filter
            return True
        record.msg = redact(message)
        record.args = None
        return True


class LineFormatter(logging.Formatter):
    """Formats a record as exactly one line of text or JSON."""

    def __init__(self, fmt: LogFormat = "text", *, journald: bool = False) -> None:
        super().__init__()
        self.fmt: LogFormat = fmt
        self.journald = journald

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line, secrets masked (the filter did most; this is the backstop)."""
        message = _truncate(fold(redact(record.getMessage())))
        exc = self._exception_text(record)
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS}
        prefix = f"<{syslog_priority(record.levelno)}>" if self.journald else ""
        if self.fmt == "json":
            return prefix + self._json(record, message, exc, extras)
        parts = [message, *(f"{k}={_text_value(_extra(k, v))}" for k, v in extras.items())]
        if exc:
            parts.append(exc)
        line = " ".join(p for p in parts if p)
        if self.journald:
            return f"{prefix}{record.name}: {line}"
        return f"{_utc_seconds(record.created)} {record.levelname} {record.name}: {line}"

    def _exception_text(self, record: logging.LogRecord) -> str:
        text = ""
        if record.exc_info:
            text = self.formatException(record.exc_info)
        elif record.exc_text:
            text = record.exc_text
        if record.stack_info:
            text = f"{text}\n{self.formatStack(record.stack_info)}"
        return fold(redact(text)) if text else ""

    def _json(
        self, record: logging.LogRecord, message: str, exc: str, extras: dict[str, Any]
    ) -> str:
        event: dict[str, Any] = {}
        if not self.journald:
            event["ts"] = f"{_utc_seconds(record.created)[:-1]}.{int(record.msecs):03d}Z"
        event.update(level=record.levelname, logger=record.name, msg=message)
        for key, value in extras.items():
            name = f"extra_{key}" if key in _CORE_JSON_KEYS else key
            event[name] = _extra(key, value)
        if exc:
            event["exc"] = exc
        return json.dumps(event, ensure_ascii=False, default=str)


def _text_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if not text or any(c in text for c in ' "='):
        return json.dumps(text, ensure_ascii=False)
    return text


def _utc_seconds(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))


class _SheetsyncHandler(logging.StreamHandler[TextIO]):
    """The root handler `configure_logging` installs; marked so a second call replaces it.

    Without an explicit stream it writes to whatever `sys.stderr` is at each event (as
    logging's last-resort handler does), so a caller that swaps stderr for a while (click's
    test runner, pytest's capture) never leaves it writing to a closed file.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._fixed: TextIO | None = stream
        super().__init__(sys.stderr if stream is None else stream)
        self._fixed = stream  # the base class assigned `stream`, pinning stderr; unpin it

    @property
    def stream(self) -> TextIO:
        """The explicit stream, or the current sys.stderr."""
        return sys.stderr if self._fixed is None else self._fixed

    @stream.setter
    def stream(self, value: TextIO) -> None:
        self._fixed = value


def configure_logging(
    level: str = "INFO",
    fmt: LogFormat = "text",
    environ: Mapping[str, str] = os.environ,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send every log event to `stream` (default stderr) as one redacted line; returns the handler.

    Calling it again (e.g. after a config reload) replaces the handler it installed before
    and leaves handlers installed by others (pytest's caplog) alone.
    """
    name = level.upper()
    if name not in LOG_LEVELS:
        raise ValueError(f"unknown log level {level!r}; choose one of {', '.join(LOG_LEVELS)}")
    if fmt not in LOG_FORMATS:
        raise ValueError(f"unknown log format {fmt!r}; choose one of {', '.join(LOG_FORMATS)}")
    handler = _SheetsyncHandler(stream)
    handler.setFormatter(LineFormatter(fmt, journald=under_journald(environ, handler.stream)))
    handler.addFilter(RedactingFilter())

    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _SheetsyncHandler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(name)
    for quiet in QUIET_LOGGERS:
        logging.getLogger(quiet).setLevel(logging.NOTSET if name == "DEBUG" else logging.WARNING)
    logging.captureWarnings(True)
    return handler
