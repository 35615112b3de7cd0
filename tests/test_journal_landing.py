"""The journal's records of checked writes: strays and unanswered writes round-trip."""

from __future__ import annotations

from datetime import UTC, datetime

from sheetsync.adapters.store.journal_landing import Adoption
from sheetsync.adapters.store.protocol import Store
from sheetsync.core.landing import Sent, Stray

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_strays_are_kept_until_put_back_and_remembered_when_gone(journal: Store) -> None:
    """A stray whose row left the sheet stays known (an undo may bring the row back)."""
    hit = Stray("r1", "F", (("status", "sending"), ("id", "r1")), (("status", ""), ("id", "")))
    untold = Stray("r2", "G", (("status", "ok"),), None)
    journal.add_strays("w", [hit, untold], (), NOW)
    assert journal.strays("w") == [(hit, False), (untold, False)]
    assert journal.needs_whole_read("w") and not journal.needs_whole_read("other")
    journal.mark_strays_gone("w", [hit, untold])
    assert journal.strays("w") == [(hit, True), (untold, True)]
    assert not journal.needs_whole_read("w")  # a deleted stray waits for its row quietly
    journal.drop_strays("w", [hit])
    assert journal.strays("w") == [(untold, True)]


def test_an_unanswered_write_is_remembered_until_answered(journal: Store) -> None:
    """What a write in flight must show is read back as it was written, neighbours too."""
    rows = [
        Sent("r1", "S1", (("status", "sending"), ("id", "r1")), (2, 5), (("status", ""),)),
        Sent("", "S2", (("status", "sending"),), (2,), (("status", "done"),), written=False),
    ]
    journal.expect_answer("w", rows)
    assert journal.unanswered("w") == rows and journal.needs_whole_read("w")
    journal.answered("w")
    assert journal.unanswered("w") == [] and not journal.needs_whole_read("w")


def test_adopted_rows_never_replace_known_ones(journal: Store) -> None:
    """A row given an id of its own is recorded once; a known id is never overwritten."""
    journal.claim("w", [("r1", "F", "A")], NOW)
    journal.adopt(
        "w", [Adoption("r1", "foreign", "X"), Adoption("r9", "waiting", "G", due=True)], NOW, "test"
    )
    entries = journal.entries("w", NOW)
    assert entries["r1"].state == "claimed" and entries["r1"].fingerprint == "F"
    assert entries["r9"].state == "waiting" and entries["r9"].retry_due
    assert journal.known_ids("w", ["r1", "r9", "r5"]) == {"r1", "r9"}
    assert journal.ids_with_fingerprint("w", "G") == ["r9"]
