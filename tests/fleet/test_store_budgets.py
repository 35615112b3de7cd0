"""Budgets on both backends: a pace's calls and a key's closed outage gate outlive a restart
(SQLite: `budgets`; PostgreSQL: the shared `quota_calls` and `outages`), and on
PostgreSQL every instance spends one pace and follows one gate.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from sheetsync.adapters.axiom.outage import Closure, OutageGate
from sheetsync.adapters.pacing import RollingLimiter
from sheetsync.adapters.store.postgres import PostgresStore
from sheetsync.adapters.store.protocol import Store

if TYPE_CHECKING:
    from tests.fleet.conftest import Backend

BUDGET = "axiom-0123456789abcdef"


def limiter(backend: Backend, limit: int = 2) -> RollingLimiter:
    """A fresh process's limiter of the budget (the registry is per process)."""
    clock = backend.clock
    return RollingLimiter(limit, 60.0, clock=clock.monotonic, sleep=clock.sleep, name=BUDGET)


def gate(backend: Backend) -> OutageGate:
    return OutageGate(clock=backend.clock.monotonic, wall=backend.clock)


def test_a_paces_calls_outlive_a_restart(backend: Backend) -> None:
    """Calls of the last window still count after a restart: the pace holds."""
    store = backend.open()
    clock = backend.clock
    pace = store.pace(limiter(backend), clock)
    assert pace.acquire() == 0.0
    clock.advance(10)
    with pace.slot() as waited:
        clock.advance(5)  # a call in flight for 5 s
    assert waited == 0.0
    store = backend.restart(store)
    pace = store.pace(limiter(backend), clock)
    assert pace.name == BUDGET and pace.limit == 2
    assert pace.delay() == pytest.approx(45.0)  # the first call leaves the window at 60
    assert pace.acquire() == pytest.approx(45.0)
    assert clock.sleeps == [pytest.approx(45.0)]


def test_a_calls_wait_and_penalty_as_the_limiter_has_them(store: Store, backend: Backend) -> None:
    """`slot(wait)` waits with the caller's wait; a 429's penalty holds back the next call."""
    clock = backend.clock
    pace = store.pace(limiter(backend, limit=1), clock)
    pace.acquire()
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(round(seconds, 6))
        clock.advance(seconds)

    with pace.slot(wait) as waited:
        pass
    assert waited == pytest.approx(60.0) and waits == [pytest.approx(60.0)]
    clock.advance(60)
    pace.penalize(30)
    assert pace.delay() == pytest.approx(30.0)


def test_a_closed_gate_outlives_a_restart_until_a_probe_answers(backend: Backend) -> None:
    """An unclear answer closes the key's gate; a restart probes before it triggers."""
    store = backend.open()
    first = gate(backend)
    store.keep_gate(first, BUDGET)
    assert first.admit()
    closure = first.settle(False, "HTTP 504")
    assert closure is not None
    store = backend.restart(store)
    second = gate(backend)
    store.keep_gate(second, BUDGET)
    assert second.state == "closed" and second.closure == closure
    assert not second.admit()
    assert second.check(lambda: True)  # the probe answers: forgotten
    store = backend.restart(store)
    third = gate(backend)
    store.keep_gate(third, BUDGET)
    assert third.state == "unconfirmed" and not store.follow_gate(third, BUDGET)


def test_two_instances_spend_one_pace(pg_backend: Backend) -> None:
    """PostgreSQL: the third call of a 2-per-minute budget waits, whichever instance."""
    backend = pg_backend
    clock = backend.clock
    a, b = backend.make(), backend.make()
    a.open()
    b.open()
    mine, theirs = a.pace(limiter(backend), clock), b.pace(limiter(backend), clock)
    assert mine is a.pace(limiter(backend, limit=5), clock)  # one per name; stricter kept
    mine.acquire()
    clock.advance(20)
    theirs.acquire()
    assert theirs.acquire() == pytest.approx(40.0)


def test_an_instance_follows_the_gate_a_peer_closed(pg_backend: Backend) -> None:
    """PostgreSQL: a peer's closure closes an open gate (probe first); a probe that
    answers reopens it for every instance that starts or follows afterwards."""
    backend = pg_backend
    a, b = backend.make(), backend.make()
    a.open()
    b.open()
    assert isinstance(a, PostgresStore) and isinstance(b, PostgresStore)
    mine, theirs = gate(backend), gate(backend)
    a.keep_gate(mine, BUDGET)
    b.keep_gate(theirs, BUDGET)
    assert not b.follow_gate(theirs, BUDGET)
    assert mine.admit()
    mine.settle(False, "no answer within 30 s")
    assert b.follow_gate(theirs, BUDGET)
    assert theirs.state == "closed" and not theirs.admit()
    closed_at = backend.clock.now.replace(microsecond=0)
    assert theirs.closure == Closure(closed_at, 1, "no answer within 30 s")
    assert not b.follow_gate(theirs, BUDGET)  # closed already
    probes: list[str] = []

    def probe() -> bool:
        probes.append("list-automations")
        return True

    assert theirs.check(probe)  # due at once, and answered
    backend.clock.advance(timedelta(minutes=1).total_seconds())
    late = gate(backend)
    a.keep_gate(late, BUDGET)
    assert late.state == "unconfirmed" and probes == ["list-automations"]
