"""The journal's tables, the records it hands out, and the texts it writes into rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sheetsync.core.model import Result, ResultPage

IN_FLIGHT_SQL = "run_status IN ('running', 'overlapped')"
"""Runs still going or queued behind one, as far as sheetsync can tell. Written as literals,
the same in the queries as in the index, so that SQLite sees the index serves them."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS rows (
    watch TEXT NOT NULL,
    row_id TEXT NOT NULL,
    state TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    fingerprint TEXT NOT NULL DEFAULT '',
    automation TEXT NOT NULL DEFAULT '',
    link TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    triggered_at TEXT NOT NULL DEFAULT '',
    run_status TEXT NOT NULL DEFAULT '',
    waits INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    wait_reason TEXT NOT NULL DEFAULT '',
    trigger_id TEXT NOT NULL DEFAULT '',
    poll_at TEXT NOT NULL DEFAULT '',
    poll_seconds REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (watch, row_id)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    watch TEXT NOT NULL,
    row_id TEXT NOT NULL,
    state TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS watches (
    watch TEXT PRIMARY KEY,
    started_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS plans (
    watch TEXT PRIMARY KEY,
    plan TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_watch ON events (watch, id);
CREATE TABLE IF NOT EXISTS places (
    watch TEXT NOT NULL,
    row_id TEXT NOT NULL,
    row_number INTEGER NOT NULL,
    preview TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (watch, row_id)
);
CREATE TABLE IF NOT EXISTS cycles (
    watch TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    held INTEGER NOT NULL DEFAULT 0,
    settling INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    budget TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL
);
CREATE INDEX IF NOT EXISTS calls_by_budget ON calls (budget, started_at);
CREATE TABLE IF NOT EXISTS outages (
    budget TEXT PRIMARY KEY,
    closed_at TEXT NOT NULL,
    strikes INTEGER NOT NULL,
    cause TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS strays (
    watch TEXT NOT NULL,
    row_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    wrote TEXT NOT NULL,
    prior TEXT,
    at TEXT NOT NULL,
    gone INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (watch, row_id, fingerprint)
);
CREATE TABLE IF NOT EXISTS unanswered (
    watch TEXT PRIMARY KEY,
    aims TEXT NOT NULL
);
"""
"""`calls`: every paced call of the last minutes, per budget (see `budgets`): Unix seconds,
`ended_at` NULL while in flight. `outages`: an axiom key's closed outage gate."""

TRIGGERS = f"""
CREATE INDEX IF NOT EXISTS rows_to_show ON rows (watch) WHERE shown = 0;
CREATE INDEX IF NOT EXISTS rows_running ON rows (automation) WHERE run_status = 'running';
CREATE INDEX IF NOT EXISTS rows_unchecked ON rows (watch) WHERE checked = 0;
CREATE INDEX IF NOT EXISTS rows_by_state ON rows (watch, state);
CREATE INDEX IF NOT EXISTS rows_polled ON rows (watch, poll_at) WHERE run_status = 'running';
CREATE INDEX IF NOT EXISTS rows_overlapped ON rows (automation) WHERE run_status = 'overlapped';
CREATE INDEX IF NOT EXISTS rows_in_flight ON rows (watch) WHERE {IN_FLIGHT_SQL};
CREATE INDEX IF NOT EXISTS rows_sending ON rows (watch) WHERE state = 'sending';
DROP INDEX IF EXISTS rows_by_fingerprint;
CREATE INDEX IF NOT EXISTS rows_by_inputs ON rows (watch, fingerprint) WHERE fingerprint <> '';
CREATE TRIGGER IF NOT EXISTS rows_unshown
AFTER UPDATE OF state, link, message, triggered_at, run_status ON rows
WHEN NEW.shown = 1
BEGIN
    UPDATE rows SET shown = 0 WHERE watch = NEW.watch AND row_id = NEW.row_id;
END;
"""
"""`shown` = the sheet was last written with this row's current result cells; any change
to them clears it, so a narrow cycle knows which rows it must write again.

`rows_by_inputs` leaves out the rows recorded without their inputs (a lost journal's big
tab adopts 200,000 such rows: their entries in it cost about a quarter of their inserts'
instructions, counted by callgrind); no comparison of inputs matches an empty fingerprint
(`ids_with_fingerprint` asks for it as SQLite must see it to use the index). It replaced
`rows_by_fingerprint` (every row), which an older sheetsync makes again at its next open
(then this one drops it again)."""

ADDED_COLUMNS = {
    "checked": "INTEGER NOT NULL DEFAULT 1",
    "wait_reason": "TEXT NOT NULL DEFAULT ''",
    "trigger_id": "TEXT NOT NULL DEFAULT ''",
    "poll_at": "TEXT NOT NULL DEFAULT ''",
    "poll_seconds": "REAL NOT NULL DEFAULT 0",
    "shown": "INTEGER NOT NULL DEFAULT 0",
}
"""Columns of `rows` newer than the first schema: added to an older journal when it opens."""

META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
"""Facts about the journal itself: `created_at` and `created_by` (a new journal's first open)."""

STATES = frozenset(
    {"claimed", "sending", "triggered", "queued", "error", "waiting", "unknown", "skipped"}
    | {"abandoned"}  # a claim whose row left the sheet before it was sent
    | {"foreign"}  # a person's row a misplaced write hit: given its cells back and an id
)
"""Every `rows.state` this sheetsync writes. Another one means a newer sheetsync wrote the
journal: projecting it would blank the row's status cell."""
RUN_STATES = frozenset({"", "running", "success", "failure", "overlapped", "untracked"})
"""Every `rows.run_status` this sheetsync writes."""

UNKNOWN_MESSAGE = (
    "sheetsync stopped while this row's trigger was being sent, so axiom may or may not "
    "have started the run. Check the automation's run history in axiom; type retry in "
    "the status cell to send the row again."
)

OVERLAPPED_MESSAGE = (
    "a later run of this automation started before this one ended; axiom reports only "
    "the latest run of a name, so this run's outcome is not tracked (max_in_flight = 1 "
    "tracks every run)"
)


@dataclass(frozen=True)
class Outcome:
    """What one trigger attempt ended as, in journal terms."""

    state: str
    link: str = ""
    message: str = ""
    next_attempt_at: datetime | None = None
    reason: str = ""
    """Why a row is `waiting` (invalid_key, quota, rate_limit, server, connection)."""


@dataclass(frozen=True)
class Event:
    """One line of a watch's history."""

    at: str
    row_id: str
    state: str
    detail: str


def iso(moment: datetime) -> str:
    """A journal timestamp: UTC to the second, sortable as text."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def event(
    db: sqlite3.Connection, at: str, watch: str, row_id: str, state: str, detail: str = ""
) -> None:
    """Add one history line inside an open transaction."""
    db.execute(
        "INSERT INTO events (at, watch, row_id, state, detail) VALUES (?, ?, ?, ?, ?)",
        (at, watch, row_id, state, detail),
    )


ADOPTED_EVENT = "adopted"
"""The history line of rows recorded as the sheet showed them (`Store.adopt`): not a
trigger, so never counted as one (`triggered_since`, the STATUS line's "triggered today")."""


def adopted_detail(why: str, state: str, ids: Sequence[str] = ()) -> str:
    """What an adoption's history line says: why, and the state the row (or, in one line
    for many, the rows of `ids`: their count and their first and last id) was recorded in."""
    said = f"{why}; recorded as {state}"
    return f"{len(ids)} rows, {min(ids)} to {max(ids)}: {said}" if ids else said


SKIPPED_MESSAGE = "present before sheetsync started watching (start_from = now); type retry to send"


def start_run(
    db: sqlite3.Connection,
    watch: str,
    row_ids: Sequence[str],
    stamp: str,
    poll: tuple[datetime, float] | None,
) -> None:
    """Inside `Journal.record`: a new run supersedes the tracked run of its name (see `runs`)."""
    found = db.execute(
        "SELECT automation FROM rows WHERE watch = ? AND row_id = ?", (watch, row_ids[0])
    ).fetchone()
    if found is None:
        return
    name = found[0]
    older = db.execute(
        "SELECT watch, row_id FROM rows WHERE automation = ? AND run_status = 'running'", (name,)
    ).fetchall()
    for other_watch, row_id in older:
        if other_watch == watch and row_id in row_ids:
            continue
        db.execute(
            "UPDATE rows SET run_status = 'overlapped', poll_at = '', message = CASE WHEN"
            " message = '' THEN ? ELSE message END, updated_at = ? WHERE watch = ? AND row_id = ?",
            (OVERLAPPED_MESSAGE, stamp, other_watch, row_id),
        )
        event(db, stamp, other_watch, row_id, "overlapped", f"a later run of {name!r} started")
    if poll is None:
        return
    poll_at, seconds = poll
    db.executemany(
        "UPDATE rows SET run_status = 'running', trigger_id = ?, poll_at = ?, poll_seconds = ?"
        " WHERE watch = ? AND row_id = ?",
        [(row_ids[0], iso(poll_at), seconds, watch, row_id) for row_id in row_ids],
    )


RESULT_COLUMNS = ", ".join(Result._fields)
"""The columns of `rows` that hold `Result`'s fields, named alike, in its order (both
stores' `result_pages`)."""


def keyset_pages(page: Callable[[str], ResultPage], size: int) -> Iterator[ResultPage]:
    """Pages of rows in row id order, `page(after)` giving at most `size` rows whose id
    comes after `after`; the first page starts after `""`, which every id is (no row has
    an empty id). Both stores' `result_pages`."""
    after = ""
    while found := page(after):
        yield found
        if len(found) < size:
            return
        after = found.row_ids[-1]
