"""Checking writes, on both backends: strays kept until put back, a write's aims kept until
its answer comes, rows adopted without replacing known ones (`journal_landing`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from sheetsync.adapters.store.journal_landing import Adoption, ShownRows
from sheetsync.adapters.store.protocol import Store
from sheetsync.core.landing import Sent, Stray
from sheetsync.errors import LeaseLostError

if TYPE_CHECKING:
    from tests.fleet.conftest import Backend

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
HIT = Stray("r1", "F", (("status", "sending"), ("id", "r1")), (("status", ""), ("id", "")))
UNTOLD = Stray("r2", "G", (("status", "ok"),), None)
EARLY = Stray("r0", "E", (("status", "ok"),), (("status", "mine"),))


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_strays_are_kept_until_put_back_and_remembered_when_gone(store: Store) -> None:
    """Oldest first (one time: by row id); gone strays wait quietly; an added stray
    replaces the ones it names; each one is in the history."""
    store.add_strays("a", [UNTOLD, HIT], (), at(5))
    store.add_strays("a", [EARLY], (), at(1))
    assert store.strays("a") == [(EARLY, False), (HIT, False), (UNTOLD, False)]
    assert store.needs_whole_read("a") and not store.needs_whole_read("b")
    assert store.strays("b") == []
    store.mark_strays_gone("a", [HIT, UNTOLD, EARLY])
    assert store.strays("a") == [(EARLY, True), (HIT, True), (UNTOLD, True)]
    assert not store.needs_whole_read("a")  # a deleted stray waits for its row quietly
    store.mark_strays_gone("a", [EARLY], gone=False)
    assert store.needs_whole_read("a")
    moved = Stray("r1", "F", (("status", "triggered"),), HIT.prior)
    store.add_strays("a", [moved], [EARLY], at(9))  # hit again: kept as new, not gone
    assert store.strays("a") == [(UNTOLD, True), (moved, False)]
    store.drop_strays("a", [UNTOLD, moved])
    store.drop_strays("a", [])
    assert store.strays("a") == [] and not store.needs_whole_read("a")
    kept = "a write hit it; what it held is kept"
    details = [(e.row_id, e.state, e.detail) for e in store.latest("a", 2)]
    assert details == [("r1", "stray", kept), ("r0", "stray", kept)]


def test_an_unanswered_write_is_remembered_until_answered(store: Store) -> None:
    """What a write in flight must show reads back as written (neighbours too); a later
    write's aims replace it; its answer forgets them."""
    rows = [
        Sent("r1", "S1", (("status", "sending"), ("id", "r1")), (2, 5), (("status", ""),)),
        Sent("", "S2", (("status", "sending"),), (2,), (("status", "done"),), written=False),
    ]
    assert store.unanswered("a") == [] and not store.needs_whole_read("a")
    store.expect_answer("a", rows[1:])
    store.expect_answer("a", rows)
    assert store.unanswered("a") == rows and store.needs_whole_read("a")
    assert store.unanswered("b") == [] and not store.needs_whole_read("b")
    store.answered("a")
    assert store.unanswered("a") == [] and not store.needs_whole_read("a")


