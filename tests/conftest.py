"""Fixtures: the two local emulators and a config folder, fresh for every test; the
PostgreSQL databases (a fresh one per test, cloned from a migrated template) that
tests/fleet uses, and that every `World` uses under `SHEETSYNC_TEST_STORE=postgres`.

The server is the project's PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres;
`SHEETSYNC_TEST_PG` overrides the admin URL). Unreachable: the tests skip on a developer
machine and FAIL when `CI` is set, so CI never passes without running them.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from sheetsync import redact, testing_pg
from sheetsync.adapters import pacing
from sheetsync.adapters.axiom import outage
from sheetsync.core import narrow
from sheetsync.testing_pg import ADMIN_URL, db_url, on_postgres

if TYPE_CHECKING:
    from sheetsync.adapters.store.protocol import Store
    from sheetsync.testing import World


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    """Shared limiters, outage gates and registered secrets are process-wide: reset them."""
    pacing.clear_limiters()
    outage.clear_gates()
    signals = _signal_state()
    yield
    pacing.clear_limiters()
    outage.clear_gates()
    redact.clear_secrets()
    assert _signal_state() == signals, "a test left signal handlers or the signal mask changed"


def _signal_state() -> tuple[object, ...]:
    """What child processes inherit of signals: the stop signals' handlers and the mask.

    A handler left at SIG_IGN is inherited by every process a later test starts (Python then
    installs no KeyboardInterrupt for SIGINT), so a leak here hangs tests far from its cause.
    """
    stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    return (*(signal.getsignal(s) for s in stops), signal.pthread_sigmask(signal.SIG_BLOCK, []))


@pytest.fixture(autouse=True)
def _narrow_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """`SHEETSYNC_TEST_NARROW=1`: read every tab narrowly from its second cycle on.

    The narrow read path (see `sheetsync.core.narrow`) serves only big tabs; this runs the
    in-process tests through it too (the daemon subprocesses keep the default).
    """
    if os.environ.get("SHEETSYNC_TEST_NARROW") == "1":
        monkeypatch.setattr(narrow, "NARROW_FROM_ROWS", 0)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """Both emulators on 127.0.0.1 and a folder with a service-account key."""
    from sheetsync.testing import World

    w = World.start(tmp_path)
    try:
        yield w
    finally:
        w.stop()


# -- the store under test ------------------------------------------------------------------
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under `SHEETSYNC_TEST_STORE=postgres`, tests about the SQLite file itself are skipped,
    each with its marker's reason (shown by `-ra`)."""
    if not on_postgres():
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(reason=f"sqlite_only: {reason}"))


@pytest.fixture(autouse=True)
def _test_store(request: pytest.FixtureRequest) -> None:
    """`SHEETSYNC_TEST_STORE=postgres`: every `World` of the test gets a fresh database."""
    if on_postgres() and request.node.get_closest_marker("sqlite_only") is None:
        request.getfixturevalue("_pg_worlds")


@pytest.fixture
def _pg_worlds(pg_databases: Callable[[], str]) -> Iterator[None]:
    testing_pg.use_databases(pg_databases)
    try:
        yield
    finally:
        testing_pg.use_databases(None)


_counter = itertools.count()


def _admin() -> Any:
    import psycopg

    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated database that each test's database is cloned from."""
    import psycopg

    from sheetsync.adapters.store.pg_schema import migrate

    try:
        admin = _admin()
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {ADMIN_URL} is unreachable: {str(exc).strip()}"
        if os.environ.get("CI") or on_postgres():
            pytest.fail(f"{message} (the PostgreSQL tests must run: start the server)")
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
def pg_databases(pg_template: str) -> Iterator[Callable[[], str]]:
    """Makes fresh, migrated databases for one test (their URLs); all dropped afterwards."""
    made: list[str] = []

    def fresh() -> str:
        name = f"sheetsync_t_{os.getpid()}_{next(_counter)}"
        with _admin() as admin:
            admin.execute(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
        made.append(name)
        return db_url(name)

    try:
        yield fresh
    finally:
        if made:
            with _admin() as admin:
                for name in made:
                    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_url(pg_databases: Callable[[], str]) -> str:
    """A fresh, migrated database for one test; dropped afterwards."""
    return pg_databases()


JOURNAL_UNITS = {"w": "S1", "other": "S2"}
"""The watches a `journal` fixture's store holds (their spreadsheets are its units)."""


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Store]:
    """The store under test on a fresh state, holding the spreadsheets of watches `w` and
    `other`: a SQLite journal, or (`SHEETSYNC_TEST_STORE=postgres`) a PostgreSQL store."""
    from sheetsync.adapters.store.postgres import PostgresStore
    from sheetsync.adapters.store.sqlite import SqliteStore
    from sheetsync.adapters.store.units import plain_units

    units = plain_units(JOURNAL_UNITS)
    made: Store
    if on_postgres():
        made = PostgresStore(testing_pg.fresh_database(), units)
    else:
        made = SqliteStore(tmp_path / "j.db", units)
    made.open()
    made.acquire()
    try:
        yield made
    finally:
        made.close()


StateQuery = Callable[["World", str], list[tuple[Any, ...]]]
"""`state_query(world, sql)`: the rows of one statement on the world's state."""


@pytest.fixture
def state_query() -> StateQuery:
    """Reads one statement's rows straight from a world's state (its SQLite file, or its
    database), beside a running or dead daemon, without opening a store."""

    def query(world: World, sql: str) -> list[tuple[Any, ...]]:
        if world.state_url is not None:
            import psycopg

            with psycopg.connect(world.state_url, autocommit=True) as conn:
                return conn.execute(sql).fetchall()
        import sqlite3

        path = world.folder / "sheetsync.db"
        if not path.exists():
            return []
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
            return db.execute(sql).fetchall()

    return query


class StateCopies:
    """A world's state lost, backed up and put back, as an operator might: its SQLite files,
    or (PostgreSQL) its database dropped and made again from the migrated template, or
    copied with CREATE DATABASE ... TEMPLATE. The world's runtime must be closed."""

    def __init__(self, template: str | None) -> None:
        self.template = template

    def lose(self, world: World) -> None:
        """The state is gone: the next start makes a new one."""
        if world.state_url is None:
            for path in world.folder.glob("sheetsync.db*"):
                path.unlink()
        else:
            self._copy(str(self.template), world.state_url.rsplit("/", 1)[1])

    def backup(self, world: World) -> None:
        if world.state_url is None:
            shutil.copy(world.folder / "sheetsync.db", world.folder / "backup.db")
        else:
            name = world.state_url.rsplit("/", 1)[1]
            self._copy(name, name + "_backup")

    def restore(self, world: World) -> None:
        if world.state_url is None:
            shutil.copy(world.folder / "backup.db", world.folder / "sheetsync.db")
        else:
            name = world.state_url.rsplit("/", 1)[1]
            self._copy(name + "_backup", name)

    @staticmethod
    def _copy(source: str, target: str) -> None:
        with _admin() as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {target} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {target} TEMPLATE {source}")


@pytest.fixture
def state_copies(request: pytest.FixtureRequest) -> Iterator[StateCopies]:
    """Lose, back up and restore a world's state (see `StateCopies`)."""
    if not on_postgres():
        yield StateCopies(None)
        return
    copies = StateCopies(request.getfixturevalue("pg_template"))
    try:
        yield copies
    finally:
        with _admin() as admin:
            for (name,) in admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s",
                (f"sheetsync_t_{os.getpid()}_%_backup",),
            ).fetchall():
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
