"""Text a store must keep whatever it holds: U+0000 (NUL) in a cell or an answer. SQLite
keeps it; PostgreSQL cannot, and keeps U+FFFD in its place (`pg_text`), on every way in:
a lost journal's adoptions, claims, results, waits, and a migration's copy (a stray's
cells are JSON text there, which keeps U+0000 escaped)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sheetsync.adapters.store.journal_landing import Adoption, ShownRows
from sheetsync.adapters.store.journal_records import Outcome
from sheetsync.adapters.store.pg_bulk import batch
from sheetsync.adapters.store.protocol import Store
from sheetsync.adapters.store.sqlite import SqliteStore
from sheetsync.adapters.store.state_migration import migrate_state
from sheetsync.adapters.store.units import plain_units
from sheetsync.core.landing import Stray
from sheetsync.testing import World

if TYPE_CHECKING:
    from tests.fleet.conftest import Backend

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
NUL = "a\x00b"


def kept(store: Store) -> str:
    """What the store keeps of `NUL`."""
    return NUL if hasattr(store, "_query") else "a\ufffdb"


@pytest.mark.parametrize("way", ["adopt", "alike", "shown", "record", "postpone", "strays"])
def test_a_nul_in_a_cell_or_an_answer_is_kept_or_replaced_never_refused(
    store: Store, way: str
) -> None:
    like = Adoption("", "triggered", "", link=NUL, message=NUL)
    if way == "adopt":
        row = Adoption("r1", "triggered", "F", link=NUL, message=NUL, triggered_at=NUL)
        store.adopt("a", [row], T0, NUL)
    elif way == "alike":
        store.adopt_alike("a", like, ["r1", "r2"], T0, "why")
    elif way == "shown":
        store.adopt_shown("a", like, ShownRows.of([("r1", NUL, NUL, NUL)]), T0, "why")
    elif way in ("record", "postpone"):
        store.claim("a", [("r1", "F", NUL)], T0)
        store.mark_sending("a", ["r1"], T0)
        if way == "record":
            store.record("a", ["r1"], Outcome("triggered", NUL, NUL), T0)
        else:
            store.record("a", ["r1"], Outcome("waiting", message="later"), T0)
            store.postpone("a", ["r1"], T0 + timedelta(seconds=5), NUL, T0)
    else:
        store.add_strays("a", [Stray("r1", "F", (("status", NUL),), (("link", NUL),))], (), T0)
        [(stray, _gone)] = store.strays("a")
        assert (stray.wrote, stray.prior) == ((("status", NUL),), (("link", NUL),))  # JSON text
        return
    entry = store.entries("a", T0)["r1"]
    if way in ("adopt", "alike", "shown", "record"):
        assert entry.link == kept(store)
    assert entry.message == kept(store)


def test_a_batch_with_a_nul_is_made_again_without_it() -> None:
    """The JSON a statement unpacks: U+FFFD for U+0000; an escaped backslash before
    `u0000` (no NUL) is left as it is."""
    assert batch([["a\x00b", 1]]) == '[["a\ufffdb",1]]'
    assert batch([["a\\u0000b"]]) == '[["a\\\\u0000b"]]'


def test_a_sqlite_journal_holding_a_nul_moves_to_postgresql(
    tmp_path: Path, pg_backend: Backend
) -> None:
    """`migrate-state` copies a journal whose rows hold U+0000 (SQLite kept it)."""
    units = plain_units({"a": "S1"})
    path = tmp_path / "state.db"
    journal = SqliteStore(path, units, now=pg_backend.clock)
    journal.claim("a", [("r1", "F", "A")], T0)
    journal.mark_sending("a", ["r1"], T0)
    journal.record("a", ["r1"], Outcome("triggered", NUL, NUL), T0)
    journal.close()
    assert migrate_state(path, pg_backend.target, now=pg_backend.clock).copied["rows"] == 1
    store = pg_backend.make(units)
    store.open()
    entry = store.entries("a", T0)["r1"]
    assert (entry.state, entry.link, entry.message) == ("triggered", "a\ufffdb", "a\ufffdb")


def test_a_lost_journals_rows_showing_a_nul_are_adopted_on_postgresql(
    world: World, pg_url: str
) -> None:
    """Handled rows whose run links hold U+0000, unknown to the journal, and a new row: the
    cycle adopts them and sends the new row once (before 52b15af: no row was ever sent);
    read as U+FFFD (`core.text`), as the journal keeps them, the next holders find nothing
    to put back and write nothing."""
    header = ["url", "product", "Status", "Run link", "Message", "sheetsync id"]
    rows = [
        [f"https://{i}", f"P{i}", "triggered", f"https://run/{i}\x00", "", f"r{i:011d}"]
        for i in range(3)
    ]
    world.sheet([header, *rows, ["https://new", "N"]])
    world.config({"mode": "row"}, state={"url": pg_url})
    world.once()
    assert len(world.payloads()) == 1 and world.row(5)["Status"] == "triggered"
    entry = world.runtime().journal.entries("w0", world.clock())["r00000000000"]
    assert entry.link == "https://run/0\ufffd"
    writes = world.google.writes()
    for _ in range(2):
        world.close_runtime()  # the next `once` takes the spreadsheet over
        world.once()
    assert world.google.writes() == writes and world.row(2)["Run link"] == "https://run/0\x00"
    assert len(world.payloads()) == 1
    world.close_runtime()