def test_adopted_rows_never_replace_known_ones(store: Store) -> None:
    """A row given an id of its own is recorded once, as the sheet shows it; a known id is
    never overwritten; every adoption is in the history."""
    store.claim("a", [("r1", "F", "A")], at(0))
    store.adopt(
        "a",
        [
            Adoption("r1", "foreign", "X"),
            Adoption("r9", "waiting", "G", message="later", due=True),
            Adoption("r8", "triggered", "G", link="https://v/8", run_status="success"),
            Adoption("r7", "unknown", "H", shown=False),
        ],
        at(1),
        "the journal did not know this row",
    )
    entries = store.entries("a", at(1))
    assert (entries["r1"].state, entries["r1"].fingerprint) == ("claimed", "F")
    assert entries["r9"].state == "waiting" and entries["r9"].retry_due
    assert entries["r8"].link == "https://v/8" and entries["r8"].run_status == "success"
    assert entries["r8"].shown and entries["r8"].checked and not entries["r7"].shown
    assert sorted(store.unshown("a", at(1))) == ["r1", "r7"]
    assert store.known_ids("a", ["r1", "r9", "r5", "r9"]) == {"r1", "r9"}
    assert store.known_ids("a", [f"x{i}" for i in range(1200)] + ["r7"]) == {"r7"}
    assert store.known_ids("a", [f"x{i}" for i in range(6000)] + ["r7", "r1"]) == {"r7", "r1"}
    assert store.known_ids("b", ["r1"]) == set()
    assert sorted(store.ids_with_fingerprint("a", "G")) == ["r8", "r9"]
    assert store.ids_with_fingerprint("a", "nothing") == []
    assert [e.row_id for e in store.latest("a", 4)] == ["r7", "r8", "r9", "r1"]
    assert [(e.state, e.detail) for e in store.latest("a", 2)] == [
        ("adopted", "the journal did not know this row; recorded as unknown"),
        ("adopted", "the journal did not know this row; recorded as triggered"),
    ]
    assert store.triggered_since(at(0)) == 0  # adopted, never triggered by sheetsync


def test_rows_showing_the_same_cells_are_adopted_in_one_go(store: Store) -> None:
    """`adopt_alike`: every id recorded with the shared cells (a known id left as it is),
    and one history line for them all (100,000 lines were a third of a lost journal's
    adoption, and counted as rows triggered today)."""
    store.claim("a", [("r2", "F", "A")], at(0))
    like = Adoption("", "triggered", "", link="https://v/all", run_status="untracked")
    store.adopt_alike("a", like, ["r1", "r2", "r3"], at(1), "the journal did not know this row")
    entries = store.entries("a", at(1))
    assert entries["r2"].state == "claimed"
    for row_id in ("r1", "r3"):
        entry = entries[row_id]
        assert (entry.state, entry.fingerprint, entry.link) == ("triggered", "", "https://v/all")
        assert entry.run_status == "untracked" and entry.shown and entry.checked
    [line] = [e for e in store.latest("a", 5) if e.state != "claimed"]
    assert (line.row_id, line.state) == ("*", "adopted")
    assert (
        line.detail == "3 rows, r1 to r3: the journal did not know this row; recorded as triggered"
    )
    assert store.triggered_since(at(0)) == 0
    waiting = Adoption("", "waiting", "", message="later", due=True, shown=True)
    store.adopt_alike("a", waiting, ["r4"], at(2), "the journal did not know this row")
    assert store.entries("a", at(2))["r4"].retry_due


def test_shown_rows_sort_by_id_stably_and_bind_row_after_row() -> None:
    """`ShownRows`: sorted by id keeping the given order of an id given twice (no sort when
    sorted already), bound row after row; columns of different lengths are refused."""
    rows = ShownRows.of([("b", "l1", "m1", "t1"), ("a", "l2", "", ""), ("b", "l3", "", "")])
    ordered = rows.in_key_order()
    assert ordered.rows() == [("a", "l2", "", ""), ("b", "l1", "m1", "t1"), ("b", "l3", "", "")]
    assert ordered.interleaved() == ["a", "l2", "", "", "b", "l1", "m1", "t1", "b", "l3", "", ""]
    same = ShownRows.of([("a", "x", "", ""), ("b", "y", "", "")])
    assert same.in_key_order() is same and len(same) == 2
    assert len(ShownRows.of([])) == 0 and ShownRows.of([]).interleaved() == []
    with pytest.raises(ValueError, match="different lengths"):
        ShownRows(["a"], [], [], [])


