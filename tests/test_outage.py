"""An axiom outage against a backlog, on the world's fake clock: at most one row per key
per outage becomes `unknown`, the rest wait unsent and go once each when axiom is back."""

from __future__ import annotations

from collections import Counter

from sheetsync.adapters import pacing
from sheetsync.adapters.axiom import outage
from sheetsync.testing import World

HEADER = ["url", "product"]
ROWS = [[f"https://shop.example/{i}", f"P{i}"] for i in range(1, 51)]
BUSY = {"status": "error", "message": "Server busy, please try again in a few seconds."}


def cycles(world: World, seconds: float, step: float = 5.0) -> None:
    """A cycle every `step` seconds for `seconds` (fake time), as the daemon would run them."""
    for _ in range(int(seconds // step)):
        world.once()
        world.clock.advance(step)


def trigger_posts(world: World) -> int:
    return len(world.axiom.requests_matching("/trigger$", "POST"))


def test_a_gateway_answering_504_for_a_minute_costs_one_row(world: World) -> None:
    """504 to every call for 60 s while 50 rows are new: exactly one trigger POST before
    recovery, that row unknown, the 49 others waiting (never `sending`), then each of
    them triggered exactly once."""
    world.sheet([HEADER, *ROWS])
    world.config({"mode": "row"})
    world.axiom.add_fault(path=".*", status=504)
    cycles(world, 60)
    assert trigger_posts(world) == 1
    assert Counter(world.column("Status")) == Counter({"unknown": 1, "waiting": 49})
    unknown = world.column("Status").index("unknown")
    assert "HTTP 504" in world.column("Message")[unknown]
    assert "run history" in world.column("Message")[unknown]
    probes = len(world.axiom.requests_matching("/list-automations$"))
    assert 1 <= probes <= 3  # spaced out: 10 s after the close, then doubling

    world.axiom.clear_faults()
    cycles(world, 60)
    assert Counter(world.column("Status")) == Counter({"unknown": 1, "triggered": 49})
    sent = Counter(t.data[1][0] for t in world.axiom.triggers)
    assert sent == Counter({row[0]: 1 for i, row in enumerate(ROWS) if i != unknown})


def test_axiom_busy_with_its_own_json_503_for_a_minute_costs_no_row(world: World) -> None:
    """axiom's own JSON 503 says nothing started: 0 unknown, all 50 rows waiting, then
    each triggered exactly once."""
    world.sheet([HEADER, *ROWS])
    world.config({"mode": "row"})
    world.axiom.add_fault(path="/trigger$", status=503, body=BUSY)
    cycles(world, 60)
    assert Counter(world.column("Status")) == Counter({"waiting": 50})
    assert world.axiom.started() == []

    world.axiom.clear_faults()
    cycles(world, 600, step=30)
    assert Counter(world.column("Status")) == Counter({"triggered": 50})
    assert Counter(t.data[1][0] for t in world.axiom.started()) == Counter(r[0] for r in ROWS)


def test_a_restart_mid_outage_probes_before_it_triggers(world: World) -> None:
    """The journal keeps the closed gate: a new process asks /list-automations first and
    spends no second row while axiom is still down; once it answers, the rows go."""
    world.sheet([HEADER, *ROWS[:5]])
    world.config({"mode": "row"})
    world.axiom.add_fault(path=".*", status=502)
    world.once()
    assert trigger_posts(world) == 1

    for _ in range(2):  # two restarts while axiom is still down
        world.close_runtime()
        pacing.clear_limiters()
        outage.clear_gates()
        world.clock.advance(1)
        world.once()
    assert trigger_posts(world) == 1
    assert len(world.axiom.requests_matching("/list-automations$")) == 2
    assert Counter(world.column("Status")) == Counter({"unknown": 1, "waiting": 4})

    world.axiom.clear_faults()
    world.close_runtime()
    outage.clear_gates()
    world.once()
    assert Counter(world.column("Status")) == Counter({"unknown": 1, "triggered": 4})
    assert trigger_posts(world) == 5


def test_new_rows_stay_new_while_the_gate_is_closed(world: World) -> None:
    """Rows that arrive during an outage are neither claimed nor shown as `sending`."""
    world.sheet([HEADER, *ROWS[:1]])
    world.config({"mode": "row"})
    world.axiom.add_fault(path=".*", status=500)
    world.once()
    world.google.insert_rows(world.spreadsheet_id, "Queue", 3, values=ROWS[1:3])
    [report] = world.once()
    assert world.column("Status") == ["unknown", "", ""]
    assert report.paused == 2
    assert "2 held until axiom answers clearly again" in report.line()
    assert trigger_posts(world) == 1


def test_a_tls_handshake_that_fails_before_sending_leaves_rows_waiting_then_sends_them(
    world: World,
) -> None:
    """`https://` to a plain-HTTP listener: the handshake fails before any request is
    written (wrong version number), so no row is `unknown` and the gate stays open: both
    rows wait (reason connection) and go once each, by themselves, once the URL is right."""
    world.sheet([HEADER, *ROWS[:2]])
    https = world.axiom.root_url.replace("http://", "https://", 1) + "/api/v3"
    world.config({"mode": "row"}, axiom={"base_url": https})
    world.once()
    assert world.column("Status") == ["waiting", "waiting"]
    assert "SSL" in world.column("Message")[0] or "TLS" in world.column("Message")[0]
    assert world.axiom.requests_matching("/trigger$") == []
    assert world.runtime().axiom.gate.state != "closed"
    world.config({"mode": "row"})  # the operator fixes the scheme
    world.clock.advance(16 * 60)
    world.once()
    assert world.column("Status") == ["triggered", "triggered"]
    assert Counter(t.data[1][0] for t in world.axiom.triggers) == Counter(r[0] for r in ROWS[:2])
