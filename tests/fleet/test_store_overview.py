"""What operators read, on both backends: rows where sheetsync last wrote them, each
watch's last cycle, waiting reasons, today's count (`Overview` on SQLite).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from sheetsync.adapters.store.journal_records import Outcome
from sheetsync.adapters.store.overview import CycleView
from sheetsync.adapters.store.protocol import Store
from sheetsync.core.model import Entry
from sheetsync.errors import LeaseLostError

if TYPE_CHECKING:
    from tests.fleet.conftest import Backend

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def placed(store: Store, watch: str, now: float, *rows: tuple[str, int]) -> None:
    """Claim rows at their row numbers (their preview is `inputs of <id>`)."""
    store.claim(
        watch,
        [(rid, f"fp-{rid}", "Scrape") for rid, _ in rows],
        at(now),
        [(rid, number, f"inputs of {rid}") for rid, number in rows],
    )


def test_rows_show_where_they_were_written_newest_first(store: Store) -> None:
    """A claim places its rows; a write moves them; a row never placed comes last."""
    store.skip("a", [("s1", "f1")], at(0))
    placed(store, "a", 0, ("r1", 2), ("r2", 3))
    placed(store, "b", 0, ("x1", 2))
    store.record("a", ["r1"], Outcome("triggered", "https://v/1", "started"), at(5))
    views = store.row_views("a")
    assert [(v.row_id, v.row, v.inputs, v.status) for v in views] == [
        ("r1", 2, "inputs of r1", "triggered"),
        ("r2", 3, "inputs of r2", "claimed"),  # same time as s1: the higher row first
        ("s1", 0, "", "skipped"),
    ]
    assert views[0].as_dict()["link"] == "https://v/1"
    assert views[0].updated_at == "2025-01-01T12:00:05Z"
    entry = store.entries("a", at(6))["r1"]
    store.mark_shown("a", [entry], {"r1": 7})  # people inserted rows above it
    store.mark_shown("a", [], {"r2": 9})  # a place alone is kept too
    found = {v.row_id: (v.row, v.inputs) for v in store.row_views("a")}
    assert found == {"r1": (7, "inputs of r1"), "r2": (9, "inputs of r2"), "s1": (0, "")}
    assert store.unshown("a", at(6)).keys() == {"r2", "s1"}


def test_rows_are_filtered_by_state_run_status_row_and_id(store: Store) -> None:
    """`status --state/--row/--id/--limit`: a state matches the row state or run status."""
    placed(store, "a", 0, ("r1", 2), ("r2", 3), ("r3", 4))
    store.record("a", ["r1"], Outcome("triggered", "l"), at(1), poll=(at(9), 5.0))
    store.record("a", ["r2"], Outcome("error", "", "boom"), at(2))

    def ids(**filters: Any) -> list[str]:
        return [v.row_id for v in store.row_views("a", **filters)]

    assert ids(state="running") == ["r1"]
    assert ids(state="error") == ["r2"]
    assert ids(row=4) == ["r3"]
    assert ids(row_id="r1") == ["r1"]
    assert ids(row=2, state="claimed") == []
    assert ids(limit=2) == ["r2", "r1"]
    assert store.row_views("c") == []


def test_a_cycles_summary_is_saved_only_when_it_changes(store: Store) -> None:
    """Held and settling rows, and the error, of each watch's last cycle."""
    assert store.last_cycle("a") == CycleView()
    store.save_cycle("a", at(0), 0, 0, "")
    assert store.last_cycle("a") == CycleView("2025-01-01T12:00:00Z", 0, 0, "")
    store.save_cycle("a", at(5), 0, 0, "")  # unchanged: not written again
    assert store.last_cycle("a").at == "2025-01-01T12:00:00Z"
    store.save_cycle("a", at(9), 3, 1, "HTTP 503")
    assert store.last_cycle("a") == CycleView("2025-01-01T12:00:09Z", 3, 1, "HTTP 503")
    assert store.last_cycle("b") == CycleView()


def test_waiting_reasons_and_the_days_count(store: Store) -> None:
    """Rows waiting by reason; rows triggered or queued since a moment, from the history;
    rows needing a person (error, unknown)."""
    placed(store, "a", 0, ("r1", 2), ("r2", 3), ("r3", 4), ("r4", 5))
    store.record("a", ["r1"], Outcome("waiting", "", "q", at(60), "quota"), at(1))
    store.record("a", ["r2"], Outcome("waiting", "", "q", at(60), "quota"), at(1))
    store.record("a", ["r3"], Outcome("waiting", "", "r", at(60), "rate_limit"), at(1))
    assert store.waiting_by_reason("a") == {"quota": 2, "rate_limit": 1}
    store.record("a", ["r3"], Outcome("triggered", "l"), at(100))
    store.record("a", ["r4"], Outcome("queued", "l"), at(200))
    placed(store, "c", 0, ("z1", 2))
    store.record("c", ["z1"], Outcome("triggered", "l"), at(300))
    assert store.triggered_since(at(0)) == 3
    assert store.triggered_since(at(150)) == 2
    assert store.triggered_since(at(301)) == 0
    assert store.waiting_by_reason("a") == {"quota": 2}
    assert store.needing_a_person("a") == 0
    store.record("a", ["r1"], Outcome("error", "", "bad"), at(400))
    store.record("a", ["r2"], Outcome("unknown", "", "?"), at(400))
    assert store.needing_a_person("a") == 2 and store.needing_a_person("c") == 0


def test_the_states_size_is_measured(store: Store) -> None:
    """The metrics' size gauge: a file and its WAL, or a database."""
    assert store.size_bytes() > 0


def test_a_cycles_summary_of_a_lost_unit_is_refused(pg_backend: Backend) -> None:
    """PostgreSQL: written under the watch's lease, like every row of its unit (SQLite's
    lock file guards every write)."""
    store = pg_backend.open()
    store.release(["S1"])
    with pytest.raises(LeaseLostError):
        store.save_cycle("a", at(0), 1, 0, "")
    with pytest.raises(LeaseLostError):
        store.mark_shown("a", [], {"r1": 2})
    with pytest.raises(LeaseLostError):
        store.mark_shown("a", [Entry("r1", "claimed")])
    store.save_cycle("c", at(0), 1, 0, "")
