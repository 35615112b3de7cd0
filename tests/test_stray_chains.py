"""A row hit twice keeps what it held before the first hit, however the second is found.

The soak (tests/fleet/test_fleet_soak.py, seeds 95639019 and 712183406) ended with a row
showing `triggered` and the run link of the row typed before it, never sent: a result
write landed on a row typed in its place (a stray whose past nothing tells), and a later
write, whose answer a kill lost, landed shifted so that the same result hit the row a
second time. The lost answer's check told that row's past from what the later write's
read saw there (the first mistake) and recorded it over the untold stray, which then
looked put back: the row kept the other row's run link for good.
"""

from __future__ import annotations

from sheetsync.invariants import People, sent_urls
from sheetsync.testing import World
from sheetsync.testing_races import (
    hold_write,
    number_of,
    result_on_a_new_row,
    row_of,
    settle,
    type_above,
)


def test_a_row_hit_twice_by_a_result_never_keeps_it(world: World) -> None:
    people = People()
    link = result_on_a_new_row(world, people)  # b's past is unknown
    sid = world.spreadsheet_id
    # the next write puts b back and writes a's result again; c is typed above meanwhile
    # and sheetsync is killed: the write lands one row high, its answer is lost
    hold_write(world, lambda: type_above(world, people, "https://c"), kill=True)
    assert row_of(world, "https://b")["Run link"] == link, world.values()
    for _ in range(3):
        world.once()
    for url in ("https://b", "https://c"):
        row = row_of(world, url)
        assert row["Run link"] != link, (url, world.values())
        if row["Status"] == "unknown":  # nothing tells what it held: a person decides
            world.google.set_cell(sid, "Queue", number_of(world, url), 3, "retry")
            people.retries[url] += 1
    settle(world, people)
    assert sent_urls(world.axiom) == {"https://a": 1, "https://b": 1, "https://c": 1}
