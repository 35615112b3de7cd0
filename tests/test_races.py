"""Issue 15: a person's edit between one of sheetsync's reads and the write that follows.

Each test holds one Sheets request in the emulator while the person edits, then lets it
go, and checks the invariants of `sheetsync.invariants`: per row at most one trigger
(plus the retries typed), no row showing a result it did not produce, no cell the
person typed lost, and in the end every row the person left to sheetsync handled.
"""

from __future__ import annotations

import threading

import pytest

from sheetsync.core import narrow
from sheetsync.core.strays import UNTOLD_MESSAGE
from sheetsync.invariants import People, sent_urls, violations
from sheetsync.testing import DaemonProcess, World
from sheetsync.testing_races import WAIT, WRITE, hold_write, row_of, settle, typed

HEADER = ["url", "product"]


def test_a_result_write_held_while_a_row_is_typed_below_and_the_sent_row_deleted(
    world: World,
) -> None:
    """A: the result write lands where the deleted row was: the row typed there never
    shows the deleted row's result, and is sent once when asked to."""
    people = People()
    world.sheet([HEADER, *typed(people, "https://a")])
    world.config({"mode": "row"})
    sid = world.spreadsheet_id

    def type_b_and_delete_a() -> None:
        world.google.insert_rows(sid, "Queue", 3, values=typed(people, "https://b"))
        world.google.delete_rows(sid, "Queue", 2)
        people.deleted.add("https://a")

    hold_write(world, type_b_and_delete_a, skip=1)
    world.once()
    b = row_of(world, "https://b")
    assert sent_urls(world.axiom)["https://a"] == 1
    problems = violations(world.values(), world.axiom, people)
    assert problems == [], "\n".join(problems)
    if b["Status"] == "unknown":  # it cannot tell what row b showed: it says so
        assert "by mistake" in b["Message"]
        number = [r[0] for r in world.values()].index("https://b") + 1
        world.google.set_cell(sid, "Queue", number, 3, "retry")
        people.retries["https://b"] += 1
    settle(world, people)
    assert sent_urls(world.axiom)["https://b"] == 1


def test_b_a_row_deleted_before_its_claim_lands_and_undone_is_sent_once(world: World) -> None:
    """B: the claim lands on the row below; the deleted row, brought back, goes once."""
    people = People()
    world.sheet([HEADER, *typed(people, "https://y")])
    world.config({"mode": "row"})
    world.once()
    sid = world.spreadsheet_id
    y_before = row_of(world, "https://y")
    world.google.insert_rows(sid, "Queue", 2, values=typed(people, "https://x"))
    x_row = world.values()[1]
    hold_write(world, lambda: world.google.delete_rows(sid, "Queue", 2))
    world.once()
    assert row_of(world, "https://y") == y_before
    world.google.insert_rows(sid, "Queue", 2, values=[x_row])  # undo of the delete
    settle(world, people)
    assert sent_urls(world.axiom) == {"https://y": 1, "https://x": 1}
    assert row_of(world, "https://y") == y_before


def handled_p_x_y(world: World, people: People) -> dict[str, dict[str, str]]:
    """Rows p, x, y sent and shown; x then typed `retry`. Their cells before the retry."""
    world.sheet([HEADER, *typed(people, "https://p", "https://x", "https://y")])
    world.config({"mode": "row", "interval_seconds": 0.5})
    world.once()
    before = {url: row_of(world, url) for url in ("https://p", "https://x", "https://y")}
    world.google.set_cell(world.spreadsheet_id, "Queue", 3, 3, "retry")
    people.retries["https://x"] += 1
    world.close_runtime()
    return before


def test_c_a_retry_claim_landing_one_row_low(world: World) -> None:
    """C: p deleted before x's retry claim lands: it hits y; x goes once more, y keeps
    its own id, status and link."""
    people = People()
    before = handled_p_x_y(world, people)
    sid = world.spreadsheet_id

    def delete_p() -> None:
        world.google.delete_rows(sid, "Queue", 2)
        people.deleted.add("https://p")

    hold_write(world, delete_p)
    settle(world, people)
    assert sent_urls(world.axiom) == {"https://p": 1, "https://x": 2, "https://y": 1}
    assert row_of(world, "https://y") == before["https://y"]
    x = row_of(world, "https://x")
    assert x["sheetsync id"] == before["https://x"]["sheetsync id"]
    assert x["Run link"] not in {"", before["https://x"]["Run link"]}


