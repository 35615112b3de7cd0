"""A write whose answer a kill lost, that left the id alone and wrote no run link (an
error or queued result: status and message only), lands on a row typed above its row:
the rows without an id are among its possible landings, so the row hit is found and put
back (else it showed another row's status for good and was never sent). `started`
writes a link: the control."""

from __future__ import annotations

import pytest

from sheetsync.invariants import People, violations
from sheetsync.testing import World
from sheetsync.testing_races import hold_write, row_of, settle, typed

HEADER = ["url", "product"]


@pytest.mark.parametrize("outcome", ["started", "error", "queued"])
def test_a_lost_result_without_link_landing_on_a_row_typed_above_is_put_back(
    world: World, outcome: str
) -> None:
    people = People()
    world.sheet([HEADER, *typed(people, "https://a")])
    world.config({"mode": "row"})
    world.axiom.script([outcome])
    sid = world.spreadsheet_id

    def type_above() -> None:
        world.google.insert_rows(sid, "Queue", 2, values=typed(people, "https://x"))

    hold_write(world, type_above, skip=1, kill=True)  # a's result (row 2) -> x
    x = row_of(world, "https://x")
    assert x["Status"] not in ("", "sending"), world.values()  # the write hit x
    for _ in range(6):  # whole reads and reprojections: x holds no id, none touch it
        world.once()
        world.clock.advance(600)
    problems = violations(world.values(), world.axiom, people)
    assert problems == [], "\n".join(problems) + f"\n{world.values()}"
    settle(world, people)
