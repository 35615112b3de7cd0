"""PostgreSQL fixtures: a fresh database per test, cloned from a migrated template.

The server is the project's PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres;
`SHEETSYNC_TEST_PG` overrides the admin URL). Unreachable: the tests skip on a developer
machine and FAIL when `CI` is set, so CI never passes without running them.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest

ADMIN_URL = os.environ.get("SHEETSYNC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
_counter = itertools.count()


def _admin() -> Any:
    import psycopg

    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)


def db_url(name: str) -> str:
    """The URL of database `name` on the test server."""
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated database that each test's database is cloned from."""
    import psycopg

    from sheetsync.store.pg_schema import migrate

    try:
        admin = _admin()
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {ADMIN_URL} is unreachable: {str(exc).strip()}"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI must run the PostgreSQL tests: start the server)")
        pytest.skip(message)
    name = f"sheetsync_tpl_{os.getpid()}"
    with admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
        with psycopg.connect(db_url(name), autocommit=True) as conn:
            migrate(conn)
        try:
            yield name
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh, migrated database for one test; dropped afterwards."""
    name = f"sheetsync_t_{os.getpid()}_{next(_counter)}"
    with _admin() as admin:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
        try:
            yield db_url(name)
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
