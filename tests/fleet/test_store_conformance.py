"""One suite, two backends: every journal operation means the same on SQLite and PostgreSQL.

Each test runs once per backend (the `store` fixture, see conftest); the store holds
every unit, as one process does today. Watches a and b share spreadsheet S1; c is on S2.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sheetsync.adapters.store.journal_records import UNKNOWN_MESSAGE, Outcome
from sheetsync.adapters.store.protocol import Change, Store
from sheetsync.adapters.store.runs import Tracked
from sheetsync.core.model import Entry
from sheetsync.errors import LeaseLostError

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def claim(store: Store, watch: str, *ids: str, name: str = "Scrape", now: float = 0) -> None:
    store.claim(watch, [(rid, f"fp-{rid}", name) for rid in ids], at(now))


def test_a_claim_is_unchecked_unshown_and_logged(store: Store) -> None:
    """A claim: state claimed, not yet checked nor shown, one event, counted."""
    claim(store, "a", "r1", "r2")
    found = store.entries("a", at(1))
    assert found["r1"] == Entry("r1", "claimed", "fp-r1", checked=False, shown=False)
    assert store.counts("a") == {"claimed": 2}
    assert store.has_unchecked("a") and not store.has_unchecked("b")
    assert [(e.row_id, e.state, e.detail) for e in store.latest("a")] == [
        ("r2", "claimed", "Scrape"),
        ("r1", "claimed", "Scrape"),
    ]
    store.mark_checked("a", ["r1", "r2"])
    assert not store.has_unchecked("a")


def test_ids_to_check_are_unchecked_claims_and_rows_not_settled(store: Store) -> None:
    """The ids whose rows a whole read keeps whole: unchecked, claimed, in flight."""
    claim(store, "a", "r1", "r2", "r3")
    store.mark_checked("a", ["r1", "r2", "r3"])
    store.mark_sending("a", ["r2"], at(1))
    store.record("a", ["r3"], Outcome("triggered", "https://v/3", "ok"), at(2))
    claim(store, "a", "r4", now=3)
    assert store.ids_to_check("a") == {"r1", "r2", "r4"}
    assert store.ids_to_check("b") == set()


def test_outcomes_and_the_shown_flag(store: Store) -> None:
    """sending -> triggered; `mark_shown` holds only while the cells are unchanged."""
    claim(store, "a", "r1")
    store.mark_sending("a", ["r1"], at(1))
    assert store.entries("a", at(1))["r1"].state == "sending"
    store.record("a", ["r1"], Outcome("triggered", "https://v/1", "ok"), at(2))
    entry = store.entries("a", at(2))["r1"]
    assert (entry.state, entry.link, entry.triggered_at) == (
        "triggered",
        "https://v/1",
        "2025-01-01T12:00:02Z",
    )
    store.mark_shown("a", [entry])
    assert store.unshown("a", at(3)) == {}
    store.mark_shown("a", [Entry("r1", "error")])  # stale: ignored
    store.record("a", ["r1"], Outcome("error", "", "boom"), at(4))
    assert list(store.unshown("a", at(4))) == ["r1"]
    assert [e.state for e in store.latest("a", 3)] == ["error", "triggered", "sending"]


def test_entries_needed_takes_what_a_narrow_cycle_needs(store: Store) -> None:
    """Unshown, unchecked, claimed/waiting rows, plus the ids asked for."""
    claim(store, "a", "r1", "r2", "r3")
    for rid in ("r1", "r2", "r3"):
        store.record("a", [rid], Outcome("triggered", "l", ""), at(1))
    store.mark_checked("a", ["r1", "r2", "r3"])
    store.mark_shown("a", store.entries("a", at(2)).values())
    assert store.entries_needed("a", at(2), []) == {}
    assert list(store.entries_needed("a", at(2), ["r2", "r2", "zz"])) == ["r2"]
    claim(store, "a", "r4")
    assert sorted(store.entries_needed("a", at(3), ["r1"])) == ["r1", "r4"]


def test_waiting_rows_wait_count_and_fall_due(store: Store) -> None:
    """`waiting` counts its waits, falls due at its time, and can be postponed."""
    claim(store, "a", "r1")
    wait = Outcome("waiting", "", "quota", at(60), "quota")
    store.record("a", ["r1"], wait, at(0))
    store.record("a", ["r1"], wait, at(1))
    assert store.waits("a", ["r1", "nope"]) == {"r1": 2}
    assert store.due_waiting("a", "quota", at(59)) == []
    assert store.due_waiting("a", "quota", at(60)) == ["r1"]
    assert store.entries("a", at(60))["r1"].retry_due
    store.postpone("a", ["r1"], at(120), "later", at(61))
    assert store.due_waiting("a", "quota", at(100)) == []
    assert store.entries("a", at(100))["r1"].message == "later"
    store.record("a", ["r1"], Outcome("triggered", "l"), at(130))
    assert store.waits("a", ["r1"]) == {"r1": 0}


def test_plans_and_first_cycles(store: Store) -> None:
    """Read plans are kept, replaced and forgotten; a started mark is set once."""
    assert store.read_plan("a") is None
    store.save_plan("a", "p1")
    store.save_plan("a", "p2")
    assert store.read_plan("a") == "p2"
    store.save_plan("a", None)
    assert store.read_plan("a") is None
    assert not store.has_started("a")
    store.mark_started("a", at(0))
    store.mark_started("a", at(1))
    assert store.has_started("a") and not store.has_started("b")


def test_skip_abandon_and_note(store: Store) -> None:
    """Skips add to earlier skips (a skip that missed its row is kept: an undo may bring
    the row back); only claims are abandoned; notes change no row."""
    store.skip("a", [("s1", "f1"), ("s2", "f2")], at(0))
    store.skip("a", [("s3", "f3"), ("s1", "f1")], at(1))
    assert store.counts("a") == {"skipped": 3}
    claim(store, "a", "r1")
    store.record("a", ["r1"], Outcome("triggered", "l"), at(2))
    claim(store, "a", "r2")
    store.abandon("a", ["r1", "r2"], at(3))
    states = {k: e.state for k, e in store.entries("a", at(3)).items()}
    assert states == {f"s{n}": "skipped" for n in (1, 2, 3)} | {
        "r1": "triggered",
        "r2": "abandoned",
    }
    store.note("a", "r1", "deleted", "row left the sheet", at(4))
    assert store.latest("a", 1)[0].detail == "row left the sheet"
    assert store.counts("a") == {"abandoned": 1, "skipped": 3, "triggered": 1}


def test_recovery_turns_sending_into_unknown_per_unit(store: Store) -> None:
    """A unit's recovery touches only its own rows and drops its read plans."""
    for watch in ("a", "c"):
        claim(store, watch, "r1")
        store.mark_sending(watch, ["r1"], at(1))
        store.save_plan(watch, "plan")
    assert store.recover_unit("S1", at(2)) == 1
    assert store.entries("a", at(2))["r1"].state == "unknown"
    assert store.entries("a", at(2))["r1"].message == UNKNOWN_MESSAGE
    assert store.entries("c", at(2))["r1"].state == "sending"
    assert store.read_plan("a") is None and store.read_plan("c") == "plan"
    assert store.recover(at(3)) == 1
    assert store.entries("c", at(3))["r1"].state == "unknown"


