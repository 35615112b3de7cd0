"""The rolling-window limiter and its process-wide registry, on a fake clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from sheetsync.adapters.pacing import RollingLimiter, clear_limiters, fingerprint, limiter_for


class FakeClock:
    """A monotonic clock that only moves when someone sleeps on it."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.waits: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)
            self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    clear_limiters()
    yield
    clear_limiters()


def limiter(clock: FakeClock, limit: int = 3, window: float = 60.0) -> RollingLimiter:
    return RollingLimiter(limit, window, clock=clock, sleep=clock.sleep)


def test_acquisitions_under_the_limit_do_not_wait(clock: FakeClock) -> None:
    """Up to `limit` acquisitions in a window pass at once and report zero wait."""
    lim = limiter(clock)
    assert [lim.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert clock.waits == []


def test_the_next_acquisition_waits_for_the_oldest_to_leave_the_window(clock: FakeClock) -> None:
    """The (limit+1)th acquisition sleeps until the oldest one is a full window old."""
    lim = limiter(clock)
    lim.acquire()
    clock.now += 10
    lim.acquire()
    lim.acquire()
    assert lim.acquire() == pytest.approx(50.0)
    assert clock.waits == [pytest.approx(50.0)]
    assert clock.now == pytest.approx(1060.0)


def test_delay_reports_without_taking_a_slot(clock: FakeClock) -> None:
    """`delay()` is a pure question: asking twice does not use up the budget."""
    lim = limiter(clock, limit=1)
    assert lim.delay() == 0.0
    assert lim.delay() == 0.0
    lim.acquire()
    assert lim.delay() == pytest.approx(60.0)
    clock.now += 15
    assert lim.delay() == pytest.approx(45.0)


def test_no_rolling_window_ever_holds_more_than_the_limit(clock: FakeClock) -> None:
    """Over a long burst, every rolling window of the recorded call times stays within limit."""
    lim = limiter(clock, limit=7, window=60.0)
    stamps = []
    for i in range(100):
        lim.acquire()
        stamps.append(clock.now)
        clock.now += 0.5 if i % 3 else 4.0
    for i, start in enumerate(stamps):
        inside = [t for t in stamps[i:] if t < start + 60.0]
        assert len(inside) <= 7
    assert sum(clock.waits) > 0


def test_penalize_blocks_until_the_penalty_ends(clock: FakeClock) -> None:
    """After a 429 penalty nothing is acquired before now + seconds, even with budget left."""
    lim = limiter(clock, limit=100)
    lim.penalize(12.5)
    assert lim.delay() == pytest.approx(12.5)
    assert lim.acquire() == pytest.approx(12.5)
    assert lim.acquire() == 0.0


def test_a_shorter_penalty_never_shortens_a_longer_one(clock: FakeClock) -> None:
    """Penalties only extend the block."""
    lim = limiter(clock)
    lim.penalize(30)
    lim.penalize(5)
    assert lim.delay() == pytest.approx(30)


class Blocked(Exception):
    """Raised by a frozen clock's sleep: the caller would have had to wait."""


def test_concurrent_acquirers_never_exceed_the_limit(clock: FakeClock) -> None:
    """Of 20 threads racing for 10 slots on a frozen clock, exactly 10 pass and 10 must wait."""

    def frozen_sleep(seconds: float) -> None:
        raise Blocked

    lim = RollingLimiter(10, 60.0, clock=clock, sleep=frozen_sleep)
    barrier = threading.Barrier(20)
    results: list[str] = []
    guard = threading.Lock()

    def worker() -> None:
        barrier.wait()
        try:
            lim.acquire()
            outcome = "passed"
        except Blocked:
            outcome = "blocked"
        with guard:
            results.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=5)
    assert sorted(results) == ["blocked"] * 10 + ["passed"] * 10


def test_invalid_budgets_are_refused() -> None:
    """A limit below one or a non-positive window is a programming error."""
    with pytest.raises(ValueError, match="limit"):
        RollingLimiter(0)
    with pytest.raises(ValueError, match="window"):
        RollingLimiter(1, 0)


def test_registry_shares_one_limiter_per_key() -> None:
    """Every caller naming the same budget gets the same limiter; other keys get their own."""
    a = limiter_for("axiom-abc", 90)
    assert limiter_for("axiom-abc", 90) is a
    assert limiter_for("google-read-abc", 90) is not a


def test_registry_keeps_the_stricter_budget() -> None:
    """When callers disagree, the shared limiter adopts the lower limit and longer window."""
    shared = limiter_for("axiom-x", 90)
    limiter_for("axiom-x", 50, 61.0)
    limiter_for("axiom-x", 80)
    assert (shared.limit, shared.window) == (50, 61.0)


def test_registry_limiters_can_run_on_an_injected_clock(clock: FakeClock) -> None:
    """A shared limiter created with a fake clock and sleep waits on them, never in real time."""
    shared = limiter_for("axiom-fake", 1, clock=clock, sleep=clock.sleep)
    shared.acquire()
    assert limiter_for("axiom-fake", 1).acquire() == pytest.approx(60.0)
    assert clock.waits == [pytest.approx(60.0)]


def test_clear_limiters_forgets_the_registry() -> None:
    """After clearing, the same key yields a fresh limiter."""
    first = limiter_for("k", 5)
    clear_limiters()
    assert limiter_for("k", 5) is not first


def test_fingerprint_is_short_stable_and_not_the_secret() -> None:
    """A fingerprint identifies a secret without containing it."""
    secret = "sk-live-0123456789abcdef"
    fp = fingerprint(secret)
    assert fp == fingerprint(secret)
    assert len(fp) == 16
    assert secret not in fp
    assert fp != fingerprint(secret + "x")
    assert "sk-live" not in repr(limiter_for("axiom-" + fp, 90))
