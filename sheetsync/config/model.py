"""TOML configuration -> one frozen, validated `Config`; `load_config(path, environ)`.

Every problem becomes one `ConfigError` line that names the file and the key. This module
holds the top-level sections (`[axiom]`, `[metrics]`, the `Config` itself) and the
loading; `[[watch]]` is in `watches`, `[google]` in `google_settings`, `[state]` in
`state_settings`; relative paths are resolved by `paths` and secrets read by `secrets`
(from the environment, a key file or a systemd credential, never from the TOML itself).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sheetsync.config.endpoints import require_secure
from sheetsync.config.google_settings import GoogleSettings, IdentitySettings, check_identities
from sheetsync.config.paths import check_variables, resolve_path
from sheetsync.config.schema import INTERNAL, Invalid, build, limits
from sheetsync.config.secrets import Secret, read_axiom_key
from sheetsync.config.state_settings import StateSettings
from sheetsync.config.watches import Watch
from sheetsync.errors import ConfigError

DEFAULT_AXIOM_URL = "https://lar.axiom.ai/api/v3"
DEFAULT_AXIOM_CALLS_PER_MINUTE = 90
"""axiom documents 100 calls per rolling minute per key; keep headroom for other clients."""
DEFAULT_AXIOM_CONNECT_TIMEOUT = 5.0
"""Seconds to open a connection; a slow connect is retried (nothing was sent)."""
DEFAULT_AXIOM_READ_TIMEOUT = 30.0
"""Seconds to wait for an answer; a trigger that times out here is `unknown`."""
DEFAULT_AXIOM_RETRIES = 3
"""Extra attempts after a 429, a 5xx or a connection failure before sending."""

_POSITIVE = limits(gt=0)
_PER_MINUTE = limits(gt=0, le=10_000)
_RETRIES = limits(ge=0, le=10)


@dataclass(frozen=True)
class AxiomSettings:
    """`[axiom]`: where the API is and how to find the key."""

    api_key_env: str | None = None
    api_key_file: str | None = None
    base_url: str = DEFAULT_AXIOM_URL
    calls_per_minute: int = field(default=DEFAULT_AXIOM_CALLS_PER_MINUTE, metadata=_PER_MINUTE)
    connect_timeout_seconds: float = field(
        default=DEFAULT_AXIOM_CONNECT_TIMEOUT, metadata=_POSITIVE
    )
    read_timeout_seconds: float = field(default=DEFAULT_AXIOM_READ_TIMEOUT, metadata=_POSITIVE)
    max_retries: int = field(default=DEFAULT_AXIOM_RETRIES, metadata=_RETRIES)
    allow_insecure_http: bool = False

    def check(self) -> None:
        """Exactly one place to find the key; the key travels encrypted."""
        if (self.api_key_env is None) == (self.api_key_file is None):
            raise ValueError("set exactly one of api_key_env or api_key_file")
        require_secure("axiom", "base_url", self.base_url, self.allow_insecure_http)


@dataclass(frozen=True)
class MetricsSettings:
    """`[metrics]`: Prometheus metrics and /healthz; off unless `listen` is set."""

    listen: str | None = None

    def check(self) -> None:
        """`host:port`, e.g. `127.0.0.1:9464`."""
        if self.listen is not None:
            host, sep, port = self.listen.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
                raise ValueError(
                    f"listen must be host:port, e.g. 127.0.0.1:9464, got {self.listen!r}"
                )


@dataclass(frozen=True)
class Config:
    """The whole validated configuration, plus where it came from and the resolved secrets."""

    axiom: AxiomSettings
    google: GoogleSettings
    state: StateSettings = field(default_factory=StateSettings)
    metrics: MetricsSettings = MetricsSettings()
    watch: tuple[Watch, ...] = ()
    source: Path = field(default=Path("sheetsync.toml"), metadata=INTERNAL)
    axiom_key: Secret | None = field(default=None, repr=False, metadata=INTERNAL)

    def check(self) -> None:
        """Watch names identify rows in the journal: no two alike. A watch's identity
        exists, and the watches of one spreadsheet share their reads, so one identity."""
        names = [w.name for w in self.watch]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"watch names must be unique, repeated: {', '.join(dupes)}")
        check_identities(self.google, self.watch)

    @property
    def watches(self) -> tuple[Watch, ...]:
        """The enabled watches."""
        return tuple(w for w in self.watch if w.enabled)

    @property
    def state_path(self) -> Path:
        """The journal file, resolved against the config file's folder."""
        return resolve_path(self.state.path, self.source)

    @property
    def service_account_path(self) -> Path:
        """The (first) service-account key file, resolved."""
        return self.key_path(self.google.identities[0])

    def key_path(self, identity: IdentitySettings) -> Path:
        """An identity's service-account key file, resolved."""
        return resolve_path(identity.service_account_file, self.source)


def load_config(
    path: str | os.PathLike[str], environ: Mapping[str, str] | None = None, *, secrets: bool = True
) -> Config:
    """Read, validate and resolve a config file; raise one-line `ConfigError`s."""
    environ = os.environ if environ is None else environ
    source = Path(path).absolute()
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{source}: config file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:  # the config file holds no secrets
        raise ConfigError(f"{source}: cannot read config file: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    config = parse_config(raw, source)
    check_variables(config, environ, secrets=secrets)
    if secrets:
        key = read_axiom_key(config, environ)
        config = replace(config, axiom_key=key)
    return config


def parse_config(raw: Mapping[str, Any], source: Path) -> Config:
    """Validate a parsed TOML mapping into a `Config`."""
    try:
        config = build(Config, raw)
    except Invalid as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    return replace(config, source=source)
