"""Start-up checks of a PostgreSQL state database: what would void the guarantees.

An UNLOGGED lease table loses its rows in a crash (two holders of one epoch): refused.
Standbys without synchronous replication can lose an acknowledged commit at failover
(a `sending` mark or an epoch bump): a warning, or an error when
`require_sync_replication` is set. A row state this sheetsync does not write means a
newer one wrote the state: refused, as the SQLite journal refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sheetsync.adapters.store.journal_records import RUN_STATES, STATES
from sheetsync.adapters.store.pg_errors import translated
from sheetsync.adapters.store.pg_schema import LATEST, schema_version
from sheetsync.adapters.store.settings import conninfo, shown_url
from sheetsync.config import Secret
from sheetsync.errors import StoreError, StoreReason

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class Replication:
    """What the primary says about its standbys."""

    standbys: int
    synchronous: int
    """Standbys whose `sync_state` is `sync` or `quorum`."""
    synchronous_commit: str


def replication_problem(found: Replication) -> str | None:
    """PURE: why a failover could lose an acknowledged commit, or None when it cannot."""
    if found.standbys == 0:
        return None
    if found.synchronous == 0:
        return (
            f"{found.standbys} standby(s) replicate asynchronously: a failover can lose an "
            "acknowledged commit and so re-send a row; set synchronous_standby_names"
        )
    if found.synchronous_commit in {"off", "local"}:
        return (
            f"synchronous_commit = {found.synchronous_commit}: commits do not wait for the "
            "synchronous standby; set it to on or remote_apply"
        )
    return None


def check_database(
    conn: psycopg.Connection[tuple[Any, ...]], where: str, *, require_sync: bool
) -> list[str]:
    """Refuse an unsafe database; return warnings to log (empty when all is well)."""
    persistence = conn.execute(
        "SELECT relpersistence FROM pg_class WHERE oid = to_regclass('leases')"
    ).fetchone()
    if persistence is not None and persistence[0] == "u":
        raise StoreError(
            f"{where}: the leases table is UNLOGGED (a crash would forget who holds what); "
            "run: ALTER TABLE leases SET LOGGED",
            StoreReason.SETUP,
        )
    row = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE sync_state IN ('sync', 'quorum')"
        # without pg_read_all_stats sync_state reads NULL: trust the configured names then
        " OR (sync_state IS NULL AND current_setting('synchronous_standby_names') <> '')),"
        " current_setting('synchronous_commit') FROM pg_stat_replication"
    ).fetchone()
    problem = (
        replication_problem(Replication(int(row[0]), int(row[1]), str(row[2]))) if row else None
    )
    if problem is None:
        return []
    if require_sync:
        raise StoreError(f"{where}: {problem} (require_sync_replication)", StoreReason.SETUP)
    return [f"{where}: {problem}"]


def refuse_unknown_states(conn: psycopg.Connection[tuple[Any, ...]], where: str) -> None:
    """Row and run states this sheetsync does not write come from a newer one: projecting
    them would blank status cells."""
    found = conn.execute(
        "SELECT 'row state', state FROM rows WHERE NOT state = ANY(%s)"
        " UNION ALL SELECT 'run status', run_status FROM rows WHERE NOT run_status = ANY(%s)"
        " LIMIT 1",
        (sorted(STATES), sorted(RUN_STATES)),
    ).fetchone()
    if found is not None:
        raise StoreError(
            f"{where}: {found[0]} {found[1]!r} is unknown to this sheetsync: a newer sheetsync "
            "wrote this state; upgrade sheetsync (refused, so that no status cell is blanked)",
            StoreReason.NEWER,
        )


@dataclass(frozen=True)
class Inspection:
    """What `sheetsync check` learns of a state database, changing nothing."""

    where: str
    version: int
    """The schema version found (0: an empty database, the first run creates it)."""
    latest: int
    """The version this sheetsync writes: an older one is migrated by `run`."""
    warnings: list[str]


def inspect(url: str, password: Secret | None, *, require_sync: bool) -> Inspection:
    """Connect once; read the schema version and the start-up checks, as `run` would meet
    them. Raises `StoreError`: unreachable, a newer schema, an unsafe database."""
    import psycopg

    where = shown_url(url)
    with translated(where):
        conn = psycopg.connect(conninfo(url, password), autocommit=True, prepare_threshold=None)
    try:
        with translated(where):
            try:
                version = schema_version(conn)
            except StoreError as exc:
                raise StoreError(f"{where}: {exc}", exc.reason) from exc
            warnings = check_database(conn, where, require_sync=require_sync)
    finally:
        conn.close()
    return Inspection(where, version, LATEST, warnings)
