"""Clock skew of ±10 minutes between instances (FLEET.md's test 7).

A runs 10 minutes ahead, B 10 minutes behind (`SHEETSYNC_TEST_CLOCK_OFFSET`: the wall
clock their engines and journals count in; leases use the database's clock). The same
faults as the takeover and kill tests: A is SIGKILLed mid-POST, B takes over within
lease + poll + one cycle and sends the rows typed since; a third instance C (+10 min)
takes over after B's SIGTERM within a poll + one cycle. Each row goes at most once; only
the row killed mid-POST is `unknown`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime

import pytest

from sheetsync.testing import World
from sheetsync.testing_fleet import ACQUIRE, INTERVAL, LEASE, Fleet, query, wait_for

QUERY = "SELECT triggered_at FROM rows WHERE triggered_at <> ''"
SKEW = 600.0
SLACK = 3.0
"""As in test_fleet_takeover: generous on a loaded machine, far below a clock-bound wait."""


@pytest.fixture
def fleet(world: World, pg_url: str) -> Iterator[Fleet]:
    made = Fleet(world, pg_url)
    try:
        yield made
    finally:
        print(made.close()[-3000:])


@pytest.mark.timeout(120)
def test_skewed_clocks_change_neither_takeover_nor_duplicates(fleet: Fleet) -> None:
    world = fleet.world
    (sid,) = fleet.spreadsheets(1, rows=2)
    fleet.configure()
    a = fleet.start("a", offset=SKEW)
    wait_for(lambda: fleet.holder(sid) is a, 30, "a holding the spreadsheet")
    wait_for(lambda: fleet.all_final([sid]), 30, "a sending the first rows")
    b = fleet.start("b", offset=-SKEW)
    hold = threading.Event()
    post = world.axiom.add_fault(path="/trigger", hold=hold, phase="after", count=1)
    lost = fleet.add_row(sid, "mid-post")
    assert post.arrived.wait(30), "a's POST never reached axiom"
    killed = a.kill()
    hold.set()
    typed = [fleet.add_row(sid, f"after-kill-{i}") for i in range(2)]
    wait_for(lambda: fleet.holder(sid) is b, LEASE + 15, "b taking over")
    first = wait_for(lambda: fleet.reads_after(killed).get(sid), 10, "b's first cycle")
    wait_for(lambda: fleet.all_final([sid]), 30, "b sending the rows typed since")
    c = fleet.start("c", offset=SKEW)
    wait_for(lambda: sum(i.alive() for i in fleet.instances) == 2, 5, "c running")
    time.sleep(1.5)  # c is up and polling
    stopped = time.time()
    assert b.stop() == 0
    exited = time.time()
    wait_for(lambda: fleet.holder(sid) is c, 10, "c taking over")
    again = wait_for(lambda: fleet.reads_after(exited).get(sid), 10, "c's first cycle")
    last = fleet.add_row(sid, "after-stop")
    wait_for(lambda: fleet.all_final([sid]), 30, "c sending")
    assert c.stop() == 0

    statuses = fleet.statuses(sid)
    stamps = [datetime.fromisoformat(t) for (t,) in query(fleet.url, QUERY)]
    spread = (max(stamps) - min(stamps)).total_seconds()
    assert spread > SKEW  # the instances did count in clocks 20 minutes apart
    print(
        f"\nskew ±{SKEW:g} s: SIGKILL -> b's first cycle {first - killed:.2f} s; "
        f"SIGTERM -> c's first cycle {again - stopped:.2f} s; POSTs {dict(fleet.sent())}; "
        f"triggered_at spread {spread:.0f} s"
    )
    assert first - killed < LEASE + ACQUIRE * 1.2 + INTERVAL + SLACK
    assert again - stopped < ACQUIRE * 1.2 + INTERVAL + SLACK
    assert fleet.sent() == dict.fromkeys(statuses, 1)  # every row once, the lost one too
    assert {u for u, s in statuses.items() if s == "unknown"} == {lost}
    assert all(statuses[u] == "triggered" for u in [*typed, last])
