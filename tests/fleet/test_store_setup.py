"""Opening a PostgreSQL store: migrations once, a newer schema refused, unsafe setups
refused or warned about, errors that carry a reason and never a password."""

from __future__ import annotations

import threading

import psycopg
import pytest

from sheetsync.adapters.store.pg_checks import Replication, replication_problem
from sheetsync.adapters.store.pg_schema import LATEST, migrate
from sheetsync.adapters.store.postgres import PostgresStore
from sheetsync.adapters.store.units import plain_units
from sheetsync.errors import StoreError, StoreReason

UNITS = plain_units({"a": "S1"})


def test_instances_starting_together_migrate_once(pg_template: str, pg_url: str) -> None:
    """Concurrent migrations of a blank database serialize on the advisory lock."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    found: list[int] = []

    def run() -> None:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            found.append(migrate(conn))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(found) == [0, LATEST, LATEST]
    with psycopg.connect(pg_url) as conn:
        versions = conn.execute("SELECT version FROM schema_version").fetchall()
    assert versions == [(v,) for v in range(1, LATEST + 1)]


def test_an_unlogged_lease_table_is_refused(pg_url: str) -> None:
    """A crash would empty an UNLOGGED lease table: two holders of one epoch."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE leases SET UNLOGGED")
    with pytest.raises(StoreError) as refused:
        PostgresStore(pg_url, UNITS).open()
    assert refused.value.reason is StoreReason.SETUP and "UNLOGGED" in str(refused.value)


def test_a_server_without_standbys_opens_without_warnings(pg_url: str) -> None:
    """The test server has no replicas: nothing to warn about, even when sync is required."""
    store = PostgresStore(pg_url, UNITS, require_sync_replication=True)
    store.open()
    try:
        assert store.warnings == []
    finally:
        store.close()


@pytest.mark.parametrize(
    ("standbys", "synchronous", "commit", "problem"),
    [
        (0, 0, "on", None),
        (2, 1, "on", None),
        (1, 1, "remote_apply", None),
        (1, 0, "on", "asynchronously"),
        (2, 0, "remote_apply", "asynchronously"),
        (1, 1, "local", "synchronous_commit = local"),
        (1, 1, "off", "synchronous_commit = off"),
    ],
)
def test_replication_that_can_lose_a_commit_is_named(
    standbys: int, synchronous: int, commit: str, problem: str | None
) -> None:
    """Asynchronous standbys, or commits not waiting for the sync one, can lose a commit."""
    found = replication_problem(Replication(standbys, synchronous, commit))
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_an_unreachable_server_is_a_store_error_without_the_password(
    pg_url: str, tmp_path: object
) -> None:
    """Connection failures carry a reason and a URL that shows no password."""
    from sheetsync.config import Secret
    from sheetsync.redact import register_secret

    register_secret("s3cret-pass")
    url = "postgresql://sheetsync@127.0.0.1:1/nowhere"
    store = PostgresStore(url, UNITS, password=Secret("s3cret-pass"))
    with pytest.raises(StoreError) as failed:
        store.open()
    assert failed.value.reason is StoreReason.UNAVAILABLE
    assert "s3cret-pass" not in str(failed.value)
    assert str(failed.value).startswith("postgresql://sheetsync@127.0.0.1:1/nowhere:")
