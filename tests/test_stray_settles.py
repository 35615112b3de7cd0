"""A stray's record ends: a row a write hit by mistake never stays blocked for good.

The soak (tests/fleet/test_fleet_soak.py) left rows unsent for good when a mistaken write
changed nothing on the row it hit (a put-back landing on a neighbour that held the same
cells): the row still showed what that write left, so it was a stray on every read, put
back (to what it already showed) and never sent.
"""

from __future__ import annotations

from sheetsync.core.landing import Stray
from sheetsync.core.plan import fingerprint
from sheetsync.testing import World

HEADER = ["url", "product", "Status", "Run link", "Message", "sheetsync id"]


def test_a_stray_its_write_left_as_it_was_is_dropped_and_its_row_sent(world: World) -> None:
    world.sheet([HEADER, ["https://a", "A"]])
    world.config({"mode": "row"})
    journal = world.runtime().journal
    empty = (("status", ""), ("link", ""), ("message", ""))
    journal.add_strays(
        "w0", [Stray("", fingerprint(["https://a", "A"]), empty, empty)], (), world.clock()
    )
    world.once()
    world.once()
    assert world.row(2)["Status"] == "triggered"
    assert journal.strays("w0") == []
