"""The PostgreSQL schema: numbered migrations, applied once, under an advisory lock.

`MIGRATIONS[n - 1]` brings a database from version n - 1 to n. They run in one
transaction that first takes a transaction-level advisory lock, so instances starting
together migrate once; an instance refuses a database whose version it does not know
(a newer sheetsync migrated it: running older code on it could undo its guarantees).

The journal tables keep the SQLite journal's columns and meanings (timestamps are the
same sortable ISO text); `epoch` and `run_seq` are what a fleet adds (see `pg_runs`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sheetsync.distribution import installed_version
from sheetsync.errors import StoreError, StoreReason

if TYPE_CHECKING:
    import psycopg

MIGRATION_LOCK = 0x5EE75C
"""The advisory lock key that serializes migrations (any constant all instances share)."""

_V1_JOURNAL = """
CREATE TABLE rows (
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
    poll_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
    checked BOOLEAN NOT NULL DEFAULT true,
    shown BOOLEAN NOT NULL DEFAULT false,
    epoch BIGINT NOT NULL DEFAULT 0,
    run_seq BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (watch, row_id)
);
CREATE INDEX rows_to_show ON rows (watch) WHERE NOT shown;
CREATE INDEX rows_unchecked ON rows (watch) WHERE NOT checked;
CREATE INDEX rows_by_state ON rows (watch, state);
CREATE INDEX rows_running ON rows (automation) WHERE run_status = 'running';
CREATE INDEX rows_polled ON rows (watch, poll_at) WHERE run_status = 'running';
CREATE INDEX rows_in_flight ON rows (watch) WHERE run_status IN ('running', 'overlapped');
CREATE INDEX rows_sending ON rows (watch) WHERE state = 'sending';
CREATE FUNCTION rows_unshown() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.shown := false;
    RETURN NEW;
END $$;
CREATE TRIGGER rows_unshown BEFORE UPDATE OF state, link, message, triggered_at, run_status
    ON rows FOR EACH ROW WHEN (NEW.shown) EXECUTE FUNCTION rows_unshown();
CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    watch TEXT NOT NULL,
    row_id TEXT NOT NULL,
    state TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_by_watch ON events (watch, id);
