"""`[state]`: where the journal lives: a SQLite file (`path`) or PostgreSQL (`url`).

Part of the config (`sheetsync.config.Config.state`). A `url` makes several sheetsync
instances share one config's spreadsheets (docs/FLEET-IMPLEMENTATION.md); its keys
(`password_file`, lease timings, `require_sync_replication`, `pool_size`) mean nothing
for a file and are refused without a `url`. The password comes from `password_file`
(or a systemd credential, or libpq's own PGPASSFILE); a URL that carries one is refused,
like every secret in the TOML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sheetsync.config.schema import INTERNAL, Invalid, limits

DEFAULT_STATE_PATH = "sheetsync.db"
DEFAULT_LEASE_SECONDS = 30.0
"""A dead holder's spreadsheets wait at most this long (plus one acquire poll) for a peer."""
DEFAULT_RENEW_SECONDS = 10.0
"""Renew three times per lease: two renewals may fail before the lease is in danger."""
DEFAULT_ACQUIRE_SECONDS = 5.0
"""How often free spreadsheets are looked for (with jitter, so peers do not collide)."""
DEFAULT_POOL_SIZE = 8
"""Database connections one instance keeps for journal work (leases use one more)."""

FLEET_KEYS = (
    "password_file",
    "lease_seconds",
    "renew_seconds",
    "acquire_seconds",
    "require_sync_replication",
    "pool_size",
)
"""The keys that only a PostgreSQL `url` gives a meaning."""

_SECONDS = limits(gt=0)


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


@dataclass(frozen=True)
class StateSettings:
    """`[state]`: the SQLite journal (`path`), or a PostgreSQL database (`url`)."""

    path: str = DEFAULT_STATE_PATH
    url: str | None = field(default=None, metadata=limits(min_length=1))
    password_file: str | None = None
    lease_seconds: float = field(default=DEFAULT_LEASE_SECONDS, metadata=_SECONDS)
    renew_seconds: float = field(default=DEFAULT_RENEW_SECONDS, metadata=_SECONDS)
    acquire_seconds: float = field(default=DEFAULT_ACQUIRE_SECONDS, metadata=_SECONDS)
    require_sync_replication: bool = False
    pool_size: int = field(default=DEFAULT_POOL_SIZE, metadata=limits(gt=1, le=100))
    given: frozenset[str] = field(default=frozenset(), metadata=INTERNAL)
    """The keys the file set: `path` and `url` exclude each other."""

    def check(self) -> None:
        """One place for the state; a URL libpq understands, without a password; renewals
        well inside a lease; no PostgreSQL key without a `url`."""
        if self.url is None:
            for key in FLEET_KEYS:
                if key in self.given:
                    raise Invalid((key,), "needs url (PostgreSQL); a SQLite path has no leases")
            return
        if "path" in self.given:
            raise Invalid(("url",), "set path (SQLite) or url (PostgreSQL), not both")
        parts = urlsplit(self.url)
        if parts.scheme not in {"postgresql", "postgres"}:
            raise Invalid(("url",), "must start with postgresql://")
        if parts.password is not None or "password=" in parts.query:
            raise Invalid(("url",), "must not contain the password: use password_file")
        if self.renew_seconds * 2 > self.lease_seconds:
            raise Invalid(("renew_seconds",), "must be at most half of lease_seconds")

    @property
    def postgres(self) -> bool:
        """Whether the state is a PostgreSQL database (a fleet) rather than a SQLite file."""
        return self.url is not None

    @property
    def timings(self) -> LeaseTimings:
        """The lease timings these keys set."""
        return LeaseTimings(self.lease_seconds, self.renew_seconds, self.acquire_seconds)
