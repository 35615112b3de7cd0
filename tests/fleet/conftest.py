"""Store fixtures: each backend on a fresh state (PostgreSQL: `pg_url`, a fresh database
cloned from a migrated template, from tests/conftest.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sheetsync.adapters.store.protocol import Change, Store
from sheetsync.adapters.store.settings import TEST_TIMINGS
from sheetsync.adapters.store.units import Units, plain_units
from sheetsync.testing import Clock

UNITS = plain_units({"a": "S1", "b": "S1", "c": "S2"})
"""The conformance suite's watches: a and b share spreadsheet S1; c is on S2."""


class Backend:
    """Opens stores of one backend on one state (a file, a database), as successive or
    concurrent processes would; every store it opened is closed after the test."""

    def __init__(self, kind: str, target: str, clock: Clock) -> None:
        self.kind, self.target, self.clock = kind, target, clock
        self.opened: list[Store] = []

    def make(self, units: Units = UNITS, *, readonly: bool = False) -> Store:
        """A store not opened yet (SQLite: the file is opened and locked already)."""
        made: Store
        if self.kind == "sqlite":
            from sheetsync.adapters.store.sqlite import SqliteStore

            made = SqliteStore(Path(self.target), units, now=self.clock, readonly=readonly)
        else:
            from sheetsync.adapters.store.postgres import PostgresStore

            made = PostgresStore(
                self.target,
                units,
                timings=TEST_TIMINGS,
                pace_clock=self.unix,
                sleep=self.clock.sleep,
                now=self.clock,
                readonly=readonly,
            )
        self.opened.append(made)
        return made

    def unix(self) -> float:
        """The fake clock in Unix seconds (the shared paces' clock)."""
        return self.clock.now.timestamp()

    def open(self, units: Units = UNITS) -> Store:
        """A store holding every unit (recovered), as one process does."""
        made = self.make(units)
        made.open()
        acquired = made.acquire()
        assert sorted(e.unit for e in acquired if e.change is Change.ACQUIRED) == units.all
        return made

    def restart(self, store: Store, units: Units = UNITS) -> Store:
        """Close `store` and open the state again, as a new process."""
        store.close()
        return self.open(units)

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        """One statement straight on the state (no store), committed: what another
        sheetsync, or damage, could have left there."""
        if self.kind == "sqlite":
            import sqlite3

            with contextlib.closing(sqlite3.connect(self.target)) as db, db:
                return db.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(self.target, autocommit=True) as conn:
            cursor = conn.execute(sql)
            return cursor.fetchall() if cursor.description else []

    def close_all(self) -> None:
        for made in reversed(self.opened):
            made.close()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each backend in turn, on a fresh state and a fake clock."""
    target = str(tmp_path / "state.db")
    if request.param == "postgres":
        target = request.getfixturevalue("pg_url")
    made = Backend(request.param, target, Clock())
    try:
        yield made
    finally:
        made.close_all()


@pytest.fixture
def store(backend: Backend) -> Store:
    """A store of each backend, holding every unit (recovered) and nothing else."""
    return backend.open()


@pytest.fixture
def pg_backend(pg_url: str) -> Iterator[Backend]:
    """PostgreSQL alone: several stores on one database stand for several instances."""
    made = Backend("postgres", pg_url, Clock())
    try:
        yield made
    finally:
        made.close_all()
