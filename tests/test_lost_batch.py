"""A batch's result write whose answer a kill lost: its rows all show one run link, and
each is its own row's landing, never another's stray (they were put back to `sending`
for a cycle, and each row's check walked the whole tab: a 2,000-row batch, 4 million
looks)."""

from __future__ import annotations

import pytest

import sheetsync.cycle.landings
from sheetsync.invariants import People, sent_urls
from sheetsync.testing import World
from sheetsync.testing_races import hold_write, settle, typed

HEADER = ["url", "product"]


def test_a_lost_batch_result_leaves_every_row_as_written(world: World) -> None:
    people = People()
    urls = [f"https://r/{i}" for i in range(3)]
    world.sheet([HEADER, *typed(people, *urls)])
    world.config({"mode": "batch"})
    hold_write(world, lambda: None, skip=1, kill=True)
    written = world.values()
    assert {r[2] for r in written[1:]} == {"triggered"} and len({r[3] for r in written[1:]}) == 1
    world.once()
    assert world.values() == written
    assert world.runtime().journal.strays("w0") == []
    settle(world, people)
    assert sent_urls(world.axiom) == dict.fromkeys(urls, 1)


def test_a_lost_batch_result_is_checked_in_one_walk_of_the_tab(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = People()
    world.sheet([HEADER, *typed(people, *(f"https://r/{i}" for i in range(300)))])
    world.config({"mode": "batch"})
    hold_write(world, lambda: None, skip=1, kill=True)
    looks: list[int] = []
    owned = sheetsync.cycle.landings.Places._owned

    def counting(self: sheetsync.cycle.landings.Places, row: list[str]) -> bool:
        looks.append(1)
        return owned(self, row)

    monkeypatch.setattr(sheetsync.cycle.landings.Places, "_owned", counting)
    world.once()
    assert 0 < len(looks) <= 300  # once a row showing a link, not once per row written
    settle(world, people)
