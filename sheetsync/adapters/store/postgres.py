"""The PostgreSQL store: several sheetsync instances share one config's spreadsheets.

psycopg 3 (sync: the daemon is threads) with a psycopg_pool pool for journal work and a
dedicated connection for leases (`leases`). Both are imported only when a store is
opened, so a SQLite user's daemon never loads them. Connections need no session state
(prepared statements off), so they work behind pgbouncer's transaction pooling.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sheetsync.adapters.store.journal_records import UNKNOWN_MESSAGE, Outcome, iso
from sheetsync.adapters.store.leases import Leases, boottime
from sheetsync.adapters.store.pg_budgets import PgBudgets
from sheetsync.adapters.store.pg_bulk import histories, history
from sheetsync.adapters.store.pg_checks import check_database, refuse_unknown_states
from sheetsync.adapters.store.pg_errors import translated
from sheetsync.adapters.store.pg_journal import JournalSql
from sheetsync.adapters.store.pg_landing import LandingSql
from sheetsync.adapters.store.pg_overview import OverviewSql
from sheetsync.adapters.store.pg_runs import RunSql
from sheetsync.adapters.store.pg_schema import check_readable, migrate, record_birth
from sheetsync.adapters.store.pg_text import nul_free
from sheetsync.adapters.store.protocol import Holding, Instance, LeaseEvent, Store
from sheetsync.adapters.store.settings import LeaseTimings, conninfo, shown_url
from sheetsync.adapters.store.units import Units
from sheetsync.config import Secret
from sheetsync.distribution import installed_version

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("sheetsync.store")

OPEN_TIMEOUT = 10.0
"""Seconds `open()` waits for the pool's first connection. A journal call waits at most this,
or a third of the lease when that is shorter, for a connection from the pool."""


class PostgresStore(JournalSql, LandingSql, RunSql, OverviewSql, PgBudgets):
    """The journal, its leases and its fencing on one PostgreSQL database."""

    def __init__(
        self,
        url: str,
        units: Units,
        *,
        password: Secret | None = None,
        timings: LeaseTimings | None = None,
        require_sync_replication: bool = False,
        pool_size: int = 8,
        clock: Callable[[], float] = boottime,
        rand: Callable[[], float] = random.random,
        pace_clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        readonly: bool = False,
    ) -> None:
        """`clock`: local lease trust (CLOCK_BOOTTIME); `pace_clock`: Unix seconds for
        shared paces (None: the database's clock); `sleep`: how a pace waits; `now`:
        the journal's time, as `Journal`'s; `readonly`: a reader (`status`, `check`)
        that migrates, records and acquires nothing."""
        self.where = shown_url(url)  # host and database, never the password
        self.noun = "state database"
        self.units = units
        self.holder = uuid.uuid4().hex  # fresh per start: never mistaken for a dead self
        self.warnings: list[str] = []
        self.created = False
        """This open made the state: it knows no row (as `Journal.created`)."""
        self.created_at = ""
        """When the state was made (as `Journal.created_at`)."""
        self._conninfo = conninfo(url, password)
        self._timings = timings or LeaseTimings()
        self._require_sync = require_sync_replication
        self._pool_size = pool_size
        self._clock, self._rand = clock, rand
        self._pace_clock, self._sleep, self._now = pace_clock, sleep, now
        self._readonly = readonly
        self._paces, self._paces_lock = {}, threading.Lock()

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        import psycopg

        conn = psycopg.Connection.connect(self._conninfo, autocommit=True, prepare_threshold=None)
        nul_free(conn)
        return conn

    def open(self) -> None:
        """Connect, migrate, check the database, then start the pool and the leases."""
        from psycopg_pool import ConnectionPool

        with translated(self.where):
            conn = self._connect()
        try:
            with translated(self.where):
                self._prepare(conn)
        finally:
            conn.close()
        for warning in [] if self._readonly else self.warnings:  # a reader shows them
            log.warning("%s", warning)
        pool: ConnectionPool[Any] = ConnectionPool(
            self._conninfo,
            kwargs={"prepare_threshold": None},
            configure=nul_free,
            min_size=1,
            max_size=self._pool_size,
            open=False,
            check=ConnectionPool.check_connection,
            name="sheetsync",
            timeout=min(OPEN_TIMEOUT, self._timings.lease / 3),
        )
        with translated(self.where):
            pool.open(wait=True, timeout=OPEN_TIMEOUT)
        self._pool = pool
        identity = (self.holder, socket.gethostname(), os.getpid(), installed_version())
        self._leases = Leases(
            self._connect,
            identity,
            self.units,
            self._timings,
            self._take_over,
            clock=self._clock,
            rand=self._rand,
            where=self.where,
        )

    def _prepare(self, conn: psycopg.Connection[tuple[Any, ...]]) -> None:
        """The schema (a reader only checks it), known states, replication, the birth record."""
        if self._readonly:
            self.created_at = check_readable(conn, self.where)
        else:
            migrate(conn)
        refuse_unknown_states(conn, self.where)
        self.warnings = check_database(conn, self.where, require_sync=self._require_sync)
        if not self._readonly:
            self.created, self.created_at = record_birth(conn, iso(self._now()))
            if self.created:  # as the SQLite journal says it: a lost state starts here
                logging.getLogger("sheetsync.journal").info(
                    "created a new journal at %s", self.where
                )

    def close(self) -> None:
        """Release every lease, stop renewing, close the pool."""
        leases = getattr(self, "_leases", None)
        if leases is not None and not self._readonly:
            leases.close()
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.close()

    # -- leases ----------------------------------------------------------------------
    def start(self) -> None:
        """Renew and acquire on the lease thread (the daemon); `once` calls rounds itself."""
        if not self._readonly:
            self._leases.start()

    def acquire(self) -> list[LeaseEvent]:
        """One acquisition round up to the fair share (takeover recovery included); a
        reader takes nothing (and so can write nothing: every write is fenced)."""
        return [] if self._readonly else self._leases.acquire()

    def renew(self) -> list[LeaseEvent]:
        """Extend every held lease; units found taken are reported lost."""
        return self._leases.renew()

    def release(self, units: Iterable[str] | None = None) -> list[LeaseEvent]:
        """Give units up (all with `None`) so a peer can take them at once."""
        return self._leases.release(units)

    def retarget(self, units: Units) -> list[LeaseEvent]:
        """A reload: units no longer configured are released at once (a peer may take
        them); held ones carry the new watches' hash; new ones are looked for from the
        next acquisition round."""
        self.units = units
        if self._readonly:
            return []
        self._leases.units = units
        events = self._leases.release(set(self._leases.held()) - set(units.hashes))
        with self.unfenced() as conn:  # peers compare their watches with the new ones
            for unit, epoch in sorted(self._leases.held().items()):
                conn.execute(
                    "UPDATE leases SET config_hash = %s WHERE unit = %s AND holder = %s"
                    " AND epoch = %s",
                    (units.hashes[unit], unit, self._leases.holder, epoch),
                )
        return events

    def held(self) -> Mapping[str, int]:
        """The units this instance holds, with their epochs."""
        return self._leases.held()

    def trusted(self, unit: str) -> bool:
        """Whether the lease is surely still ours: check before every external side effect."""
        return self._leases.trusted(unit)

    def events(self) -> list[LeaseEvent]:
        """Ownership changes found by the lease thread since the last call."""
        return self._leases.events()

    # -- recovery ------------------------------------------------------------------------
    def recover(self, now: datetime) -> int:
        """Recover every unit held (each is recovered at acquisition already: usually 0)."""
        return sum(self.recover_unit(unit, now) for unit in self._held_units())

    def recover_unit(self, unit: str, now: datetime) -> int:
        """The unit's `sending` rows become `unknown`; late outcomes apply; plans reset."""
        return self._recover(unit, self._epoch(unit), now)

    def _take_over(self, unit: str, epoch: int) -> int:
        return self._recover(unit, epoch, datetime.now(UTC))

    def _recover(self, unit: str, epoch: int, now: datetime) -> int:
        """One fenced transaction at takeover: FLEET.md's recovery of one unit."""
        stamp, watches = iso(now), self.units.watches(unit)
        with self.fenced(unit, epoch) as conn:
            stuck = conn.execute(
                "UPDATE rows SET state = 'unknown', message = %s, updated_at = %s"
                " WHERE watch = ANY(%s) AND state = 'sending' RETURNING watch, row_id",
                (UNKNOWN_MESSAGE, stamp, watches),
            ).fetchall()
            why = f"recovered at takeover (epoch {epoch})"
            histories(conn, [(stamp, w, r, "unknown", why) for w, r in sorted(stuck)])
            self._apply_late(conn, watches, stamp)
            # the first cycle under this epoch reads whole and compares every row with the
            # journal (`Memory.reprojects`, `core.reprojection`)
            conn.execute("DELETE FROM plans WHERE watch = ANY(%s)", (watches,))
            self._settle(conn, watches, stamp)
        return len(stuck)

    def apply_late(self, unit: str, now: datetime) -> int:
        """Apply answers a former holder received after losing the unit; return how many."""
        watches = self.units.watches(unit)
        if not self._rows("SELECT 1 FROM late_outcomes WHERE watch = ANY(%s) LIMIT 1", (watches,)):
            return 0
        with self.fenced(unit, self._epoch(unit)) as conn:
            return self._apply_late(conn, watches, iso(now))

    def _apply_late(self, conn: Any, watches: list[str], stamp: str) -> int:
        """Late outcomes land on rows still `unknown` (a retried row keeps its new story)."""
        found = conn.execute(
            "WITH taken AS (DELETE FROM late_outcomes WHERE watch = ANY(%s) RETURNING *)"
            " SELECT watch, row_ids, epoch, state, link, message, next_attempt_at, reason"
            " FROM taken ORDER BY id",
            (watches,),
        ).fetchall()
        for watch, row_ids, epoch, state, link, message, next_at, reason in found:
            unknown = [
                r[0]
                for r in conn.execute(
                    "SELECT row_id FROM rows WHERE watch = %s AND row_id = ANY(%s)"
                    " AND state = 'unknown' ORDER BY row_id",
                    (watch, row_ids),
                ).fetchall()
            ]
            at = datetime.fromisoformat(next_at) if next_at else None
            outcome = Outcome(state, link, message, at, reason)
            if unknown:
                self._outcome(conn, watch, unknown, outcome, stamp, None)
            history(conn, stamp, watch, unknown, state, f"late answer from epoch {epoch}")
        return len(found)

    # -- what `status` shows ---------------------------------------------------------------
    def instances(self) -> list[Instance]:
        """Live and recently seen instances, newest heartbeat first."""
        found = self._rows(
            "SELECT holder, host, pid, version, extract(epoch FROM now() - heartbeat_at),"
            " started_at, extract(epoch FROM expires_at - now())"
            " FROM instances ORDER BY heartbeat_at DESC"
        )
        return [
            Instance(h, host, int(pid), v, float(age), iso(started.astimezone(UTC)), float(left))
            for h, host, pid, v, age, started, left in found
        ]

    def holdings(self) -> list[Holding]:
        """Who holds each unit of this config, at which epoch."""
        found = self._rows(
            "SELECT unit, holder, epoch, extract(epoch FROM expires_at - now()) FROM leases"
            " WHERE unit = ANY(%s) ORDER BY unit",
            (self.units.all,),
        )
        return [Holding(u, h, int(e), float(left)) for u, h, e, left in found]


def _conforms(store: PostgresStore) -> Store:
    """Never called: mypy checks here that `PostgresStore` implements the whole protocol."""
    return store
