"""SIGKILL at every step of a cycle, two `sheetsync run` instances (FLEET.md's test 3).

One spreadsheet, two live instances at all times: the holder is stopped at a step by an
emulator hold, SIGKILLed there, its peer takes the spreadsheet over when the lease
expires, and a fresh instance becomes the new peer. Each step acts on a row of its own.
Then: at most one POST per row (the axiom emulator's log), every row final, and
`unknown` exactly for the rows killed after `sending` was committed (mark sending: the
POST never reached axiom; mid-POST: it did, its answer never came back).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from functools import partial

import pytest

from sheetsync.emulator._http import EmulatorServer
from sheetsync.emulator.faults import Fault
from sheetsync.testing import World
from sheetsync.testing_fleet import Fleet, Instance, wait_for

WRITE = r"values:batchUpdate$"


def held(server: EmulatorServer, path: str, **kw: object) -> Fault:
    return server.add_fault(path=path, hold=threading.Event(), count=1, **kw)


def steps(world: World, sid: str) -> dict[str, Callable[[], Fault]]:
    """Each step's hold, on this spreadsheet's requests (a row is typed after it is set)."""
    google, axiom = world.google, world.axiom
    return {
        "read": lambda: held(google, rf"{sid}/values:batchGet$"),
        "claim": lambda: held(google, rf"{sid}/{WRITE}"),  # claimed; write 1 never lands
        "write 1": lambda: held(google, rf"{sid}/{WRITE}", phase="after"),
        "mark sending": lambda: held(axiom, "/trigger", drop=True),  # never reaches axiom
        "mid-POST": lambda: held(axiom, "/trigger", phase="after"),
        "outcome": lambda: held(google, rf"{sid}/{WRITE}", skip=1),  # write 2 never lands
        "write 2": lambda: held(google, rf"{sid}/{WRITE}", phase="after", skip=1),
    }


@pytest.fixture
def fleet(world: World, pg_url: str) -> Iterator[Fleet]:
    made = Fleet(world, pg_url)
    try:
        yield made
    finally:
        print(made.close()[-3000:])


def newer(fleet: Fleet, sid: str, epoch: int) -> bool:
    return fleet.leases()[sid][1] > epoch


def settled(fleet: Fleet, sid: str, peers: int = 2) -> Instance:
    """Wait until a live instance holds `sid`, every row is final, `peers` instances live;
    then a quiet moment (the new holder's first cycle re-projects the rows)."""
    holder: Instance = wait_for(lambda: fleet.holder(sid), 30, "a live holder")
    wait_for(lambda: fleet.all_final([sid]), 30, f"final rows: {fleet.statuses(sid)}")
    wait_for(lambda: sum(i.alive() for i in fleet.instances) == peers, 5, "two live")
    time.sleep(0.6)
    return holder


@pytest.mark.timeout(240)
def test_kill_at_every_step_with_two_instances(fleet: Fleet) -> None:
    world = fleet.world
    (sid,) = fleet.spreadsheets(1, rows=1)
    fleet.configure(timeout_seconds=1)  # a former holder's claim waits 5 + 1 s at most
    fleet.start("a")
    wait_for(lambda: fleet.holder(sid), 30, "a holding the spreadsheet")
    fleet.start("b")
    rows: dict[str, str] = {}
    takeovers: list[float] = []
    for step, hold in steps(world, sid).items():
        victim = settled(fleet, sid)
        epoch = fleet.leases()[sid][1]
        fault = hold()
        rows[step] = fleet.add_row(sid, step.replace(" ", "-"))
        assert fault.arrived.wait(30), f"{step}: the hold was never reached"
        assert fleet.holder(sid) is victim
        killed = victim.kill()
        world.google.clear_faults()
        world.axiom.clear_faults()
        fleet.start(f"after {step}")
        wait_for(partial(newer, fleet, sid, epoch), 30, f"{step}: a takeover")
        takeovers.append(time.time() - killed)
    settled(fleet, sid)
    for instance in fleet.instances:
        if instance.alive():
            assert instance.stop() == 0

    sent = fleet.sent()
    statuses = fleet.statuses(sid)
    print(f"\ntakeover after each kill (s): {[round(t, 2) for t in takeovers]}")
    print(f"POSTs per row: {dict(sent)}\nstatuses: {statuses}")
    assert all(n == 1 for n in sent.values()), sent
    assert set(statuses.values()) <= {"triggered", "unknown"}
    unknown = {url for url, s in statuses.items() if s == "unknown"}
    assert unknown == {rows["mark sending"], rows["mid-POST"]}
    assert rows["mark sending"] not in sent  # its POST never reached axiom: never re-sent
    assert set(sent) == set(statuses) - {rows["mark sending"]}
