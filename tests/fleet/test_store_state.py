"""The state itself, on both backends: when and by whom it was made, and refusing a state
a newer sheetsync wrote (a schema version or a row state this one does not know); the
`unsent` transition of a trigger axiom did not take.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import metadata
from typing import TYPE_CHECKING

import pytest

from sheetsync.adapters.store.journal_file import SCHEMA_VERSION
from sheetsync.adapters.store.journal_records import Outcome
from sheetsync.adapters.store.pg_schema import LATEST
from sheetsync.adapters.store.protocol import Store
from sheetsync.errors import JournalError, JournalReason

if TYPE_CHECKING:
    from tests.fleet.conftest import Backend

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_an_unsent_trigger_is_claimed_again(store: Store) -> None:
    """axiom refused the trigger before taking it: `sending` -> `claimed` (sent again),
    and only `sending` rows move; each row's history says so."""
    store.claim("a", [("r1", "fp1", "Scrape"), ("r2", "fp2", "Scrape")], at(0))
    store.mark_sending("a", ["r1"], at(1))
    store.record("a", ["r2"], Outcome("error", "", "refused"), at(1))
    store.mark_unsent("a", ["r1", "r2"], at(2))
    found = store.entries("a", at(2))
    assert (found["r1"].state, found["r2"].state) == ("claimed", "error")
    events = [(e.row_id, e.state, e.detail) for e in store.latest("a", 2)]
    assert events == [
        ("r2", "claimed", "not taken by axiom; sent again after a wait"),
        ("r1", "claimed", "not taken by axiom; sent again after a wait"),
    ]


def test_a_new_state_records_when_and_by_whom_it_was_made(backend: Backend) -> None:
    """`created` only at the first open; `created_at` (the clock's) and `created_by` kept."""
    store = backend.open()
    assert store.created and store.created_at == backend.clock.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    made_at = store.created_at
    backend.clock.advance(3600)
    store = backend.restart(store)
    assert not store.created and store.created_at == made_at
    by = backend.execute("SELECT value FROM meta WHERE key = 'created_by'")
    assert by == [(f"sheetsync {metadata.version('sheetsync-axiom')}",)]


def test_a_newer_schema_is_refused(backend: Backend) -> None:
    """A state migrated by a newer sheetsync is not used: `NEWER`, naming the version."""
    backend.open().close()
    if backend.kind == "sqlite":
        newer = SCHEMA_VERSION + 1
        backend.execute(f"PRAGMA user_version = {newer}")
    else:
        newer = LATEST + 1
        backend.execute(f"INSERT INTO schema_version (version) VALUES ({newer})")
    with pytest.raises(JournalError) as refused:
        backend.make().open()
    assert refused.value.reason is JournalReason.NEWER
    assert str(newer) in str(refused.value)


@pytest.mark.parametrize(
    ("state", "run_status", "value"),
    [("teleported", "", "teleported"), ("triggered", "paused", "paused")],
)
def test_a_row_state_this_sheetsync_does_not_know_is_refused(
    backend: Backend, state: str, run_status: str, value: str
) -> None:
    """Projecting a state it does not know would blank a status cell: refused, `NEWER`."""
    backend.open().close()
    backend.execute(
        "INSERT INTO rows (watch, row_id, state, run_status, updated_at)"
        f" VALUES ('a', 'r1', '{state}', '{run_status}', 'x')"
    )
    with pytest.raises(JournalError) as refused:
        backend.make().open()
    assert refused.value.reason is JournalReason.NEWER
    assert repr(value) in str(refused.value)


def test_every_state_this_sheetsync_writes_is_accepted(backend: Backend) -> None:
    """`foreign` (a person's row a misplaced write hit) and `abandoned` open fine."""
    backend.open().close()
    for state in ("foreign", "abandoned"):
        backend.execute(
            f"INSERT INTO rows (watch, row_id, state, updated_at) VALUES ('a', '{state}',"
            f" '{state}', 'x')"
        )
    store = backend.open()
    assert {e.state for e in store.entries("a", at(0)).values()} == {"foreign", "abandoned"}


def test_a_reader_sees_what_the_writer_wrote_and_writes_nothing(backend: Backend) -> None:
    """`status` and `check` read while a daemon runs: no lock, no unit, no write."""
    writer = backend.open()
    writer.claim("a", [("r1", "fp1", "Scrape")], at(0), [("r1", 2, "inputs")])
    writer.save_cycle("a", at(1), 1, 0, "")
    reader = backend.make(readonly=True)
    reader.open()
    assert reader.acquire() == [] and reader.held() == {}
    assert not reader.created and reader.created_at == writer.created_at
    assert reader.entries("a", at(2)) == writer.entries("a", at(2))
    assert [v.row for v in reader.row_views("a")] == [2] and reader.last_cycle("a").held == 1
    with pytest.raises(JournalError):
        reader.claim("a", [("r2", "fp2", "Scrape")], at(3))
    reader.close()
    assert list(writer.entries("a", at(3))) == ["r1"]
    writer.claim("a", [("r2", "fp2", "Scrape")], at(3))  # the writer kept its lock and leases


def test_a_reader_of_a_database_not_migrated_yet_is_told_how(pg_backend: Backend) -> None:
    """PostgreSQL: a reader migrates nothing; an older schema is refused with what to run."""
    pg_backend.open().close()
    pg_backend.execute(f"DELETE FROM schema_version WHERE version = {LATEST}")
    with pytest.raises(JournalError) as refused:
        pg_backend.make(readonly=True).open()
    assert refused.value.reason is JournalReason.SETUP and "migrates it" in str(refused.value)
    assert pg_backend.execute("SELECT max(version) FROM schema_version") == [(LATEST - 1,)]