def test_an_id_given_twice_to_adopt_shown_is_recorded_as_first_given(store: Store) -> None:
    """Both stores keep the first of an id's rows (in the order given), in any position (until
    becf4a7: the smallest row, `https://v/a`, as the rows were sorted whole), and put the
    rows in in id order (SQLite: its rowids; PostgreSQL: the heap, fresh, in insert order),
    the order two stores' transactions take keys in."""
    like = Adoption("", "triggered", "")
    twice = [
        ("r2", "https://v/b", "", ""),
        ("r1", "https://v/1", "", ""),
        ("r2", "https://v/a", "", ""),
    ]
    store.adopt_shown("a", like, ShownRows.of(twice), at(1), "the journal did not know this row")
    entries = store.entries("a", at(1))
    assert (entries["r1"].link, entries["r2"].link) == ("https://v/1", "https://v/b")
    assert store.counts("a") == {"triggered": 2}
    assert inserted(store) == ["r1", "r2"]


def inserted(store: Store) -> list[str]:
    """The journal's row ids in the order they went in."""
    if hasattr(store, "_query"):  # SQLite
        return [r[0] for r in store._query("SELECT row_id FROM rows ORDER BY rowid")]
    rows = store._rows("SELECT row_id FROM rows ORDER BY ctid")  # type: ignore[attr-defined]
    return [r[0] for r in rows]


def test_rows_each_showing_their_own_run_are_adopted_in_one_go(store: Store) -> None:
    """`adopt_shown`: each row with its own link, message and time triggered, the rest
    shared (a known id left as it is), and one history line for them all."""
    store.claim("a", [("r2", "F", "A")], at(0))
    like = Adoption("", "triggered", "", run_status="untracked")
    rows = [
        ("r3", "https://v/3", "", "2026-01-05 09:00:03"),
        ("r1", "https://v/1", "a note", ""),
        ("r2", "https://v/2", "", ""),
    ]
    store.adopt_shown("a", like, ShownRows.of(rows), at(1), "the journal did not know this row")
    entries = store.entries("a", at(1))
    assert entries["r2"].state == "claimed"
    for row_id, link, message, triggered in (rows[0], rows[1]):
        entry = entries[row_id]
        assert (entry.state, entry.link, entry.message) == ("triggered", link, message)
        assert entry.triggered_at == triggered
        assert entry.run_status == "untracked" and entry.shown and entry.checked
    [line] = [e for e in store.latest("a", 5) if e.state != "claimed"]
    assert (line.row_id, line.state) == ("*", "adopted")
    assert (
        line.detail == "3 rows, r1 to r3: the journal did not know this row; recorded as triggered"
    )


def test_a_lost_units_landing_records_are_refused(pg_backend: Backend) -> None:
    """PostgreSQL: every landing record is a row of its watch's unit: written fenced."""
    store = pg_backend.open()
    store.add_strays("a", [HIT], (), at(0))
    store.release(["S1"])
    writes: list[Callable[[], None]] = [
        lambda: store.add_strays("a", [UNTOLD], (), at(1)),
        lambda: store.drop_strays("a", [HIT]),
        lambda: store.mark_strays_gone("b", [HIT]),
        lambda: store.expect_answer("a", []),
        lambda: store.answered("b"),
        lambda: store.adopt("a", [Adoption("r1", "foreign", "X")], at(1), "test"),
    ]
    for write in writes:
        with pytest.raises(LeaseLostError):
            write()
    assert store.strays("a") == [(HIT, False)]  # reads are served regardless
    store.add_strays("c", [UNTOLD], (), at(1))


def test_rows_adopted_without_inputs_match_no_inputs(store: Store) -> None:
    """An empty fingerprint (a row adopted without its inputs) is no row's inputs."""
    store.adopt_alike("a", Adoption("", "triggered", ""), ["r20", "r21"], at(1), "lost")
    store.adopt("a", [Adoption("r22", "triggered", "G")], at(1), "lost")
    assert store.ids_with_fingerprint("a", "") == []
    assert store.ids_with_fingerprint("a", "G") == ["r22"]
