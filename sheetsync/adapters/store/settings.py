"""PostgreSQL connection details for `[state] url`: the password, dead-peer defaults, the
URL as logs show it. The keys themselves are parsed by `config.StateSettings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sheetsync.config import Secret, StateSettings, read_secret_file, resolve_path
from sheetsync.config.state_settings import (
    DEFAULT_ACQUIRE_SECONDS,
    DEFAULT_LEASE_SECONDS,
    DEFAULT_RENEW_SECONDS,
    LeaseTimings,
)
from sheetsync.errors import ConfigError

__all__ = [
    "CONNECTION_DEFAULTS",
    "DEFAULT_ACQUIRE_SECONDS",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_LEASE_SECONDS",
    "DEFAULT_RENEW_SECONDS",
    "TEST_TIMINGS",
    "LeaseTimings",
    "conninfo",
    "read_password",
    "shown_url",
]

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


TEST_TIMINGS = LeaseTimings(lease=2.0, renew=0.67, acquire=0.25)
"""The short timings FLEET.md's tests use."""


def read_password(
    state: StateSettings, source: Path, environ: Mapping[str, str] | None = None
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
