"""A rolling-window limiter shared by every instance: `RollingLimiter`, kept in PostgreSQL.

axiom counts 100 calls per rolling minute per key and Google 60 per identity, however
many sheetsync instances spend them. Each call is one short transaction: lock the key's
row, forget stamps older than the window, decide with `pacing.free_in` (the in-process
limiter's own decision), and stamp the call. Times are the database's clock (one clock
for every instance) unless a test injects one. A call still "in flight" after
`STALE_AFTER` windows belonged to a dead instance and stops counting.

In PostgreSQL this table is also what the SQLite journal's `budgets` keeps across
restarts: a new instance (or a restarted one) sees every call of the window already, so
a limiter needs no seeding and there is one record of calls, not two.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sheetsync.adapters.pacing import DEFAULT_WINDOW, free_in
from sheetsync.adapters.store.pg_errors import translated
from sheetsync.errors import StoreError

log = logging.getLogger("sheetsync.budgets")

STALE_AFTER = 2
"""Windows after which a call that never ended stops holding a slot."""

ROUNDING_ULPS = 4
"""A stamp leaves the window this many float steps (units in the last place) of the clock's
magnitude late: Unix seconds are ~1.7e9, where a float's step is ~2.4e-7 s, so a stamp
and `now` each carry up to half a step of rounding, and a window measured without this
margin can let a call in up to a step before its oldest one has truly left (one call too
many in a rolling minute). The margin makes rounding delay a call, never hasten it."""

Connect = Callable[[], AbstractContextManager[Any]]
"""Lends a psycopg connection (`pool.connection`): its context commits on exit."""


class SharedLimiter:
    """At most `limit` calls in any rolling `window` seconds, across every instance."""

    def __init__(
        self,
        connect: Connect,
        key: str,
        limit: int,
        window: float = DEFAULT_WINDOW,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        where: str = "state database",
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError(f"invalid budget: {limit} calls per {window} s")
        self.key, self.limit, self.window = key, limit, window
        self.name = key
        """The budget's name, as `RollingLimiter.name` (never a secret)."""
        self._connect, self._clock, self._sleep, self.where = connect, clock, sleep, where

    def __repr__(self) -> str:
        return f"SharedLimiter({self.key!r}, limit={self.limit}, window={self.window:g})"

    def acquire(self) -> float:
        """Take a slot, sleeping (outside any transaction) until one is free; seconds waited."""
        waited, _ = self._take(in_flight=False)
        return waited

    @contextmanager
    def slot(self, wait: Callable[[float], None] | None = None) -> Iterator[float]:
        """Hold a slot for a whole call: it counts until `window` after the call ends.

        `wait` replaces the sleep while waiting for the slot (as `RollingLimiter.slot`):
        it may return early or raise, which takes no slot.
        """
        waited, call = self._take(in_flight=True, sleep=wait)
        try:
            yield waited
        finally:
            self._ended(call)

    def _ended(self, call: int) -> None:
        """Stamp a call's end; never raises (the call's answer is in): unstamped, the call
        keeps its slot until it is STALE_AFTER windows old, which errs on the safe side."""
        try:
            with translated(self.where), self._connect() as conn:
                now = self._now(conn)
                conn.execute("UPDATE quota_calls SET at = %s WHERE id = %s", (now, call))
        except StoreError as exc:
            log.warning("%s: cannot record a call's end for %s: %s", self.where, self.key, exc)

    def delay(self) -> float:
        """Seconds until a slot would be free, without taking it."""
        with translated(self.where), self._connect() as conn:
            return self._decide(conn, self._now(conn))

    def penalize(self, seconds: float) -> None:
        """After a 429: no instance acquires before now + `seconds` (never shortened)."""
        with translated(self.where), self._connect() as conn:
            until = self._now(conn) + max(0.0, seconds)
            conn.execute(
                "INSERT INTO quotas (key, blocked_until) VALUES (%s, %s) ON CONFLICT (key)"
                " DO UPDATE SET blocked_until = greatest(quotas.blocked_until, %s)",
                (self.key, until, until),
            )

    def tighten(self, limit: int, window: float) -> None:
        """Adopt the stricter of the current and the given budget."""
        self.limit = max(1, min(self.limit, limit))
        self.window = max(self.window, window)

    def _take(
        self, *, in_flight: bool, sleep: Callable[[float], None] | None = None
    ) -> tuple[float, int]:
        """Wait for a free slot and stamp the call; (seconds waited, the call's id)."""
        pause, start = sleep or self._sleep, None
        while True:
            with translated(self.where), self._connect() as conn:
                now = self._now(conn)
                start = now if start is None else start
                wait = self._decide(conn, now, lock=True)
                if wait <= 0:
                    row = conn.execute(
                        "INSERT INTO quota_calls (key, at, started) VALUES (%s, %s, %s)"
                        " RETURNING id",
                        (self.key, None if in_flight else now, now),
                    ).fetchone()
                    return max(0.0, now - start), int(row[0])
            pause(wait)  # outside any transaction: nothing is locked while waiting

    def _decide(self, conn: Any, now: float, *, lock: bool = False) -> float:
        """Inside a transaction: forget old calls and ask `free_in` (locking the key first)."""
        if lock:
            conn.execute("INSERT INTO quotas (key) VALUES (%s) ON CONFLICT DO NOTHING", (self.key,))
        found = conn.execute(
            f"SELECT blocked_until FROM quotas WHERE key = %s{' FOR UPDATE' if lock else ''}",
            (self.key,),
        ).fetchone()
        blocked = float(found[0]) if found else float("-inf")
        window = self.window + ROUNDING_ULPS * math.ulp(now)  # see ROUNDING_ULPS
        conn.execute(
            "DELETE FROM quota_calls WHERE key = %s AND (at <= %s OR started < %s)",
            (self.key, now - window, now - STALE_AFTER * self.window),
        )
        rows = conn.execute(
            "SELECT at FROM quota_calls WHERE key = %s ORDER BY at NULLS LAST", (self.key,)
        ).fetchall()
        stamps = [float(r[0]) for r in rows if r[0] is not None]
        return free_in(stamps, len(rows) - len(stamps), self.limit, window, blocked, now)

    def _now(self, conn: Any) -> float:
        if self._clock is not None:
            return self._clock()
        row = conn.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()
        return float(row[0])
