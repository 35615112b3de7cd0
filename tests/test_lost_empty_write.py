"""A write whose answer a kill lost that left the id alone and wrote only empty cells (a
person's note cleared from a handled row's message) is looked for by its id only: a new
row typed meanwhile shows those (empty) cells too and is never taken for a stray (it was
shown `unknown`, never sent)."""

from __future__ import annotations

from sheetsync.invariants import People, violations
from sheetsync.testing import World
from sheetsync.testing_races import hold_write, row_of, settle, typed

HEADER = ["url", "product"]


def test_a_lost_write_of_empty_cells_leaves_a_new_row_alone(world: World) -> None:
    people = People()
    world.sheet([HEADER, *typed(people, "https://a")])
    world.config({"mode": "row"})
    world.axiom.script(["started", "started"])
    sid = world.spreadsheet_id
    for _ in range(3):
        world.once()
    a = row_of(world, "https://a")
    assert a["Status"] == "triggered", world.values()
    header = world.values()[0]
    col = header.index("Message") + 1
    world.google.set_cell(sid, "Queue", 2, col, "a note of mine")

    def type_new() -> None:
        world.google.insert_rows(sid, "Queue", 3, values=typed(people, "https://new"))

    hold_write(world, type_new, skip=0, kill=True)  # the write clearing the note
    world.once()
    new = row_of(world, "https://new")
    assert new["Status"] != "unknown", world.values()
    problems = violations(world.values(), world.axiom, people)
    assert problems == [], "\n".join(problems) + f"\n{world.values()}"
    settle(world, people)
