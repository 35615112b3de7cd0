"""Test helpers for races between a person's edits and sheetsync's writes: a person types
rows, one Sheets write is held in the emulator while the person edits (and sheetsync may
be killed meanwhile), then every invariant of `sheetsync.invariants` is checked."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sheetsync.invariants import People, violations
from sheetsync.testing import World

WAIT = 20.0
WRITE = r"values:batchUpdate$"


def typed(people: People, *urls: str) -> list[list[str]]:
    """Rows a person types: a url and a product each, recorded in `people`."""
    rows = []
    for url in urls:
        product = url.rsplit("/", 1)[-1].upper()
        people.typed(url, product=product)
        rows.append([url, product])
    return rows


def hold_write(
    world: World, edit: Callable[[], None], *, skip: int = 0, kill: bool = False
) -> None:
    """One cycle whose `skip`-th values write (0: the claims) waits until `edit` is done;
    with `kill`, sheetsync is killed while the write is held: its answer is lost (the
    write itself still goes through, as it may)."""
    hold = threading.Event()
    fault = world.google.add_fault(path=WRITE, method="POST", hold=hold, count=1, skip=skip)
    thread = threading.Thread(target=world.once)
    thread.start()
    assert fault.arrived.wait(WAIT), "the write never came"
    edit()
    if kill:
        world.crash()
    hold.set()
    thread.join(WAIT)
    assert not thread.is_alive(), "the cycle did not finish"


def settle(world: World, people: People, cycles: int = 4) -> None:
    """A few quiet cycles, then every invariant holds and every row has a final status."""
    world.past_grace()  # PostgreSQL: claims not found are given up, as a settled process does
    for _ in range(cycles):
        world.once()
    problems = violations(world.values(), world.axiom, people, settled=True)
    assert problems == [], "\n".join(problems)


def number_of(world: World, url: str) -> int:
    """The row number showing `url` in its first column."""
    for number, row in enumerate(world.values()[1:], start=2):
        if row and row[0] == url:
            return number
    raise AssertionError(f"{url} is not on the sheet")


def row_of(world: World, url: str) -> dict[str, str]:
    """The row showing `url`, by header."""
    return world.row(number_of(world, url))


def type_above(world: World, people: People, url: str) -> None:
    """A person types a row at the top of the tab (row 2), the other rows moving down."""
    world.google.insert_rows(world.spreadsheet_id, "Queue", 2, values=typed(people, url))


def result_on_a_new_row(world: World, people: People) -> str:
    """Row mode, one row `https://a`; a's result write lands on `https://b`, typed above
    it while the write was held (nothing tells b's past). The run link b shows."""
    world.sheet([["url", "product"], *typed(people, "https://a")])
    world.config({"mode": "row"})
    hold_write(world, lambda: type_above(world, people, "https://b"), skip=1)
    link = row_of(world, "https://b")["Run link"]
    assert link and row_of(world, "https://a")["Run link"] == "", world.values()
    return link
