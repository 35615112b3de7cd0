"""A zombie claim write, with real `sheetsync run` processes (FLEET.md's test 4).

A claims a new row (committed) and its claim write (`sending` + the claim's id) is held
by the Sheets emulator; A's database is black-holed (TcpProxy), so A can neither renew
nor commit. B takes the spreadsheet over, keeps A's unfound claim for the grace period,
then gives it up (a tombstone), claims the row anew and sends it. Only then is A's
write released: it lands on the row B has sent. B must not take that row for a new one:
0 duplicates, and every row shows its own result.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from sheetsync.testing import World
from sheetsync.testing_fleet import LEASE, Fleet, wait_for
from sheetsync.testing_proxy import Mode

TIMEOUT = 1.0
"""`[google] timeout_seconds`: B's grace period is Sheets' connect timeout + this."""


@pytest.fixture
def fleet(world: World, pg_url: str) -> Iterator[Fleet]:
    made = Fleet(world, pg_url)
    try:
        yield made
    finally:
        print(made.close()[-3000:])


@pytest.mark.timeout(150)
def test_a_zombie_claim_write_is_never_sent_again(fleet: Fleet) -> None:
    world = fleet.world
    (sid,) = fleet.spreadsheets(1, rows=1)
    fleet.configure(timeout_seconds=TIMEOUT)
    proxy = fleet.proxy()
    a = fleet.start("a", proxy=proxy)
    wait_for(lambda: fleet.holder(sid) is a, 30, "a holding the spreadsheet")
    wait_for(lambda: fleet.all_final([sid]), 30, "the first row triggered")
    b = fleet.start("b")
    hold = threading.Event()
    write = world.google.add_fault(path=rf"{sid}/values:batchUpdate$", hold=hold, count=1)
    url = fleet.add_row(sid, "zombie")
    assert write.arrived.wait(30), "a's claim write never left"
    proxy.set_mode(Mode.BLACKHOLE)
    blackholed = time.time()
    wait_for(lambda: fleet.holder(sid) is b, LEASE + 15, "b taking over")
    wait_for(lambda: fleet.statuses(sid).get(url) == "triggered", 60, "b sending the row")
    sent_by_b = time.time()
    hold.set()  # A's claim write lands now, on the row B sent
    warned = "not sent again"  # B's next cycle sees the row showing A's abandoned claim
    wait_for(lambda: warned in b.process.log(), 10, "b's warning about the zombie row")
    time.sleep(1.0)  # a few more of B's cycles: none sends it, none warns again
    proxy.set_mode(Mode.PASS)
    time.sleep(LEASE)  # healed, A learns it lost the spreadsheet; B cycles on
    assert fleet.sent() == {url: 1, "https://shop.example/s0/0": 1}  # 0 duplicates
    values = world.google.values(sid, "Queue")
    rows = {row[0]: dict(zip(values[0], row, strict=False)) for row in values[1:]}
    zombie_warnings = sum("not sent again" in line for line in b.process.lines())
    print(f"\nb sent the row {sent_by_b - blackholed:.1f} s after the partition; rows: {rows}")
    print(f"b's 'not sent again' warnings: {zombie_warnings}")
    assert rows[url]["product"] == "zombie"  # the row is where it was, inputs untouched
    assert zombie_warnings == 1  # once, not every cycle
    assert rows[url]["Status"] == "triggered"  # the live claim's id taken back: its result
    assert "axiom.ai" in rows[url]["Run link"]
