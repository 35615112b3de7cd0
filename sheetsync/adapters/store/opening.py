"""The one place a config's `[state]` becomes a `Store`: SQLite for `path`, PostgreSQL for
`url` (psycopg is imported only then, so a SQLite user's process never loads it)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sheetsync.adapters.store.protocol import Store
from sheetsync.adapters.store.settings import LeaseTimings, read_password
from sheetsync.adapters.store.units import Units, units_of
from sheetsync.config import Config

if TYPE_CHECKING:
    from sheetsync.adapters.store.pg_checks import Inspection


def open_store(
    config: Config,
    *,
    readonly: bool = False,
    units: Units | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
    pace_clock: Callable[[], float] | None = None,
    timings: LeaseTimings | None = None,
    environ: Mapping[str, str] | None = None,
) -> Store:
    """Open the config's state: a SQLite journal (locked, every unit held by this process)
    or a PostgreSQL store (migrated and checked, holding nothing until `acquire`/`start`).

    `readonly`: a reader (`status`, `check`): no lock, no migration, nothing held or written.
    `units`: default the config's enabled watches. `sleep`/`pace_clock`: how PostgreSQL's
    shared paces wait and what time they count in (None: the database's clock).
    `timings`: override `[state]`'s lease timings (tests). Raises `StoreError`
    (`JournalError` for SQLite) when the state cannot be opened, `ConfigError` for an
    unreadable password file.
    """
    state = config.state
    units = units_of(config.watches) if units is None else units
    store: Store
    if state.url is None:
        from sheetsync.adapters.store.sqlite import SqliteStore

        store = SqliteStore(config.state_path, units, now=now, readonly=readonly)
    else:
        from sheetsync.adapters.store.postgres import PostgresStore

        store = PostgresStore(
            state.url,
            units,
            password=read_password(state, config.source, environ),
            timings=timings or state.timings,
            require_sync_replication=state.require_sync_replication,
            pool_size=state.pool_size,
            pace_clock=pace_clock,
            sleep=sleep,
            now=now,
            readonly=readonly,
        )
    try:
        store.open()
    except BaseException:
        store.close()
        raise
    return store


def inspect_state(config: Config, environ: Mapping[str, str] | None = None) -> Inspection:
    """`[state] url` only: reachable, schema version, replication and lease table, as
    `run` would find them; nothing is migrated or written (`sheetsync check`)."""
    from sheetsync.adapters.store.pg_checks import inspect

    state = config.state
    if state.url is None:
        raise ValueError("inspect_state needs [state] url")
    password = read_password(state, config.source, environ)
    return inspect(state.url, password, require_sync=state.require_sync_replication)
