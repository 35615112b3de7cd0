"""`sheetsync migrate-state`: move a single box's SQLite journal into the config's
PostgreSQL database, so that a fleet starts knowing every row the box handled.

The body is `state_migration.migrate_state`; this module finds the journal and the
password, turns its refusals into one-line errors, and says what was copied.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sheetsync.adapters.store.settings import read_password, shown_url
from sheetsync.config import load_config
from sheetsync.errors import ConfigError, JournalError, JournalReason

SHOWN_TABLES = ("rows", "events", "watches", "plans", "places", "strays", "quota_calls")
"""The copied tables the summary names (the others are small bookkeeping)."""


def move_state(config_path: Path, source: Path | None, environ: Mapping[str, str]) -> list[str]:
    """Copy the journal (`source`, else the config's `[state] path`) into `[state] url`;
    the lines to print. Raises `ConfigError` (no url, a bad password file) or
    `JournalError` (no journal, a running sheetsync, a used or served database)."""
    from sheetsync.adapters.store.state_migration import migrate_state

    config = load_config(config_path, environ, secrets=False)
    state = config.state
    if state.url is None:
        raise ConfigError(
            f"{config.source}: [state] url is not set: migrate-state copies the journal into "
            "the PostgreSQL database that url names"
        )
    path = source.absolute() if source is not None else config.state_path
    password = read_password(state, config.source, environ)
    try:
        migrated = migrate_state(path, state.url, password=password)
    except JournalError as exc:
        if exc.reason is JournalReason.LOCKED:
            raise JournalError(
                f"{path}: a running sheetsync holds this journal; stop it (and every other "
                "instance) before migrate-state",
                exc.reason,
            ) from exc
        raise
    copied = migrated.copied
    counts = ", ".join(f"{copied.get(t, 0)} {t}" for t in SHOWN_TABLES)
    return [
        f"copied {path} into {shown_url(state.url)}: {counts}",
        "rows that were `sending` become `unknown` when an instance takes their spreadsheet "
        "(never re-sent)",
        f"start sheetsync with {config.source} on each host; keep {path} as a backup "
        "(nothing writes it any more)",
    ]
