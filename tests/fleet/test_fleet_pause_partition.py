"""A paused leader and a partitioned one, as real `sheetsync run` processes (FLEET.md's
tests 5 and 6).

Paused: A's POST is on its way (held by the axiom emulator, `sending` committed) when A is
SIGSTOPped for three leases; B takes the spreadsheet over and shows the row `unknown`;
SIGCONT, the POST lands: exactly one POST, A's outcome commit is refused (the fence), the
answer goes to the late-outcome mailbox and the new holder shows the row `triggered` with
its link.

Partitioned: A reaches the database through a black-holing proxy. After B's takeover no
commit comes from A (an audit trigger records each commit's `application_name`) until A
re-acquires, which it does only with a new epoch after healing. A cycles every half
second, so the partition usually catches a transaction of its open: B's takeover must not
wait for it longer than the fence's idle limit (`pg_takeover`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from sheetsync.testing import World
from sheetsync.testing_fleet import LEASE, Fleet, query, wait_for
from sheetsync.testing_proxy import Mode


@pytest.fixture
def fleet(world: World, pg_url: str) -> Iterator[Fleet]:
    made = Fleet(world, pg_url)
    try:
        yield made
    finally:
        print(made.close()[-3000:])


@pytest.mark.timeout(120)
def test_a_paused_leader_sends_once_and_its_late_answer_lands(fleet: Fleet) -> None:
    world = fleet.world
    (sid,) = fleet.spreadsheets(1, rows=1)
    fleet.configure()
    a = fleet.start("a")
    wait_for(lambda: fleet.holder(sid) is a, 30, "a holding the spreadsheet")
    wait_for(lambda: fleet.all_final([sid]), 30, "the first row triggered")
    b = fleet.start("b")
    hold = threading.Event()
    post = world.axiom.add_fault(path="/trigger", hold=hold, count=1)  # before axiom acts
    url = fleet.add_row(sid, "paused")
    assert post.arrived.wait(30), "a's POST never left"
    epoch = fleet.leases()[sid][1]
    a.pause()
    paused = time.time()
    wait_for(lambda: fleet.holder(sid) is b, 3 * LEASE + 10, "b taking over")
    wait_for(lambda: fleet.statuses(sid)[url] == "unknown", 10, "b showing the row unknown")
    time.sleep(max(0.0, paused + 3 * LEASE - time.time()))  # three leases in all
    a.resume()
    hold.set()  # the POST A sent before its pause reaches axiom now
    wait_for(lambda: fleet.statuses(sid)[url] == "triggered", 30, "the late answer applied")
    assert fleet.leases()[sid] == (b.pid, epoch + 1)
    assert fleet.sent() == {url: 1, "https://shop.example/s0/0": 1}
    row = next(r for r in world.google.values(sid, "Queue")[1:] if r[0] == url)
    assert any("axiom.ai" in cell for cell in row), row  # its link
    late = "late answer(s) of its"  # "previous holder"/"former holder applied"
    wait_for(lambda: late in b.process.log(), 10, "b's line about the late answer")
    assert query(fleet.url, "SELECT count(*) FROM late_outcomes") == [(0,)]
    print(f"\nrow after the pause: {row}")


def acquired(fleet: Fleet, sid: str) -> object:
    """When (the database's clock) the spreadsheet's current lease was taken."""
    return query(fleet.url, "SELECT acquired_at FROM leases WHERE unit = %s", sid)[0][0]


AUDIT = """
CREATE TABLE audit (app TEXT, at TIMESTAMPTZ, tbl TEXT);
CREATE FUNCTION audited() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit VALUES (current_setting('application_name'), clock_timestamp(),
                              TG_TABLE_NAME);
    RETURN NULL;
END $$;
CREATE TRIGGER rows_audit AFTER INSERT OR UPDATE OR DELETE ON rows
    FOR EACH STATEMENT EXECUTE FUNCTION audited();
CREATE TRIGGER events_audit AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION audited();
"""


@pytest.mark.timeout(120)
def test_a_partitioned_holder_commits_nothing_until_it_reacquires(fleet: Fleet) -> None:
    (sid,) = fleet.spreadsheets(1, rows=1)
    config = fleet.configure()
    query(fleet.url, AUDIT)
    proxy = fleet.proxy()
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace(fleet.url, fleet.url + "?application_name=a"), "utf-8")
    a = fleet.start("a", proxy=proxy)
    config.write_text(text.replace(fleet.url, fleet.url + "?application_name=b"), "utf-8")
    wait_for(lambda: fleet.holder(sid) is a, 30, "a holding the spreadsheet")
    wait_for(lambda: fleet.all_final([sid]), 30, "the first row triggered")
    b = fleet.start("b")
    epoch = fleet.leases()[sid][1]
    proxy.set_mode(Mode.BLACKHOLE)  # whatever a is doing (a transaction may be open)
    wait_for(lambda: fleet.holder(sid) is b, LEASE + 15, "b taking over")
    took = acquired(fleet, sid)
    urls = [fleet.add_row(sid, f"partitioned-{i}") for i in range(2)]
    wait_for(lambda: fleet.all_final([sid]), 30, "b sending the rows typed meanwhile")
    proxy.set_mode(Mode.PASS)
    time.sleep(2 * LEASE)  # A learns it lost; it must not write anything
    assert fleet.leases()[sid] == (b.pid, epoch + 1)
    assert b.stop() == 0
    wait_for(lambda: fleet.holder(sid) is a, LEASE + 15, "a re-acquiring after healing")
    retook = acquired(fleet, sid)
    back = fleet.add_row(sid, "healed")
    wait_for(lambda: fleet.all_final([sid]), 30, "a sending again")
    assert a.alive()

    (a_epoch,) = [e for u, (_, e) in fleet.leases().items() if u == sid]
    assert a_epoch == epoch + 2  # a new epoch, never its old one
    sql = "SELECT count(*) FROM audit WHERE app = %s AND at >= %s AND at < %s"
    (quiet,) = query(fleet.url, sql, "a", took, retook)[0]
    (others,) = query(fleet.url, sql, "b", took, retook)[0]
    (after,) = query(fleet.url, "SELECT count(*) FROM audit WHERE app = 'a' AND at >= %s", retook)[
        0
    ]
    print(
        f"\nepochs: a {epoch} -> b {epoch + 1} -> a {a_epoch}; statements committed while b held"
        f" it: a {quiet}, b {others}; a's after it re-acquired: {after}"
    )
    assert quiet == 0 and others > 0 and after > 0
    assert fleet.sent() == {"https://shop.example/s0/0": 1, **dict.fromkeys([*urls, back], 1)}
