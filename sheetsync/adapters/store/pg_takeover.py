"""Taking a unit: the compare-and-set upsert, bounded so a dead holder cannot hang it.

Bumping the epoch (a key column) waits for the old holder's open fenced transactions:
that orders every commit of epoch e before the one creating e+1. A holder partitioned
with such a transaction open would make that wait last as long as the server keeps its
session, and the taker's lease thread with it: the server's idle-in-transaction timeout
(set by the fence) ends most of them, but not one whose last message was a Flush (psycopg
ends an `executemany`'s pipeline with Sync then Flush, and PostgreSQL re-arms the timer
only at the next Sync). So the takeover waits at most `lock_timeout`; if it timed out,
sessions that hold the lease table's FOR KEY SHARE lock and have sat idle in a
transaction for longer than the fence allows are ended (their transaction can then never
commit, which the ordering allows), and the next acquisition round takes the unit.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sheetsync.adapters.store.settings import LeaseTimings

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("sheetsync.leases")

TAKE = (
    "INSERT INTO leases (unit, holder, epoch, expires_at, acquired_at, config_hash)"
    " VALUES (%(unit)s, %(holder)s, 1, now() + make_interval(secs => %(ttl)s), now(), %(hash)s)"
    " ON CONFLICT (unit) DO UPDATE SET holder = excluded.holder, epoch = leases.epoch + 1,"
    " expires_at = excluded.expires_at, acquired_at = excluded.acquired_at,"
    " config_hash = excluded.config_hash"
    " WHERE leases.holder = '' OR leases.expires_at < now() RETURNING epoch"
)
"""Compare-and-set: only a free unit is taken. Bumping `epoch` (a key column) waits for
the old holder's open fenced transactions; a racing peer re-checks and takes nothing."""

_STALLED = (
    "SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a"
    " WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
    " AND a.state = 'idle in transaction'"
    " AND a.state_change < now() - make_interval(secs => %s)"
    " AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid"
    " AND l.relation = 'leases'::regclass AND l.mode = 'RowShareLock')"
)
"""Fenced transactions (FOR KEY SHARE on `leases`) idle for longer than the fence allows."""


def take(
    conn: psycopg.Connection[tuple[Any, ...]], params: dict[str, Any], timings: LeaseTimings
) -> tuple[Any, ...] | None:
    """The new epoch's row if the unit was free and is now ours; None if it is not free,
    or if the takeover waited `renew / 2` for a stalled holder (ended here: next round)."""
    from psycopg import errors

    wait = str(max(1, round(timings.renew * 1000 / 2)))
    try:
        with conn.transaction():
            conn.execute("SELECT set_config('lock_timeout', %s, true)", (wait,))
            return conn.execute(TAKE, params).fetchone()
    except errors.LockNotAvailable:
        idle = timings.lease / 3  # the fence's limit (`pg_base.idle_timeout`)
        ended = conn.execute(_STALLED, (idle,)).fetchall()
        log.warning(
            "spreadsheet %s: its former holder's transaction held the takeover up; "
            "%d stalled session(s) ended, taking it at the next round",
            params["unit"],
            len(ended),
        )
        return None
