"""Client-side pacing: at most N calls in any rolling window, shared by everyone using one budget.

axiom allows 100 calls per rolling minute per API key (all endpoints, polling included) and
Google meters each identity per minute, so every watch that spends one budget must draw on
one `RollingLimiter`. `limiter_for()` is the process-wide registry that makes this so.

Registry keys are identifiers, never secrets: callers pass a namespaced fingerprint such as
`"axiom-" + fingerprint(api_key)` (that is `hashlib.sha256(secret).hexdigest()[:16]`), so the
registry can be logged or inspected without leaking a key.

A limiter forgets nothing across restarts when a `CallLog` is attached (the journal, see
`budgets`): each call is recorded durably before it leaves and its end after it, and a
new process `seed()`s the limiter with the calls of the last window.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

DEFAULT_WINDOW = 60.0
"""Both axiom and Google count calls per rolling minute."""

_EPSILON = 1e-9
"""Float slack so that a wait of exactly `delay()` always frees the slot it waited for."""
IN_FLIGHT_POLL = 0.05
"""When every slot is held by a call still in flight, look again this often."""


class CallLog(Protocol):
    """A durable record of one budget's calls, so that a restart keeps the pace."""

    def began(self, *, ended: bool = False) -> int:
        """Record that a call leaves now (durably: raise if it cannot be recorded); with
        `ended`, that it counts as ended too. Returns a token for `ended()`."""
        ...

    def ended(self, token: int) -> None:
        """Record that the call's answer is in (best effort: never raises)."""
        ...


class Pace(Protocol):
    """A rolling-window budget as the adapters spend it (`RollingLimiter`'s methods;
    `store.pg_pacing.SharedLimiter` has them too: one budget shared by a fleet)."""

    name: str
    limit: int
    window: float

    def acquire(self) -> float: ...
    def slot(
        self, wait: Callable[[float], None] | None = None
    ) -> AbstractContextManager[float]: ...
    def delay(self) -> float: ...
    def penalize(self, seconds: float) -> None: ...
    def tighten(self, limit: int, window: float) -> None: ...


class RollingLimiter:
    """At most `limit` acquisitions in any rolling `window` seconds."""

    def __init__(
        self,
        limit: int,
        window: float = DEFAULT_WINDOW,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        name: str = "",
    ) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        if window <= 0:
            raise ValueError(f"window must be positive, not {window}")
        self.limit = limit
        self.window = window
        self.name = name
        """The budget's registry key (see `limiter_for`), also its name in the journal."""
        self.log: CallLog | None = None
        self.seeded = False
        """Whether `seed()` ran: a living process's memory is complete, one seed is enough."""
        self._clock = clock
        self._sleep = sleep
        self._stamps: deque[float] = deque()
        self._in_flight = 0
        self._blocked_until = float("-inf")
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RollingLimiter(limit={self.limit}, window={self.window:g})"

    def acquire(self) -> float:
        """Take a slot, sleeping (outside the lock) until one is free; return the seconds waited."""
        waited = self._take(in_flight=False)
        if self.log is not None:
            self.log.began(ended=True)
        return waited

    @contextmanager
    def slot(self, wait: Callable[[float], None] | None = None) -> Iterator[float]:
        """Hold a slot for a whole call: it counts from the start until `window` after the end.

        The server counts a call when it arrives, which may be any time until the answer
        comes back; a call stamped when it left could arrive in a later window than its
        stamp and crowd it. Stamped when it ends, no rolling window at the server can
        hold more than `limit` calls, however long each one took. Yields the seconds waited.

        `wait` replaces the limiter's sleep while waiting for the slot: it may return early
        (the slot is looked for again) or raise, which takes no slot.
        """
        waited = self._take(in_flight=True, sleep=wait)
        log = self.log
        try:
            token = log.began() if log is not None else None
        except BaseException:
            with self._lock:
                self._in_flight -= 1  # not recorded, so not sent: the slot is free again
            raise
        try:
            yield waited
        finally:
            with self._lock:
                self._in_flight -= 1
                self._stamps.append(self._clock())
            if log is not None and token is not None:
                log.ended(token)

    def seed(self, ages: Iterable[float]) -> None:
        """Count calls a previous process made: each ended `age` seconds ago (0: it may
        still have been in flight when that process died)."""
        with self._lock:
            now = self._clock()
            stamps = [now - max(0.0, age) for age in ages if age < self.window]
            self._stamps = deque(sorted([*self._stamps, *stamps]))
            self.seeded = True

    def _take(self, *, in_flight: bool, sleep: Callable[[float], None] | None = None) -> float:
        start, pause = self._clock(), sleep or self._sleep
        while True:
            with self._lock:
                now = self._clock()
                wait = self._delay_at(now)
                if wait <= 0:
                    if in_flight:
                        self._in_flight += 1
                    else:
                        self._stamps.append(now)
                    return max(0.0, now - start)
            pause(wait)

    def delay(self) -> float:
        """Seconds until a slot would be free, without taking it."""
        with self._lock:
            return self._delay_at(self._clock())

    def penalize(self, seconds: float) -> None:
        """After a 429: no acquisition before now + `seconds` (never shortens a penalty)."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + max(0.0, seconds))

    def tighten(self, limit: int, window: float) -> None:
        """Adopt the stricter of the current and the given budget (registry sharing)."""
        with self._lock:
            self.limit = max(1, min(self.limit, limit))
            self.window = max(self.window, window)

    def _delay_at(self, now: float) -> float:
        """For a caller holding the lock: forget stamps out of the window, then decide."""
        stamps = self._stamps
        while stamps and stamps[0] <= now - self.window + _EPSILON:
            stamps.popleft()
        return free_in(stamps, self._in_flight, self.limit, self.window, self._blocked_until, now)


def free_in(
    stamps: Sequence[float],
    in_flight: int,
    limit: int,
    window: float,
    blocked_until: float,
    now: float,
) -> float:
    """PURE: seconds until a slot is free, given the window's stamps (oldest first), the
    calls in flight and any 429 block. Shared by the in-process and PostgreSQL limiters."""
    wait = blocked_until - now
    excess = len(stamps) + in_flight - limit
    if excess >= len(stamps):
        wait = max(wait, IN_FLIGHT_POLL)  # only the end of a call in flight frees a slot
    elif excess >= 0:
        # the slot frees when the (excess + 1) oldest stamps have left the window
        wait = max(wait, stamps[excess] + window - now)
    return wait if wait > _EPSILON else 0.0


_registry: dict[str, RollingLimiter] = {}
_registry_lock = threading.Lock()


def fingerprint(secret: str) -> str:
    """A short non-secret identifier for a secret: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def limiter_for(
    key: str,
    limit: int,
    window: float = DEFAULT_WINDOW,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RollingLimiter:
    """The process-wide limiter of one budget (created on first use, then shared).

    `key` must not be a secret: pass e.g. `"axiom-" + fingerprint(api_key)`. When callers
    disagree about the budget, the shared limiter keeps the stricter one. `clock` and `sleep`
    are used when the limiter is created; a caller that injects a fake `sleep` must inject the
    clock it advances too, or the limiter would wait in real time (or spin).
    """
    with _registry_lock:
        limiter = _registry.get(key)
        if limiter is None:
            limiter = RollingLimiter(limit, window, clock=clock, sleep=sleep, name=key)
            _registry[key] = limiter
        else:
            limiter.tighten(limit, window)
        return limiter


def clear_limiters() -> None:
    """Forget every shared limiter (tests, and a reload that changes the budgets)."""
    with _registry_lock:
        _registry.clear()