def test_c_the_same_with_a_kill_before_the_second_write(world: World) -> None:
    """C, and sheetsync is killed (SIGKILL) while its second write is held."""
    people = People()
    before = handled_p_x_y(world, people)
    sid = world.spreadsheet_id
    claim = world.google.add_fault(path=WRITE, method="POST", hold=threading.Event(), count=1)
    # faults are tried in order: this one takes the write after the claim write
    second = world.google.add_fault(path=WRITE, method="POST", hold=threading.Event(), count=1)
    daemon = DaemonProcess.for_world(world, world.folder / "sheetsync.toml")
    try:
        assert claim.arrived.wait(WAIT), daemon.log()
        world.google.delete_rows(sid, "Queue", 2)
        people.deleted.add("https://p")
        assert claim.hold is not None
        claim.hold.set()
        assert second.arrived.wait(WAIT), daemon.log()
    finally:
        daemon.kill()
    world.google.clear_faults()  # the held write goes through after the kill, as it may
    settle(world, people)
    assert sent_urls(world.axiom) == {"https://p": 1, "https://x": 2, "https://y": 1}
    assert row_of(world, "https://y") == before["https://y"]


def test_c_the_same_with_the_delete_undone_while_the_second_write_waits(world: World) -> None:
    """C, and the person undoes the delete while the second write is held: p comes back
    with its own cells and never shows another row's id or result."""
    people = People()
    before = handled_p_x_y(world, people)
    sid = world.spreadsheet_id
    p_row = [before["https://p"][h] for h in world.values()[0]]
    claim = world.google.add_fault(path=WRITE, method="POST", hold=threading.Event(), count=1)
    # faults are tried in order: this one takes the write after the claim write
    second = world.google.add_fault(path=WRITE, method="POST", hold=threading.Event(), count=1)
    thread = threading.Thread(target=world.once)
    thread.start()
    assert claim.arrived.wait(WAIT) and claim.hold is not None
    world.google.delete_rows(sid, "Queue", 2)
    claim.hold.set()
    while thread.is_alive() and not second.arrived.wait(0.05):
        pass  # (unfixed, the cycle writes nothing more and ends: the undo comes after it)
    world.google.insert_rows(sid, "Queue", 2, values=[p_row], raw=True)  # the undo
    assert second.hold is not None
    second.hold.set()
    thread.join(WAIT)
    settle(world, people)
    assert sent_urls(world.axiom) == {"https://p": 1, "https://x": 2, "https://y": 1}
    assert row_of(world, "https://p") == before["https://p"]
    assert row_of(world, "https://y") == before["https://y"]


@pytest.mark.parametrize("big", [False, True], ids=["whole", "narrow"])
def test_a_row_hit_by_mistake_deleted_and_brought_back_by_undo_is_put_back(
    world: World, big: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A, then the row the result landed on is deleted before it is put back, and an
    undo brings it back: it never keeps showing the other row's result. Read narrowly,
    the row brought back is past the id column's last id (a column read ends there)."""
    if big:
        monkeypatch.setattr(narrow, "NARROW_FROM_ROWS", 0)
    people = People()
    world.sheet([HEADER, *typed(people, "https://a")])
    world.config({"mode": "row"})
    sid = world.spreadsheet_id

    def type_b_and_delete_a() -> None:
        world.google.insert_rows(sid, "Queue", 3, values=typed(people, "https://b"))
        world.google.delete_rows(sid, "Queue", 2)
        people.deleted.add("https://a")

    hold_write(world, type_b_and_delete_a, skip=1)
    hit = world.values()[1]
    assert hit[0] == "https://b" and hit[2] == "triggered"  # the result landed on b
    world.google.delete_rows(sid, "Queue", 2)
    world.once()
    world.google.insert_rows(sid, "Queue", 2, values=[hit], raw=True)  # the undo
    world.once()
    problems = violations(world.values(), world.axiom, people)
    assert problems == [], "\n".join(problems)
    assert row_of(world, "https://b")["Status"] == "unknown"


@pytest.mark.parametrize("big", [False, True], ids=["whole", "narrow"])
def test_d_a_sort_while_the_claim_is_in_flight_never_sends_a_finished_row(
    world: World, big: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """D: 80 rows a person marked done by hand, a new row at the bottom; the tab is
    sorted while its claim is in flight, so the claim lands 80 rows from its row. On a
    big tab (read narrowly) the row hit may not have been read whole: then it says so."""
    if big:
        monkeypatch.setattr(narrow, "NARROW_FROM_ROWS", 50)
    people = People()
    done = [f"https://done-{i:02}" for i in range(80)]
    rows = typed(people, *done)
    for url, row in zip(done, rows, strict=True):
        people.typed(url, Status="done by hand")
        row.append("done by hand")
    world.sheet([[*HEADER, "Status"], *rows])
    world.config({"mode": "row"})
    world.once()
    world.once()  # handled: on a big tab the next first read is narrow
    sid = world.spreadsheet_id
    world.google.insert_rows(sid, "Queue", 82, values=typed(people, "https://new"))
    hold_write(world, lambda: world.google.sort(sid, "Queue", 1, ascending=False))
    settle(world, people)
    assert sent_urls(world.axiom) == {"https://new": 1}
    untold = [r for r in world.values()[1:] if len(r) > 4 and r[4] == UNTOLD_MESSAGE]
    read_narrowly = len(world.values()) > narrow.NARROW_FROM_ROWS  # (also SHEETSYNC_TEST_NARROW)
    assert len(untold) <= (1 if read_narrowly else 0)
