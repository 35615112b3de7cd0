"""Issue 15's review: a person's own edit of a row while one of sheetsync's writes to that
row is held in the emulator. The row is the same row (its id says so): its result, or its
claim, belongs to it.
"""

from __future__ import annotations

import pytest

from sheetsync.adapters.store.protocol import Store
from sheetsync.errors import JournalError
from sheetsync.invariants import People, sent_urls, violations
from sheetsync.testing import World
from sheetsync.testing_races import WRITE, hold_write, row_of, settle, typed

HEADER = ["url", "product"]


def test_inputs_edited_while_the_result_write_is_held_keep_the_result(world: World) -> None:
    """Finding 1: the person edits the sent row's product while write 2 is in flight:
    the result stays on the row, no `unknown`, no second trigger."""
    people = People()
    world.sheet([HEADER, *typed(people, "https://a", "https://b")])
    world.config({"mode": "row"})
    sid = world.spreadsheet_id

    def edit_a() -> None:
        world.google.set_cell(sid, "Queue", 2, 2, "A2")
        people.typed("https://a", product="A2")

    hold_write(world, edit_a, skip=1)
    a = row_of(world, "https://a")
    assert a["Status"] == "triggered", a
    link = a["Run link"]
    settle(world, people)
    a = row_of(world, "https://a")
    assert (a["Status"], a["Run link"], a["product"]) == ("triggered", link, "A2")
    assert sent_urls(world.axiom) == {"https://a": 1, "https://b": 1}


def test_a_row_finished_while_its_claim_write_is_held_is_sent_once(world: World) -> None:
    """Finding 2: the person fills the row's last input while the claim is in flight:
    the row is sent exactly once (now or in a later cycle), never stranded."""
    people = People()
    world.sheet([[*HEADER, "note"], *typed(people, "https://a")])
    world.config({"mode": "row"})
    sid = world.spreadsheet_id

    def finish_a() -> None:
        world.google.set_cell(sid, "Queue", 2, 3, "ready now")
        people.typed("https://a", note="ready now")

    hold_write(world, finish_a)
    settle(world, people)
    a = row_of(world, "https://a")
    assert a["Status"] == "triggered", a
    assert sent_urls(world.axiom) == {"https://a": 1}
    assert world.payloads()[0][-1] == ["https://a", "A", "ready now"]  # as finished
    assert violations(world.values(), world.axiom, people, settled=True) == []


def test_inputs_edited_while_the_result_write_is_held_and_killed(world: World) -> None:
    """Finding 1 with a kill: the write's answer never comes; the next read finds the
    result on the row holding its id and keeps it."""
    people = People()
    world.sheet([HEADER, *typed(people, "https://a")])
    world.config({"mode": "row"})
    sid = world.spreadsheet_id

    def edit_a() -> None:
        world.google.set_cell(sid, "Queue", 2, 2, "A2")
        people.typed("https://a", product="A2")

    hold_write(world, edit_a, skip=1, kill=True)
    link = row_of(world, "https://a")["Run link"]
    assert link
    settle(world, people)
    a = row_of(world, "https://a")
    assert (a["Status"], a["Run link"], a["product"]) == ("triggered", link, "A2")
    assert sent_urls(world.axiom) == {"https://a": 1}


def test_a_result_write_on_a_row_typed_in_its_place_and_killed_is_found_by_its_link(
    world: World,
) -> None:
    """The result write (leaving the id alone) lands on a row typed in the sent row's
    place, and sheetsync is killed: the row showing the run's link is found and put back."""
    people = People()
    world.sheet([HEADER, *typed(people, "https://a")])
    world.config({"mode": "row"})
    sid = world.spreadsheet_id

    def type_b_and_delete_a() -> None:
        world.google.insert_rows(sid, "Queue", 3, values=typed(people, "https://b"))
        world.google.delete_rows(sid, "Queue", 2)
        people.deleted.add("https://a")

    hold_write(world, type_b_and_delete_a, skip=1, kill=True)
    assert world.values()[1][:3] == ["https://b", "B", "triggered"]
    world.once()
    b = row_of(world, "https://b")
    assert b["Run link"] == "" and b["Status"] in {"", "unknown"}, b
    if b["Status"] == "unknown":
        world.google.set_cell(sid, "Queue", 2, 3, "retry")
        people.retries["https://b"] += 1
    settle(world, people)
    assert sent_urls(world.axiom) == {"https://a": 1, "https://b": 1}


