"""Issue 14 point 1: a big tab read whole to recover from a crash is kept lean too.

A cycle that finds a claim not yet seen on its row (a crash came between the claim and
its write, or the write landed where people moved rows) reads the tab whole, as ever.
Of a big tab it keeps whole the rows that may be new (as a first read does) and the rows
showing the id of a claim to check or of a row not settled (`Store.ids_to_check`); of
every other row, its status, id and result cells. Each scenario here runs twice, on a
tab that is big (from 50 rows) and on one kept whole (big from 10**6 rows), and must end
the same: same sends, same result cells, same journal states.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import sheetsync.core.narrow
import sheetsync.cycle.reading
from sheetsync.core.first_read import lean_views
from sheetsync.core.plan import fingerprint
from sheetsync.core.view import NarrowTable, View
from sheetsync.invariants import sent_urls
from sheetsync.testing import AUTOMATION, World

HEADER = ["url", "product", "Status", "Run link", "Message", "sheetsync id"]
HANDLED = 120


def handled(i: int) -> list[str]:
    return [f"https://{i}", f"P{i}", "triggered", f"https://run/{i}", "", f"r{i:011d}"]


@dataclass
class Ending:
    """What a scenario left: sends, each row's inputs and result cells, journal states."""

    sent: Counter[str]
    rows: list[tuple[object, ...]]
    states: dict[str, int]
    views: list[View]


def run(
    world: World, monkeypatch: pytest.MonkeyPatch, big_from: int, crash: Callable[[World], None]
) -> Ending:
    """Serve the tab once, let `crash` leave claims behind, then one new process's cycle."""
    monkeypatch.setattr(sheetsync.core.narrow, "NARROW_FROM_ROWS", big_from)
    kept: list[View] = []

    def spying(rows: Iterator[list[str]], watches: Any) -> dict[str, View]:
        views = lean_views(rows, watches)
        kept.extend(views.values())
        return views

    monkeypatch.setattr(sheetsync.cycle.reading, "lean_views", spying)
    world.sheet([HEADER, *[handled(i) for i in range(HANDLED)]])
    world.config({"mode": "row"})
    world.once()
    crash(world)
    world.close_runtime()  # a new process, as after the crash
    world.past_grace()  # PostgreSQL: the dead process's claims are not kept as a zombie's
    kept.clear()
    world.once()
    # a run's link is the emulator's own each time: only whether a row shows one
    rows = [(*r[:3], bool(r[3]), *r[4:5]) for r in world.values()[1:]]
    return Ending(sent_urls(world.axiom), rows, world.runtime().journal.counts("w0"), kept)


def claim(world: World, row_id: str, inputs: list[str]) -> None:
    """A claim committed to the journal whose claim write was never made."""
    journal = world.runtime().journal
    journal.claim("w0", [(row_id, fingerprint(inputs), AUTOMATION)], world.clock.now)


def lost_claims(world: World) -> None:
    """Two new rows typed, claimed, then the crash: no row shows either claim."""
    for number, url in ((HANDLED + 2, "https://n1"), (HANDLED + 3, "https://n2")):
        world.google.set_cell(world.spreadsheet_id, "Queue", number, 1, url)
        world.google.set_cell(world.spreadsheet_id, "Queue", number, 2, "N")
        claim(world, f"c-{url[-2:]}", [url, "N"])


def misplaced_claim(world: World) -> None:
    """A claim whose write landed on a handled row (people moved rows meanwhile): that
    row shows its id beside other inputs and a status a person typed; its own row, new."""
    lost_claims(world)
    for col, value in ((3, "done by hand"), (6, "c-n1")):
        world.google.set_cell(world.spreadsheet_id, "Queue", 30, col, value)


def lean_and_whole(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    happen: Callable[[World], None],
) -> list[Ending]:
    """`run` on a tab big from 50 rows (kept lean), then on one kept whole."""
    endings = []
    for big_from in (50, 10**6):
        world = World.start(tmp_path_factory.mktemp(f"big{big_from}"))
        try:
            endings.append(run(world, monkeypatch, big_from, happen))
        finally:
            world.stop()
    return endings


