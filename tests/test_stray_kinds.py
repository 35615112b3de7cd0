"""Rows hit twice by different writes, and put-backs whose miss only a lost answer's
check can find: the row ends showing what it held (or `unknown`), never another row's
result, and a person's row is never sent."""

from __future__ import annotations

from sheetsync.invariants import People, violations
from sheetsync.testing import World
from sheetsync.testing_races import (
    hold_write,
    result_on_a_new_row,
    row_of,
    settle,
    type_above,
    typed,
)

HEADER = ["url", "product"]


def test_a_row_hit_by_a_result_then_by_a_claim_never_keeps_the_result_link(
    world: World,
) -> None:
    """a's result lands on b (typed meanwhile: nothing tells its past). Before b is put
    back, d's claim lands on b (d deleted while its write is held). The claim's stray
    is chained to the first (`chained`) but keeps only the cells the claim wrote
    (status, id): b's put-back writes `unknown`, the message and an id, never the link."""
    people = People()
    link = result_on_a_new_row(world, people)
    sid = world.spreadsheet_id
    type_above(world, people, "https://d")

    def delete_d() -> None:
        world.google.delete_rows(sid, "Queue", 2)
        people.deleted.add("https://d")

    hold_write(world, delete_d)  # d's claim (row 2) lands on b
    for _ in range(3):
        world.once()
    assert row_of(world, "https://b")["Run link"] != link, world.values()
    assert violations(world.values(), world.axiom, people) == []


def test_a_told_stray_hit_again_by_a_lost_write_is_put_back(world: World) -> None:
    """b, a person's row (status 'hold', no id), is hit by a's result (told: 'hold' is
    kept). The next write (b's put-back, e's result) is held while two rows are typed
    above b, and sheetsync is killed: e's result lands on b. The lost answer's check
    tells b's past from the put-back's `before` (the first hit's cells), which `chained`
    would map back to 'hold'; `keep_told=True` drops it instead, the first stray no
    longer `shows` on b (other link) and is marked gone: b keeps e's result for good."""
    people = People()
    people.typed("https://b", product="B", Status="hold")
    rows = [["https://b", "B", "hold"], *typed(people, "https://a", "https://e")]
    world.sheet([[*HEADER, "Status"], *rows])
    world.config({"mode": "row"})
    sid = world.spreadsheet_id

    def type_at(number: int, *urls: str) -> None:
        world.google.insert_rows(sid, "Queue", number, values=typed(people, *urls))

    hold_write(world, lambda: type_at(2, "https://x"), skip=1)  # a's result -> b
    assert row_of(world, "https://b")["Status"] == "triggered"
    hold_write(world, lambda: type_at(2, "https://y", "https://z"), kill=True)
    for _ in range(4):
        world.once()
    b = row_of(world, "https://b")
    assert (b["Status"], b["Run link"]) == ("hold", ""), world.values()


def test_a_put_back_without_id_landing_on_a_new_row_is_found(world: World) -> None:
    """b, a person's row (status 'hold', no id), is hit by a's result (told: 'hold').
    Its put-back writes 'hold' and an empty link but no id (`repair`: the first write
    wrote none). That write is held while z is typed above, and sheetsync is killed: the
    put-back lands on x (typed earlier, not yet claimed). The lost answer's check counts
    x as the row aimed at (`mine`: id left alone, and x's id '' equals the aim's ''), and
    would drop it anyway ("a new row, as it was"): x shows 'hold' for good, never sent."""
    people = People()
    people.typed("https://b", product="B", Status="hold")
    world.sheet([[*HEADER, "Status"], ["https://b", "B", "hold"], *typed(people, "https://a")])
    world.config({"mode": "row"})
    sid = world.spreadsheet_id

    def type_above(url: str) -> None:
        world.google.insert_rows(sid, "Queue", 2, values=typed(people, url))

    hold_write(world, lambda: type_above("https://x"), skip=1)  # a's result (row 3) -> b
    assert row_of(world, "https://b")["Status"] == "triggered", world.values()
    hold_write(world, lambda: type_above("https://z"), kill=True)  # b's put-back -> x
    assert row_of(world, "https://x")["Status"] == "hold", world.values()
    for _ in range(3):
        world.once()
    assert row_of(world, "https://x")["Status"] != "hold", world.values()
    settle(world, people)


def test_a_stray_whose_inputs_a_person_retyped_never_keeps_the_run_link(world: World) -> None:
    """a's result lands on b (typed meanwhile: nothing tells its past); before b is put
    back, the person retypes b's product. The row still shows a's run link: it is the
    stray still, shown `unknown` (type retry to send it), never left with the link."""
    people = People()
    result_on_a_new_row(world, people)
    sid = world.spreadsheet_id
    world.google.set_cell(sid, "Queue", 2, 2, "B2")
    people.typed("https://b", product="B2")
    world.once()
    b = row_of(world, "https://b")
    assert (b["Run link"], b["Status"]) == ("", "unknown"), world.values()
    world.google.set_cell(sid, "Queue", 2, 3, "retry")
    people.retries["https://b"] += 1
    settle(world, people)
    assert world.payloads()[-1][-1][:2] == ["https://b", "B2"]
