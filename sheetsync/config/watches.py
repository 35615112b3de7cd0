"""`[[watch]]`: one worksheet tab bound to one automation, with its result columns
(`[watch.columns]`) and status words (`[watch.statuses]`).

Part of the config (`sheetsync.config.Config.watch`); the sections around it are in
`sheetsync.config.model`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from sheetsync.config.schema import INTERNAL, keys, limits, values

DEFAULT_TRACK_POLL_SECONDS = 5.0
"""First /run-data poll this long after a trigger; axiom suggests polling every 5-15 s."""
DEFAULT_TRACK_POLL_MAX_SECONDS = 60.0
"""The poll interval doubles up to this (axiom suggests backing off to 60 s)."""
DEFAULT_TRACK_TIMEOUT_SECONDS = 6 * 3600.0
"""A run with no final status after this long stops being tracked (and holding a slot)."""

_SPREADSHEET_URL = re.compile(r"/spreadsheets/(?:u/\d+/)?d/([A-Za-z0-9_-]+)")
"""`.../spreadsheets/d/ID/...`, also as signed-in users copy it: `.../spreadsheets/u/0/d/ID/...`."""

_POSITIVE = limits(gt=0)
_NAME = limits(min_length=1)


@dataclass(frozen=True)
class Columns:
    """`[watch.columns]`: headers of the result columns sheetsync owns."""

    status: str = "Status"
    link: str = "Run link"
    message: str = "Message"
    triggered_at: str = "Triggered at"
    run_status: str = "Run status"
    id: str = "sheetsync id"
    given: frozenset[str] = field(default=frozenset(), metadata=INTERNAL)
    """The keys the file set: `triggered_at` and `run_status` are added only when asked."""


@dataclass(frozen=True)
class Statuses:
    """`[watch.statuses]`: the words written into the status column."""

    sending: str = "sending"
    triggered: str = "triggered"
    queued: str = "queued"
    error: str = "error"
    waiting: str = "waiting"
    unknown: str = "unknown"
    skipped: str = "skipped"
    running: str = "running"
    success: str = "success"
    failure: str = "failure"
    untracked: str = "untracked"
    retry: str = "retry"

    def check(self) -> None:
        """Every word is there and tells its state apart."""
        words = [w.strip().casefold() for w in values(self).values()]
        if any(not w for w in words):
            raise ValueError("status words must not be empty")
        if len(set(words)) != len(words):
            raise ValueError("status words must be distinct")


STATES_WITH_WORDS = frozenset(keys(Statuses))
"""The journal states that have a word of their own in `[watch.statuses]`."""


@dataclass(frozen=True)
class Watch:
    """`[[watch]]`: one worksheet tab bound to one automation."""

    name: str = field(metadata=_NAME)
    spreadsheet: str = field(metadata=_NAME)
    worksheet: str = field(metadata=_NAME)
    identity: str | None = None
    automation: str | None = None
    automation_column: str | None = None
    interval_seconds: float | None = field(default=None, metadata=_POSITIVE)
    cron: str | None = None
    mode: Literal["row", "batch"] = "row"
    max_rows_per_trigger: int = field(default=100, metadata=_POSITIVE)
    data_shape: Literal["rows", "tables"] = "rows"
    include_header: bool = True
    input_columns: tuple[str, ...] | None = None
    add_missing_columns: bool = True
    start_from: Literal["all", "now"] = "all"
    ready_column: str | None = None
    settle_seconds: float = field(default=0.0, metadata=limits(ge=0))
    send_row_id: bool = False
    track_runs: bool = False
    track_poll_seconds: float = field(default=DEFAULT_TRACK_POLL_SECONDS, metadata=_POSITIVE)
    track_poll_max_seconds: float = field(
        default=DEFAULT_TRACK_POLL_MAX_SECONDS, metadata=_POSITIVE
    )
    track_timeout_seconds: float = field(default=DEFAULT_TRACK_TIMEOUT_SECONDS, metadata=_POSITIVE)
    max_in_flight: int | None = field(default=None, metadata=_POSITIVE)
    enabled: bool = True
    columns: Columns = Columns()
    statuses: Statuses = Statuses()

    def check(self) -> None:
        """The settings that only make sense together."""
        if self.automation is None and self.automation_column is None:
            raise ValueError("set automation (or automation_column)")
        if self.interval_seconds is not None and self.cron is not None:
            raise ValueError("set interval_seconds or cron, not both")
        if self.cron is not None:
            _check_cron(self.cron)
        if self.track_poll_max_seconds < self.track_poll_seconds:
            raise ValueError("track_poll_max_seconds must not be below track_poll_seconds")
        if self.max_in_flight is not None and not self.track_runs:
            raise ValueError(
                "max_in_flight needs track_runs = true (sheetsync learns that a run has "
                "ended by tracking it)"
            )

    @property
    def spreadsheet_id(self) -> str:
        """The spreadsheet id, whether the config gave an id or a full URL."""
        match = _SPREADSHEET_URL.search(self.spreadsheet)
        return match.group(1) if match else self.spreadsheet.strip()

    @property
    def interval(self) -> float:
        """Seconds between cycles when no cron expression is set."""
        return self.interval_seconds if self.interval_seconds is not None else 60.0


def _check_cron(expression: str) -> None:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"invalid cron expression {expression!r}: {exc}") from exc
