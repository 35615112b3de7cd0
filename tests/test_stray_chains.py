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
from sheetsync.testing_races import hold_write, number_of, row_of, settle, typed

HEADER = ["url", "product"]


def test_a_row_hit_twice_by_a_result_never_keeps_it(world: World) -> None:
    people = People()
    world.sheet([HEADER, *typed(people, "https://a")])
    world.config({"mode": "row"})
    sid = world.spreadsheet_id

    def type_above(url: str) -> None:
        world.google.insert_rows(sid, "Queue", 2, values=typed(people, url))

    # a's result write lands on b, typed above a meanwhile: b's past is unknown
    hold_write(world, lambda: type_above("https://b"), skip=1)
    link = row_of(world, "https://b")["Run link"]
    assert link and row_of(world, "https://a")["Run link"] == ""
    # the next write puts b back and writes a's result again; c is typed above meanwhile
    # and sheetsync is killed: the write lands one row high, its answer is lost
    hold_write(world, lambda: type_above("https://c"), kill=True)
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
