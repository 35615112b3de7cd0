"""`[state]` for a fleet: the PostgreSQL URL, its password, lease timings, safety switches.

Proposed shape (the lead wires it into `config.StateSettings`; until then `[state]` takes
only `path`, so a `url` cannot be silently ignored):

    [state]
    url = "postgresql://sheetsync@db.example/sheetsync"
    password_file = "${CREDENTIALS_DIRECTORY}/pg-password"   # never in the URL
    lease_seconds = 30
    renew_seconds = 10
    acquire_seconds = 5
    require_sync_replication = false

The password comes from `password_file` (or a systemd credential, or libpq's own
PGPASSFILE); a URL that carries one is refused, like every secret in the TOML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sheetsync.config import Secret, read_secret_file, resolve_path
from sheetsync.config.schema import Invalid, build, limits
from sheetsync.errors import ConfigError

DEFAULT_LEASE_SECONDS = 30.0
"""A dead holder's spreadsheets wait at most this long (plus one acquire poll) for a peer."""
DEFAULT_RENEW_SECONDS = 10.0
"""Renew three times per lease: two renewals may fail before the lease is in danger."""
DEFAULT_ACQUIRE_SECONDS = 5.0
"""How often free spreadsheets are looked for (with jitter, so peers do not collide)."""
DEFAULT_CONNECT_TIMEOUT = 5
"""Seconds to open a database connection before trying the next host or giving up."""

CONNECTION_DEFAULTS: Mapping[str, str] = {
    "connect_timeout": str(DEFAULT_CONNECT_TIMEOUT),
    "keepalives": "1",
    "keepalives_idle": "5",  # a silent peer is probed after 5 s ...
    "keepalives_interval": "2",  # ... every 2 s ...
    "keepalives_count": "3",  # ... and dropped after 3 unanswered probes
    "tcp_user_timeout": "10000",  # unacknowledged writes give up after 10 s (ms)
    "target_session_attrs": "read-write",  # the primary only, never a standby
    "application_name": "sheetsync",
}
"""libpq parameters that notice a dead peer in seconds; a URL's own values win."""


@dataclass(frozen=True)
class LeaseTimings:
    """How long a lease lasts and how often it is renewed and looked for."""

    lease: float = DEFAULT_LEASE_SECONDS
    renew: float = DEFAULT_RENEW_SECONDS
    acquire: float = DEFAULT_ACQUIRE_SECONDS
    margin: float | None = None
    """Local trust ends this long before the lease would (default: a sixth of the lease)."""
    jitter: float = 0.2
    """Acquire polls are spread by up to this fraction of `acquire`."""

    @property
    def trust_margin(self) -> float:
        """Seconds before a lease's end at which this process stops trusting it."""
        return self.margin if self.margin is not None else self.lease / 6


TEST_TIMINGS = LeaseTimings(lease=2.0, renew=0.67, acquire=0.25)
"""The short timings FLEET.md's tests use."""

_SECONDS = limits(gt=0)


@dataclass(frozen=True)
class PostgresState:
    """`[state]` with a `url`: the keys a fleet adds to the SQLite `path`."""

    url: str = field(metadata=limits(min_length=1))
    password_file: str | None = None
    lease_seconds: float = field(default=DEFAULT_LEASE_SECONDS, metadata=_SECONDS)
    renew_seconds: float = field(default=DEFAULT_RENEW_SECONDS, metadata=_SECONDS)
    acquire_seconds: float = field(default=DEFAULT_ACQUIRE_SECONDS, metadata=_SECONDS)
    require_sync_replication: bool = False
    pool_size: int = field(default=8, metadata=limits(gt=1, le=100))

    def check(self) -> None:
        """A URL libpq understands, without a password; renewals well inside a lease."""
        parts = urlsplit(self.url)
        if parts.scheme not in {"postgresql", "postgres"}:
            raise ValueError("url must start with postgresql://")
        if parts.password is not None or "password=" in parts.query:
            raise ValueError("url must not contain the password: use password_file")
        if self.renew_seconds * 2 > self.lease_seconds:
            raise ValueError("renew_seconds must be at most half of lease_seconds")

    @property
    def timings(self) -> LeaseTimings:
        """The lease timings these keys set."""
        return LeaseTimings(self.lease_seconds, self.renew_seconds, self.acquire_seconds)


def parse_state(raw: Mapping[str, Any], source: Path) -> PostgresState | None:
    """The PostgreSQL settings of a `[state]` table, or None when it names no `url`."""
    if "url" not in raw:
        return None
    fleet = {k: v for k, v in raw.items() if k != "path"}
    try:
        return build(PostgresState, fleet, ("state",))
    except Invalid as exc:
        raise ConfigError(f"{source}: {exc}") from exc


def read_password(
    state: PostgresState, source: Path, environ: Mapping[str, str] | None = None
) -> Secret | None:
    """The database password from `password_file` (registered for redaction), if any."""
    if state.password_file is None:
        return None
    path = resolve_path(state.password_file, source, environ)
    value = read_secret_file(path, "state.password_file", source, environ).strip()
    if not value:
        raise ConfigError(f"{source}: state.password_file: {path} is empty")
    from sheetsync.redact import register_secret

    register_secret(value)
    return Secret(value)


def conninfo(url: str, password: Secret | None = None) -> str:
    """The libpq connection string: the URL, the password, and dead-peer defaults."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    given = conninfo_to_dict(url)
    extra: dict[str, Any] = {k: v for k, v in CONNECTION_DEFAULTS.items() if k not in given}
    if password is not None:
        extra["password"] = password.reveal()
    return make_conninfo(url, **extra)


def shown_url(url: str) -> str:
    """The URL as logs may show it: no password, no query parameters."""
    parts = urlsplit(url)
    user, _, hosts = parts.netloc.rpartition("@")
    user = user.partition(":")[0]  # drop a password, should one be there
    return f"{parts.scheme}://{user + '@' if user else ''}{hosts}{parts.path}"
