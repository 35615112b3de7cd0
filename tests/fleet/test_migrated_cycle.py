"""After `migrate_state`, cycles on the PostgreSQL store send nothing the SQLite journal had
handled: a row sent before, or whose trigger may have left (`sending` at a kill), is never
sent again; a row typed afterwards is sent once.

The test builds the engine on the real adapters, the emulators and the PostgreSQL store.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING

import pytest

from sheetsync.adapters import pacing
from sheetsync.adapters.axiom import outage
from sheetsync.adapters.store.postgres import PostgresStore
from sheetsync.adapters.store.state_migration import migrate_state
from sheetsync.adapters.store.units import units_of
from sheetsync.cycle.engine import Engine
from sheetsync.service.wiring import build_clients
from sheetsync.testing import World

if TYPE_CHECKING:
    from tests.fleet.conftest import Backend

HEADER = ["url", "product"]
ROWS = [[f"https://shop.example/{i}", f"P{i}"] for i in range(1, 5)]


def typed(world: World, row: list[str]) -> None:
    """A person adds a row below the others."""
    below = len(world.values()) + 1
    world.google.insert_rows(world.spreadsheet_id, world.tab, below, values=[row])


def kill_mid_post(world: World) -> None:
    """A cycle whose trigger reached axiom but whose answer never came back: the process
    is killed there (the journal keeps the row `sending`)."""
    hold = threading.Event()
    fault = world.axiom.add_fault(path="/trigger", hold=hold, phase="after", count=1)
    thread = threading.Thread(target=world.once)
    thread.start()
    assert fault.arrived.wait(20), "the trigger never reached axiom"
    world.crash()
    hold.set()
    thread.join(20)
    world.axiom.clear_faults()


@pytest.mark.sqlite_only("moves a SQLite journal file to PostgreSQL: its source is that file")
def test_a_migrated_journals_rows_are_never_sent_again(world: World, pg_backend: Backend) -> None:
    """Sent rows stay sent, the row killed mid-POST becomes `unknown`, a new row goes once."""
    world.sheet([HEADER, *ROWS[:3]])
    world.config({"mode": "row"})
    world.once()
    assert len(world.axiom.triggers) == 3
    typed(world, ROWS[3])
    kill_mid_post(world)
    assert len(world.axiom.triggers) == 4
    world.close_runtime()

    migrated = migrate_state(world.folder / "sheetsync.db", pg_backend.target, now=world.clock)
    assert migrated.copied["rows"] == 4

    pacing.clear_limiters()  # a new process: its own paces and gates
    outage.clear_gates()
    config = world.load()
    clock = world.clock
    sheets, axiom = build_clients(config, sleep=clock.sleep, monotonic=clock.monotonic, now=clock)
    store = pg_backend.make(units_of(config.watches))
    assert isinstance(store, PostgresStore)
    store.open()
    assert [e.recovered for e in store.acquire()] == [1]  # the row killed mid-POST
    cycles = Engine(sheets, axiom, store, now=clock, timer=clock.monotonic, sleep=clock.sleep)
    for _ in range(2):
        reports = cycles.run_group(config.watches)
        assert [r.error for r in reports] == [None]
        assert len(world.axiom.triggers) == 4  # nothing handled is sent again
        clock.advance(10)
    statuses = Counter(world.column("Status"))
    assert statuses == Counter({"triggered": 3, "unknown": 1})
    history = {e.detail for e in store.latest("w0", 100)}
    assert not any("did not know" in detail for detail in history)  # every id was migrated

    typed(world, ["https://shop.example/new", "P9"])
    cycles.run_group(config.watches)
    sent = Counter(t.data[1][0] for t in world.axiom.triggers)
    assert len(sent) == 5 and set(sent.values()) == {1}
    assert world.column("Status")[-1] == "triggered"