CREATE TABLE watches (watch TEXT PRIMARY KEY, started_at TEXT NOT NULL);
CREATE TABLE plans (watch TEXT PRIMARY KEY, plan TEXT NOT NULL);
CREATE TABLE runs (
    automation TEXT PRIMARY KEY,
    seq BIGINT NOT NULL DEFAULT 0,
    ended_seq BIGINT NOT NULL DEFAULT 0,
    ended_state TEXT NOT NULL DEFAULT '',
    ended_detail TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL DEFAULT ''
);
CREATE TABLE tombstones (
    watch TEXT NOT NULL,
    row_id TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    fingerprint TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (watch, row_id, epoch)
);
CREATE TABLE late_outcomes (
    id BIGSERIAL PRIMARY KEY,
    watch TEXT NOT NULL,
    row_ids TEXT[] NOT NULL,
    epoch BIGINT NOT NULL,
    state TEXT NOT NULL,
    link TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    next_attempt_at TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL
);
"""
"""`runs`: per automation name, the latest run started (`seq`) and the latest seen to end,
updated under a row lock so that no transaction writes rows of two spreadsheets.
`tombstones`: abandoned claims, by the epoch that abandoned them. `late_outcomes`: answers
that arrived after their sender lost the lease (unfenced; the new holder applies them)."""

_V1_FLEET = """
CREATE TABLE leases (
    unit TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL,
    config_hash TEXT NOT NULL,
    UNIQUE (unit, epoch)
);
CREATE TABLE instances (
    holder TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    version TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE quotas (key TEXT PRIMARY KEY, blocked_until DOUBLE PRECISION NOT NULL DEFAULT 0);
CREATE TABLE quota_calls (
    id BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL,
    at DOUBLE PRECISION,
    started DOUBLE PRECISION NOT NULL
);
CREATE INDEX quota_calls_by_key ON quota_calls (key, at);
"""
"""`leases.epoch` is the fencing token: a key column (UNIQUE (unit, epoch)), so bumping it
waits for every open transaction that read the row FOR KEY SHARE, while a renewal (a
non-key update of `expires_at`) never waits. `quota_calls.at` is NULL while in flight."""

_V2_PARITY = """
CREATE TABLE places (
    watch TEXT NOT NULL,
    row_id TEXT NOT NULL,
    row_number INTEGER NOT NULL,
    preview TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (watch, row_id)
);
CREATE TABLE cycles (
    watch TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    held INTEGER NOT NULL DEFAULT 0,
    settling INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT ''
);
CREATE TABLE outages (
    budget TEXT PRIMARY KEY,
    closed_at TEXT NOT NULL,
    strikes INTEGER NOT NULL,
    cause TEXT NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
"""What the SQLite journal gained since version 1: `places` and `cycles` (for operators,
see `overview`), `outages` (an axiom key's closed gate, shared by the fleet), `meta`
(`created_at`, `created_by`: see `record_birth`). A budget's calls are `quota_calls`
already (see `pg_pacing`)."""

_V3_LANDING = """
CREATE TABLE strays (
    watch TEXT NOT NULL,
    row_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    wrote TEXT NOT NULL,
    prior TEXT,
    at TEXT NOT NULL,
    gone BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (watch, row_id, fingerprint)
);
CREATE TABLE unanswered (watch TEXT PRIMARY KEY, aims TEXT NOT NULL);
"""
"""The journal's part in checking writes (see `journal_landing`): `strays`, rows a write hit
by mistake, and `unanswered`, the aims of a write whose answer may never come (JSON)."""

_V4_FINGERPRINTS = """
CREATE INDEX rows_by_fingerprint ON rows (watch, fingerprint);
"""
"""Rows by their inputs: strays' pasts, returning skipped rows (`ids_with_fingerprint`)."""

MIGRATIONS: tuple[str, ...] = (
    _V1_JOURNAL + _V1_FLEET,
    _V2_PARITY,
    _V3_LANDING,
    _V4_FINGERPRINTS,
)
"""Version n is `MIGRATIONS[n - 1]`; append, never edit a released one."""

LATEST = len(MIGRATIONS)


def migrate(conn: psycopg.Connection[tuple[Any, ...]]) -> int:
    """Bring the database to `LATEST` in one locked transaction; return the version found."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        found = schema_version(conn)
        for version in range(found + 1, LATEST + 1):
            conn.execute(MIGRATIONS[version - 1])
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
    return found


def schema_version(conn: psycopg.Connection[tuple[Any, ...]]) -> int:
    """The database's schema version (0: none yet), creating nothing; a newer one than
    this sheetsync knows is refused."""
    if conn.execute("SELECT to_regclass('schema_version')").fetchone() == (None,):
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    found = int(row[0]) if row else 0
    if found > LATEST:
        raise StoreError(
            f"the database's schema is version {found}, newer than this sheetsync "
            f"knows ({LATEST}): upgrade sheetsync on this host",
            StoreReason.NEWER,
        )
    return found


def check_readable(conn: psycopg.Connection[tuple[Any, ...]], where: str) -> str:
    """For a reader that writes nothing (`status`, `check`): the schema must be this
    sheetsync's already; returns when the state was made (`""`: unrecorded)."""
    found = schema_version(conn)
    if found < LATEST:
        raise StoreError(
            f"{where}: the database's schema is version {found} and this sheetsync reads "
            f"version {LATEST}: `sheetsync run` or `sheetsync once` migrates it",
            StoreReason.SETUP,
        )
    row = conn.execute("SELECT value FROM meta WHERE key = 'created_at'").fetchone()
    return str(row[0]) if row else ""


def record_birth(conn: psycopg.Connection[tuple[Any, ...]], stamp: str) -> tuple[bool, str]:
    """(this open made the state, when it was made): the first open of a state that knows
    no row records `created_at` and `created_by`, as the SQLite journal's creation does (a
    state with rows but no record is from before it: `""`, like an old journal)."""
    with conn.transaction():
        made = conn.execute(
            "INSERT INTO meta SELECT * FROM (VALUES ('created_at', %s), ('created_by', %s)) v"
            " WHERE NOT EXISTS (SELECT 1 FROM rows) ON CONFLICT (key) DO NOTHING RETURNING key",
            (stamp, f"sheetsync {installed_version()}"),
        ).fetchall()
        row = conn.execute("SELECT value FROM meta WHERE key = 'created_at'").fetchone()
    return ("created_at",) in made, str(row[0]) if row else ""
