"""The shared rolling-window limiter: `RollingLimiter`'s semantics across instances.

Two `SharedLimiter`s on one key stand for two instances spending one budget. A fake
clock that moves only when someone sleeps keeps the tests exact and instant.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from sheetsync.adapters.store.pg_pacing import STALE_AFTER, SharedLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture
def instances(pg_url: str) -> Callable[..., SharedLimiter]:
    clock = FakeClock()

    def make(limit: int = 2, window: float = 60.0, key: str = "axiom-abc") -> SharedLimiter:
        limiter = SharedLimiter(
            lambda: psycopg.connect(pg_url), key, limit, window, clock=clock, sleep=clock.sleep
        )
        limiter.clock = clock  # type: ignore[attr-defined]
        return limiter

    return make


def test_two_instances_share_one_window(instances: Callable[..., SharedLimiter]) -> None:
    """The third call of a 2-per-minute budget waits a window, whichever instance makes it."""
    a, b = instances(), instances()
    clock: FakeClock = a.clock  # type: ignore[attr-defined]
    assert a.acquire() == 0.0
    clock.now += 10
    assert b.acquire() == 0.0
    assert a.delay() == pytest.approx(50.0)
    assert b.acquire() == pytest.approx(50.0)
    assert clock.slept == [pytest.approx(50.0)]
    assert instances(key="other").acquire() == 0.0  # another budget is not touched


def test_a_penalty_blocks_every_instance(instances: Callable[..., SharedLimiter]) -> None:
    """A 429 seen by one instance holds back the others; a shorter one never shortens it."""
    a, b = instances(limit=5), instances(limit=5)
    a.penalize(30)
    a.penalize(5)
    assert b.delay() == pytest.approx(30.0)
    assert b.acquire() == pytest.approx(30.0)


def test_a_call_in_flight_holds_its_slot_until_a_window_after_it_ends(
    instances: Callable[..., SharedLimiter],
) -> None:
    """`slot()` counts from the start of a call until a window after its end."""
    a, b = instances(limit=1), instances(limit=1)
    clock: FakeClock = a.clock  # type: ignore[attr-defined]
    with a.slot():
        clock.now += 20
        assert b.delay() > 0  # held by the call in flight
    assert b.delay() == pytest.approx(60.0)
    assert b.acquire() == pytest.approx(60.0)


def test_a_dead_instances_call_in_flight_stops_counting(
    instances: Callable[..., SharedLimiter],
) -> None:
    """A call that never ended (its instance died) frees its slot after STALE_AFTER windows."""
    a, b = instances(limit=1), instances(limit=1)
    clock: FakeClock = a.clock  # type: ignore[attr-defined]
    slot = a.slot()
    slot.__enter__()  # and never left: the process died mid-call
    clock.now += STALE_AFTER * 60 + 1
    assert b.acquire() == 0.0


def test_a_calls_end_that_cannot_be_recorded_never_fails_the_call(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The answer is in: a database lost at the end only leaves the call counted in flight
    (until STALE_AFTER windows), as the journal's `CallBook.ended` never raises either."""
    clock = FakeClock()
    lent: list[int] = []

    def connect() -> psycopg.Connection[tuple[object, ...]]:
        lent.append(1)
        if len(lent) > 1:  # the end's transaction: the database is gone
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return psycopg.connect(pg_url)

    limiter = SharedLimiter(connect, "axiom-abc", 1, clock=clock, sleep=clock.sleep)
    with limiter.slot() as waited:
        answer = "the call's answer"
    assert (waited, answer) == (0.0, "the call's answer")
    assert "cannot record a call's end" in caplog.text


def test_a_slots_wait_replaces_the_sleep_and_may_give_up(
    instances: Callable[..., SharedLimiter],
) -> None:
    """`slot(wait)` waits with `wait` (a departure's stop-aware wait), as `RollingLimiter`
    does; a wait that raises takes no slot."""
    a = instances(limit=1)
    clock: FakeClock = a.clock  # type: ignore[attr-defined]
    a.acquire()
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(round(seconds, 6))
        clock.now += seconds

    with a.slot(wait) as waited:
        assert waited == pytest.approx(60.0)
    assert waits == [pytest.approx(60.0)] and clock.slept == []

    def stop(seconds: float) -> None:
        raise RuntimeError("stopping")

    clock.now += 60
    a.acquire()
    with pytest.raises(RuntimeError), a.slot(stop):
        pass
    clock.now += 60
    assert a.delay() == 0.0  # the refused wait took no slot


class EpochClock:
    """Unix seconds (where a float's resolution is ~2.4e-7 s) over an exact elapsed count,
    as the harness's fake clock gives them; `elapsed` is what a server counting calls sees."""

    def __init__(self) -> None:
        self.origin, self.elapsed = 1_767_600_000.0, 0.0

    def __call__(self) -> float:
        return self.origin + self.elapsed

    def sleep(self, seconds: float) -> None:
        self.elapsed += seconds


def test_a_window_at_epoch_magnitude_never_admits_one_call_too_many(pg_url: str) -> None:
    """Stamps rounded to a float's resolution at today's Unix time must never let a call in
    before the oldest one has left the window: 55 a minute, counted on the exact clock."""
    from sheetsync.emulator.axiom_runs import rolling_max

    clock = EpochClock()
    limiter = SharedLimiter(
        lambda: psycopg.connect(pg_url), "axiom-e", 55, 60.0, clock=clock, sleep=clock.sleep
    )
    calls = []
    for i in range(200):  # stamped as they start (`acquire`): 56 before the margin
        limiter.acquire()
        calls.append(clock.elapsed)
        clock.elapsed += 0.013 + (i % 7) * 0.0011  # each call takes a little while
    assert rolling_max(calls, 60.0) == 55