@pytest.mark.sqlite_only(
    "a new process keeps the read plan on SQLite only; on PostgreSQL every start is a"
    " takeover that drops it (FLEET.md): test_a_crash_after_a_takeover_keeps_the_tab_lean_too"
)
@pytest.mark.parametrize("crash", [lost_claims, misplaced_claim])
def test_a_crash_on_a_big_tab_keeps_lean_and_ends_as_a_whole_read_does(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    crash: Callable[[World], None],
) -> None:
    lean, whole = lean_and_whole(tmp_path_factory, monkeypatch, crash)
    [view] = lean.views
    assert isinstance(view.table, NarrowTable)
    expected = {HANDLED + 2, HANDLED + 3} | ({30} if crash is misplaced_claim else set())
    assert view.known == expected  # the new rows, and the row showing a claim to check
    assert all(v.known is None for v in whole.views)
    assert lean.sent == whole.sent == Counter({"https://n1": 1, "https://n2": 1})
    assert lean.rows == whole.rows
    assert lean.states == whole.states


@pytest.mark.sqlite_only(
    "World.config restarts the process: on PostgreSQL a takeover, whose plans are dropped"
    " (FLEET.md); the daemon's reload, which keeps them, is not what World does"
)
def test_a_first_read_beside_a_narrow_one_is_its_own_lean_request(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A watch added on a big tab of a served spreadsheet: its tab is read whole in a
    request of its own (walked by rows, kept lean), the served tab by its plan; the
    first read costs one request more, the rest of the cycle as ever."""
    monkeypatch.setattr(sheetsync.core.narrow, "NARROW_FROM_ROWS", 50)
    kept: list[View] = []

    def spying(rows: Iterator[list[str]], watches: Any) -> dict[str, View]:
        views = lean_views(rows, watches)
        kept.extend(views.values())
        return views

    monkeypatch.setattr(sheetsync.cycle.reading, "lean_views", spying)
    served = [handled(i) for i in range(HANDLED)]
    added = [handled(1000 + i) for i in range(HANDLED)] + [["https://new", "N"]]
    tabs = {"Queue": [HEADER, *served], "Added": [HEADER, *added]}
    world.spreadsheet_id = world.google.create_spreadsheet("Queue", tabs)
    world.config({"mode": "row"})
    world.once()
    world.config({"mode": "row"}, {"mode": "row", "worksheet": "Added"})
    kept.clear()
    world.google.reset_counters()
    start = len(world.google.log)
    world.once()

    [view] = kept
    assert isinstance(view.table, NarrowTable) and view.known == {HANDLED + 2}
    ranges = [r.query["ranges"] for r in world.google.log[start:] if "batchGet" in r.path]
    assert ranges[1] == ["'Added'"] and "'Added'" not in ranges[0]  # narrow, then whole
    assert world.google.reads() == 3 and world.google.writes() == 2
    assert sent_urls(world.axiom) == Counter({"https://new": 1})
    assert world.row(HANDLED + 2, "Added")["Status"] == "triggered"


def takeover(world: World) -> None:
    """Claims left behind, then a new holder's recovery (read plans dropped)."""
    lost_claims(world)
    journal = world.runtime().journal
    for unit in journal.held():
        journal.recover_unit(unit, world.clock.now)


def test_a_crash_after_a_takeover_keeps_the_tab_lean_too(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A takeover drops the plans: its first cycle reads the tab whole, keeps it lean (the
    rows of the claims to check whole) and compares every row's result cells with the
    journal (`core.reprojection`); it ends as a tab kept whole does."""
    lean, whole = lean_and_whole(tmp_path_factory, monkeypatch, takeover)
    [view] = lean.views
    assert isinstance(view.table, NarrowTable) and view.known == {HANDLED + 2, HANDLED + 3}
    assert all(v.known is None for v in whole.views)
    assert lean.sent == whole.sent == Counter({"https://n1": 1, "https://n2": 1})
    assert lean.rows == whole.rows
    assert lean.states == whole.states
