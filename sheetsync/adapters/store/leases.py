"""This instance's leases: acquired, renewed and released on a connection of their own.

A lease row per unit holds (holder, epoch, expires_at); expiry is by the DATABASE clock
(`now()` in the statement), never ours. Every acquisition bumps the epoch. Renewal runs
on its own thread and connection, so a busy pool or scheduler cannot starve it. Locally
a lease is trusted until `attempt_start + lease - margin` on CLOCK_BOOTTIME (it keeps
counting through a suspend, unlike `time.monotonic()`): after that, no side effect.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sheetsync.adapters.store.fairness import LeaseRow, Round, plan_round
from sheetsync.adapters.store.pg_errors import translated
from sheetsync.adapters.store.pg_takeover import take
from sheetsync.adapters.store.protocol import Change, LeaseEvent
from sheetsync.adapters.store.settings import LeaseTimings
from sheetsync.adapters.store.units import Units
from sheetsync.errors import StoreError

if TYPE_CHECKING:
    import psycopg

    from sheetsync.adapters.store.lease_thread import LeaseThread

log = logging.getLogger("sheetsync.leases")


def boottime() -> float:
    """Seconds on a clock that counts through suspend (CLOCK_BOOTTIME where there is one)."""
    clock = getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC)
    return time.clock_gettime(clock)


_HEARTBEAT = (
    "INSERT INTO instances (holder, host, pid, version, expires_at)"
    " VALUES (%s, %s, %s, %s, now() + make_interval(secs => %s))"
    " ON CONFLICT (holder) DO UPDATE SET heartbeat_at = now(), expires_at = excluded.expires_at"
)


class Leases:
    """The leases of one process (one `holder` id, fresh at every start)."""

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[tuple[Any, ...]]],
        identity: tuple[str, str, int, str],
        units: Units,
        timings: LeaseTimings,
        recover: Callable[[str, int], int],
        *,
        clock: Callable[[], float] = boottime,
        rand: Callable[[], float] = random.random,
        where: str = "state database",
    ) -> None:
        self.holder, self._host, self._pid, self._version = identity
        self._connect, self.units, self.timings = connect, units, timings
        self._recover, self._clock, self._rand, self.where = recover, clock, rand, where
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None
        self._io = threading.Lock()  # the connection: one round at a time
        self._lock = threading.Lock()  # the maps below; never held during I/O, so that
        # `trusted()` answers at once even while a renewal hangs on a partitioned network
        self._held: dict[str, int] = {}
        self._last: dict[str, int] = {}  # the epoch each unit was last held at, kept after loss
        self._trust: dict[str, float] = {}
        self._events: list[LeaseEvent] = []
        self._thread: LeaseThread | None = None

    # -- what callers ask ----------------------------------------------------------
    def held(self) -> dict[str, int]:
        """Units served by this process, with their epochs."""
        with self._lock:
            return dict(self._held)

    def last_epoch(self, unit: str) -> int:
        """The epoch this process last held `unit` at (0: never), for a late answer's record."""
        with self._lock:
            return self._last.get(unit, 0)

    def trusted(self, unit: str) -> bool:
        """Whether the lease is surely ours now (checked before every external side effect)."""
        with self._lock:
            return unit in self._held and self._clock() < self._trust.get(unit, 0.0)

    def events(self) -> list[LeaseEvent]:
        """Changes found by the renewal thread since the last call."""
        with self._lock:
            found, self._events = self._events, []
            return found

    # -- rounds ---------------------------------------------------------------------
    def acquire(self) -> list[LeaseEvent]:
        """Heartbeat, then take free units up to the fair share and shed any excess."""
        with self._io:
            conn = self._connection()
            rows, live = self._survey(conn)
            plan = plan_round(
                rows, self.units.hashes, self.holder, sorted(self.held()), live, self._rank
            )
            return self._apply(conn, plan)

    def renew(self) -> list[LeaseEvent]:
        """Extend every held lease; a unit not extended (taken, released) is lost."""
        with self._io:
            held = self.held()
            if not held:
                return self.expire_trust()
            conn = self._connection()
            start = self._clock()
            with translated(self.where):
                self._heartbeat(conn)
                found = conn.execute(
                    "UPDATE leases SET expires_at = now() + make_interval(secs => %s)"
                    " WHERE holder = %s AND unit = ANY(%s) RETURNING unit, epoch",
                    (self.timings.lease, self.holder, sorted(held)),
                ).fetchall()
            with self._lock:
                kept = {unit for unit, epoch in found if self._held.get(unit) == epoch}
                for unit in kept:
                    self._trust[unit] = start + self.timings.lease - self.timings.trust_margin
                events = [self._drop(u) for u in sorted(set(self._held) - kept)]
            return events + self.expire_trust()

    def release(self, units: Iterable[str] | None = None) -> list[LeaseEvent]:
        """Give up units (every held one with `None`): a peer may take them at once."""
        with self._io:
            return self._release(units)

    def _release(self, units: Iterable[str] | None) -> list[LeaseEvent]:
        """`release` for a caller holding `_io`."""
        with self._lock:
            chosen = sorted(self._held if units is None else set(units) & set(self._held))
            events = [self._drop(u) for u in chosen]
        if chosen:
            with translated(self.where):
                self._connection().execute(
                    "UPDATE leases SET holder = '', expires_at = now()"
                    " WHERE holder = %s AND unit = ANY(%s)",
                    (self.holder, chosen),
                )
        return events

    # -- the renewal thread ------------------------------------------------------------
    def start(self) -> None:
        """Renew and acquire on a thread of their own until `stop()`."""
        from sheetsync.adapters.store.lease_thread import LeaseThread

        self.stop()
        self._thread = LeaseThread(self, self._clock, self._rand)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (leases are kept: `release()` gives them up)."""
        if self._thread is not None:
            self._thread.stop(timeout=self.timings.renew)  # a hung renewal is left behind
            self._thread = None

    def report(self, events: list[LeaseEvent]) -> None:
        """Keep changes found in the background for the next `events()`."""
        with self._lock:
            self._events.extend(events)

    def reconnect(self) -> None:
        """Drop the lease connection after a failure: the next round opens a new one."""
        with self._io:
            self._disconnect()

    def close(self) -> None:
        """Stop, release every lease, forget this instance, disconnect."""
        self.stop()
        if not self._io.acquire(timeout=self.timings.renew):
            log.warning("%s: database not answering; leases not released (they expire)", self.where)
            return
        try:
            with self._lock:
                self._held.clear()
                self._trust.clear()
            for attempt in (1, 2):  # a connection broken earlier gets one fresh retry
                try:
                    self._goodbye()
                    break
                except StoreError as exc:
                    self._disconnect()
                    if attempt == 2:  # closing anyway: the leases expire by themselves
                        log.warning("%s: leases not released (they expire): %s", self.where, exc)
        finally:
            self._disconnect()
            self._io.release()

    def _goodbye(self) -> None:
        """Release everything this holder has and remove its heartbeat (idempotent)."""
        with translated(self.where):
            conn = self._connection()
            conn.execute(
                "UPDATE leases SET holder = '', expires_at = now() WHERE holder = %s",
                (self.holder,),
            )
            conn.execute("DELETE FROM instances WHERE holder = %s", (self.holder,))

    def _disconnect(self) -> None:
        """Drop the lease connection (the caller holds `_io`); the next round reconnects."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- helpers ---------------------------------------------------------------------
    def _connection(self) -> psycopg.Connection[tuple[Any, ...]]:
        if self._conn is None or self._conn.closed:
            with translated(self.where):
                self._conn = self._connect()
        return self._conn

    def _heartbeat(self, conn: psycopg.Connection[tuple[Any, ...]]) -> None:
        identity = (self.holder, self._host, self._pid, self._version, self.timings.lease)
        conn.execute(_HEARTBEAT, identity)
        # killed instances never say goodbye: `status` shows them for a day, then they go
        conn.execute("DELETE FROM instances WHERE expires_at < now() - interval '1 day'")

    def _survey(self, conn: psycopg.Connection[tuple[Any, ...]]) -> tuple[list[LeaseRow], int]:
        with translated(self.where):
            self._heartbeat(conn)
            live_row = conn.execute(
                "SELECT count(*) FROM instances WHERE expires_at > now()"
            ).fetchone()
            found = conn.execute(
                "SELECT unit, holder, epoch, holder = '' OR expires_at < now(), config_hash"
                " FROM leases WHERE unit = ANY(%s)",
                (self.units.all,),
            ).fetchall()
        live = int(live_row[0]) if live_row else 1
        return [LeaseRow(*row) for row in found], live

    def _apply(self, conn: psycopg.Connection[tuple[Any, ...]], plan: Round) -> list[LeaseEvent]:
        events = [LeaseEvent(Change.REFUSED, u, 0) for u in plan.refused]
        if plan.shed:
            events += self._release(plan.shed)
        for unit in plan.take:
            start = self._clock()
            params = {
                "unit": unit,
                "holder": self.holder,
                "ttl": self.timings.lease,
                "hash": self.units.hashes[unit],
            }
            with translated(self.where):
                row = take(conn, params, self.timings)
            if row is not None:
                events.extend(self._took(unit, int(row[0]), start))
        return events

    def _took(self, unit: str, epoch: int, start: float) -> list[LeaseEvent]:
        """Recover the unit under its new epoch before serving it; on failure give it up."""
        try:
            recovered = self._recover(unit, epoch)
        except StoreError as exc:
            log.warning("%s: spreadsheet %s not taken over: %s", self.where, unit, exc)
            with translated(self.where):  # give it back: a peer may recover it
                self._connection().execute(
                    "UPDATE leases SET holder = '', expires_at = now()"
                    " WHERE unit = %s AND holder = %s AND epoch = %s",
                    (unit, self.holder, epoch),
                )
            return []
        with self._lock:
            self._held[unit] = self._last[unit] = epoch
            self._trust[unit] = start + self.timings.lease - self.timings.trust_margin
        return [LeaseEvent(Change.ACQUIRED, unit, epoch, recovered)]

    def _drop(self, unit: str) -> LeaseEvent:
        """Forget a unit (the caller holds `_lock`)."""
        epoch = self._held.pop(unit)
        self._trust.pop(unit, None)
        return LeaseEvent(Change.LOST, unit, epoch)

    def expire_trust(self) -> list[LeaseEvent]:
        """Units whose local trust ran out without a renewal are lost to this process."""
        now = self._clock()
        with self._lock:
            return [self._drop(u) for u in sorted(self._held) if now >= self._trust.get(u, 0.0)]

    def _rank(self, unit: str) -> float:
        del unit
        return self._rand()
