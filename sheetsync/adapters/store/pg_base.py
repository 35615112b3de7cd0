"""What every PostgreSQL store part shares: the pool, plain reads and fenced transactions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sheetsync.adapters.store.journal_records import iso
from sheetsync.adapters.store.pg_errors import translated
from sheetsync.adapters.store.units import Units
from sheetsync.core.model import Entry
from sheetsync.errors import LeaseLostError

if TYPE_CHECKING:
    from datetime import datetime

    import psycopg
    from psycopg_pool import ConnectionPool

    from sheetsync.adapters.store.leases import Leases

FENCE = (
    "SELECT set_config('idle_in_transaction_session_timeout', %s, true) FROM leases"
    " WHERE unit = %s AND holder = %s AND epoch = %s FOR KEY SHARE"
)
"""The first statement of every fenced transaction. FOR KEY SHARE lets renewals through but
makes a takeover (an epoch bump) wait for this transaction; after the takeover the row no
longer matches, so a later transaction of the old holder finds nothing and rolls back.
The server ends the transaction if its client goes quiet in it for a third of the lease
(`idle_timeout`, for this transaction only): a partitioned holder's open transaction must
not hold a takeover up until TCP keepalives give up (hours by default)."""


def idle_timeout(lease: float) -> str:
    """`idle_in_transaction_session_timeout` for fenced transactions (milliseconds)."""
    return str(max(1, round(lease * 1000 / 3)))


ENTRY_COLUMNS = (
    "SELECT row_id, state, fingerprint, link, message, triggered_at, run_status,"
    " next_attempt_at, checked, shown FROM rows"
)


class PgBase:
    """The pool, the units and the leases that fence every write."""

    where: str
    units: Units
    _pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]]
    _leases: Leases

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """One read outside any fence (a read changes nothing)."""
        with translated(self.where), self._pool.connection() as conn:
            return conn.execute(sql, params).fetchall()

    @contextmanager
    def unfenced(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """A transaction outside any fence: for facts of a key or an automation name, which
        no unit owns (never for a unit's rows)."""
        with translated(self.where), self._pool.connection() as conn:
            yield conn

    @contextmanager
    def fenced(self, unit: str, epoch: int) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """A transaction that commits only while this holder has `unit` at `epoch`."""
        with translated(self.where), self._pool.connection() as conn:
            idle = idle_timeout(self._leases.timings.lease)
            found = conn.execute(FENCE, (idle, unit, self._leases.holder, epoch)).fetchone()
            if found is None:
                raise LeaseLostError(unit, epoch)  # the pool rolls the transaction back
            yield conn
            with translated(self.where, committing=True):
                conn.commit()

    def _epoch(self, unit: str) -> int:
        """The epoch this process holds `unit` at; `LeaseLostError` when it holds none."""
        epoch = self._leases.held().get(unit)
        if epoch is None:
            raise LeaseLostError(unit, self._leases.last_epoch(unit))
        return epoch

    def _unit(self, watch: str) -> str:
        """The unit of a watch (a watch of no unit is its own: nobody holds it)."""
        return self.units.of_watch.get(watch, f"watch:{watch}")

    def _tx(self, watch: str) -> Any:
        """A fenced transaction on the unit of `watch`."""
        unit = self._unit(watch)
        return self.fenced(unit, self._epoch(unit))

    def _held_units(self) -> list[str]:
        return sorted(self._leases.held())


def event(
    conn: psycopg.Connection[tuple[Any, ...]],
    at: str,
    watch: str,
    row_id: str,
    state: str,
    detail: str = "",
) -> None:
    """Add one history line inside an open transaction."""
    conn.execute(
        "INSERT INTO events (at, watch, row_id, state, detail) VALUES (%s, %s, %s, %s, %s)",
        (at, watch, row_id, state, detail),
    )


def entry(row: tuple[Any, ...], now: datetime) -> Entry:
    """An `Entry` from a row of `ENTRY_COLUMNS` (as `Journal` builds it)."""
    due = iso(now)
    return Entry(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        row[1] == "waiting" and row[7] <= due,
        bool(row[8]),
        bool(row[9]),
    )
