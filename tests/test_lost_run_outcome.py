"""A tracked run's outcome is written alone (`Run status`: the id left alone, no status,
no link). Its answer lost to a kill, it is looked for on the rows without an id too: a
person's row (a typed status, no id) that took its place meanwhile never keeps another
row's run outcome (nothing tells what it showed: it is shown `unknown`, and why)."""

from __future__ import annotations

from sheetsync.invariants import People, violations
from sheetsync.testing import AUTOMATION, World
from sheetsync.testing_races import hold_write, row_of, typed

HEADER = ["url", "product"]


def test_a_lost_run_outcome_on_a_persons_row_is_put_back(world: World) -> None:
    people = People()
    world.sheet([HEADER, *typed(people, "https://a")])
    world.config({"track_runs": True})
    world.axiom.set_run_statuses(AUTOMATION, ["Running", "Success"])
    world.once()
    assert row_of(world, "https://a")["Run status"] == "running", world.values()
    world.clock.advance(5)
    world.once()
    sid = world.spreadsheet_id
    world.clock.advance(10)

    def person_types_above() -> None:
        people.typed("https://human", product="H", Status="done")
        world.google.insert_rows(sid, "Queue", 2, values=[["https://human", "H", "done"]])

    hold_write(world, person_types_above, skip=0, kill=True)  # a's "success" -> human
    assert row_of(world, "https://human")["Run status"] == "success", world.values()
    for _ in range(6):
        world.once()
        world.clock.advance(600)
    assert row_of(world, "https://a")["Run status"] == "success", world.values()
    problems = violations(world.values(), world.axiom, people)
    assert problems == [], "\n".join(problems)
    assert row_of(world, "https://human")["Run status"] == "", world.values()