def test_rows_present_at_the_first_cycle_are_never_sent_when_the_skip_write_misses(
    world: World,
) -> None:
    """Finding 3: `start_from = "now"`, and a row is inserted above while the write that
    marks the existing rows `skipped` is held: it lands one row low. No existing row is
    ever sent; the row typed after the start may be."""
    people = People()
    world.sheet([HEADER, *typed(people, "https://r1", "https://r2", "https://r3")])
    world.config({"mode": "row", "start_from": "now"})
    sid = world.spreadsheet_id
    hold_write(
        world, lambda: world.google.insert_rows(sid, "Queue", 2, values=typed(people, "https://n"))
    )
    for _ in range(5):
        world.once()
    sent = sent_urls(world.axiom)
    assert not {"https://r1", "https://r2", "https://r3"} & set(sent), sent
    for url in ("https://r1", "https://r2", "https://r3"):
        assert row_of(world, url)["Status"] == "skipped", world.values()
    assert sent["https://n"] <= 1


def test_rows_present_at_the_first_cycle_are_never_sent_after_a_refused_skip_write(
    world: World,
) -> None:
    """Finding 3: the skip write gets a 500 (unsure whether applied), then a crash."""
    people = People()
    world.sheet([HEADER, *typed(people, "https://r1", "https://r2")])
    world.config({"mode": "row", "start_from": "now"})
    world.google.add_fault(path=WRITE, method="POST", status=500, count=10)
    world.once()
    world.google.clear_faults()
    world.crash()
    for _ in range(4):
        world.once()
    assert sent_urls(world.axiom) == {}
    assert [r[2] for r in world.values()[1:]] == ["skipped", "skipped"]


def test_a_row_present_at_the_first_cycle_deleted_while_skipped_and_undone_is_not_sent(
    world: World,
) -> None:
    """Finding 3: an existing row is deleted while the skip write is held (the skips land
    one row high) and an undo brings it back later: it was present, it is never sent."""
    people = People()
    world.sheet([HEADER, *typed(people, "https://r1", "https://r2", "https://r3")])
    world.config({"mode": "row", "start_from": "now"})
    sid = world.spreadsheet_id
    r1 = world.values()[1]
    hold_write(world, lambda: world.google.delete_rows(sid, "Queue", 2))
    for _ in range(3):
        world.once()
    world.google.insert_rows(sid, "Queue", 2, values=[r1], raw=True)  # the undo
    for _ in range(3):
        world.once()
    assert sent_urls(world.axiom) == {}, world.values()
    assert [r[2] for r in world.values()[1:]] == ["skipped"] * 3, world.values()


def test_a_stray_found_by_a_write_answer_survives_a_kill_before_it_is_put_back(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 5: a sort moves a far row under the result write, whose answer shows it (its
    past is in the read the write came from); sheetsync is killed right after recording
    the stray. After the restart the row gets back exactly what it showed."""
    people = People()
    world.sheet([HEADER, *typed(people, *[f"https://{c}" for c in "bcdef"])])
    world.config({"mode": "row"})
    world.once()
    sid = world.spreadsheet_id
    before = {f"https://{c}": row_of(world, f"https://{c}") for c in "bcdef"}
    world.google.insert_rows(sid, "Queue", 2, values=typed(people, "https://a"))
    calls = []
    store = type(world.runtime().journal)  # the SQLite journal's class, or PostgreSQL's

    def answered(self: Store, watch: str) -> None:
        calls.append(watch)
        if len(calls) == 2:  # the result write's: killed between its stray and its end
            raise JournalError("killed")
        original(self, watch)

    original = store.answered
    monkeypatch.setattr(store, "answered", answered)
    hold_write(world, lambda: world.google.sort(sid, "Queue", 1, ascending=False), skip=1)
    monkeypatch.setattr(store, "answered", original)
    assert len(calls) == 2
    world.crash()
    world.once()
    assert row_of(world, "https://f") == before["https://f"]
    settle(world, people)
    for url, row in before.items():
        assert row_of(world, url) == row, url
    assert sent_urls(world.axiom) == {f"https://{c}": 1 for c in "abcdef"}