def test_a_released_unit_is_no_longer_served(store: Store) -> None:
    """Released: not held, not trusted, its fence refuses (PostgreSQL: every write too)."""
    epoch = store.held()["S1"]
    lost = store.release(["S1"])
    assert [(e.change, e.unit, e.epoch) for e in lost] == [(Change.LOST, "S1", epoch)]
    assert list(store.held()) == ["S2"]
    assert not store.trusted("S1") and store.trusted("S2")
    with pytest.raises(LeaseLostError), store.fenced("S1", epoch):
        pass
    claim(store, "c", "r1")  # the other unit is still served
    if store.where.startswith("postgres"):  # SQLite: the lock file still guards every write
        with pytest.raises(LeaseLostError):
            claim(store, "a", "r1")
        with pytest.raises(LeaseLostError):
            store.save_plan("b", "p")
        assert store.entries("a", at(0)) == {}


def tracked(store: Store, watch: str, rid: str, name: str, now: float) -> None:
    """A row triggered with run tracking (first poll 5 s later)."""
    claim(store, watch, rid, name=name, now=now)
    store.mark_sending(watch, [rid], at(now))
    store.record(watch, [rid], Outcome("triggered", "l"), at(now), poll=(at(now + 5), 5.0))


def test_tracked_runs_are_polled_and_settled(store: Store) -> None:
    """A tracked run is due at its poll time, rescheduled while running, settled at its end."""
    tracked(store, "a", "r1", "Scrape", 0)
    assert store.due("a", at(4)) == []
    run = Tracked("Scrape", (("a", "r1"),), 5.0)
    assert store.due("a", at(5)) == [run]
    assert store.in_flight("a") == 1
    store.polled(run, "running", "running", (at(15), 10.0), at(5))
    assert store.due("a", at(14)) == []
    store.poll_failed(run, "timeout", (at(35), 20.0), at(15))
    assert store.due("a", at(35)) == [Tracked("Scrape", (("a", "r1"),), 20.0)]
    store.polled(run, "success", "SUCCESS", (at(60), 20.0), at(35))
    assert store.entries("a", at(35))["r1"].run_status == "success"
    assert store.in_flight("a") == 0
    assert [e.state for e in store.latest("a", 3)] == ["success", "poll failed", "triggered"]


def test_a_newer_run_overlaps_older_ones_across_spreadsheets(store: Store) -> None:
    """A run of the same name on another spreadsheet overlaps, and its end untracks them."""
    tracked(store, "a", "r1", "Scrape", 0)
    tracked(store, "c", "r9", "Scrape", 1)
    older = store.entries("a", at(2))["r1"]
    assert older.run_status == "overlapped" and "later run" in older.message
    assert store.in_flight("a") == 1
    assert store.running(["Scrape"]) == [Tracked("Scrape", (("c", "r9"),), 5.0)]
    store.polled(Tracked("Scrape", (("c", "r9"),), 5.0), "failure", "FAILED", (at(9), 5), at(8))
    assert store.entries("a", at(8))["r1"].run_status == "untracked"
    assert store.entries("c", at(8))["r9"].run_status == "failure"
    assert store.in_flight("a") == 0
    assert store.latest("a", 1)[0].state == "overlapped"


def test_runs_without_an_end_expire(store: Store) -> None:
    """Runs triggered before the cutoff stop being tracked, with a message saying so."""
    tracked(store, "a", "r1", "Scrape", 0)
    tracked(store, "a", "r2", "Other", 100)
    assert store.expire("a", at(50), "50 s", at(200)) == 1
    found = store.entries("a", at(200))
    assert found["r1"].run_status == "untracked" and "50 s" in found["r1"].message
    assert found["r2"].run_status == "running"
