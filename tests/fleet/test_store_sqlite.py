"""The SQLite store: the lock file is the lease, every start is a new epoch, errors carry data."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sheetsync.adapters.store.protocol import Change
from sheetsync.adapters.store.sqlite import SqliteStore
from sheetsync.adapters.store.units import plain_units
from sheetsync.errors import JournalError, StoreReason

UNITS = plain_units({"a": "S1", "c": "S2"})
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def test_every_start_is_a_new_epoch_recovered_like_a_takeover(tmp_path: Path) -> None:
    """Each open bumps every unit's epoch; the first round recovers each unit's `sending`."""
    first = SqliteStore(tmp_path / "s.db", UNITS)
    first.open()
    first.acquire()
    first.claim("a", [("r1", "fp", "Scrape")], NOW)
    first.mark_sending("a", ["r1"], NOW)
    epochs = dict(first.held())
    first.close()
    again = SqliteStore(tmp_path / "s.db", UNITS)
    again.open()
    assert {u: e - 1 for u, e in again.held().items()} == epochs
    events = again.acquire()
    assert [(e.change, e.unit, e.recovered) for e in events] == [
        (Change.ACQUIRED, "S1", 1),
        (Change.ACQUIRED, "S2", 0),
    ]
    assert again.entries("a", NOW)["r1"].state == "unknown"
    assert again.acquire() == []
    again.close()


def test_the_lock_file_keeps_a_second_process_out(tmp_path: Path) -> None:
    """Only one process holds a SQLite state file (and so every unit)."""
    first = SqliteStore(tmp_path / "s.db", UNITS)
    with pytest.raises(JournalError, match="another sheetsync"):
        SqliteStore(tmp_path / "s.db", UNITS)
    first.close()


def test_sqlite_errors_become_store_errors_with_a_reason(tmp_path: Path) -> None:
    """The caller never sees sqlite3's exceptions: it branches on `JournalError.reason`."""
    store = SqliteStore(tmp_path / "s.db", UNITS)
    store.open()
    with sqlite3.connect(tmp_path / "s.db") as other:
        other.execute("DROP TABLE rows")
    with pytest.raises(JournalError) as failed:
        store.entries("a", NOW)
    assert failed.value.reason is StoreReason.UNAVAILABLE  # sqlite: "no such table"
    store.close()
