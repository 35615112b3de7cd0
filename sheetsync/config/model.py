"""TOML configuration -> one frozen, validated `Config`; `load_config(path, environ)`.

Every problem becomes one `ConfigError` line that names the file and the key.
Relative paths are resolved against the config file's folder; secrets are read from
the environment, a key file or a systemd credential, never from the TOML itself.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from sheetsync.config.endpoints import require_secure
from sheetsync.config.google_settings import GoogleSettings, IdentitySettings, check_identities
from sheetsync.config.schema import INTERNAL, Invalid, build, keys, limits, values
from sheetsync.config.state_settings import StateSettings
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

DEFAULT_TRACK_POLL_SECONDS = 5.0
"""First /run-data poll this long after a trigger; axiom suggests polling every 5-15 s."""
DEFAULT_TRACK_POLL_MAX_SECONDS = 60.0
"""The poll interval doubles up to this (axiom suggests backing off to 60 s)."""
DEFAULT_TRACK_TIMEOUT_SECONDS = 6 * 3600.0
"""A run with no final status after this long stops being tracked (and holding a slot)."""

_SPREADSHEET_URL = re.compile(r"/spreadsheets/(?:u/\d+/)?d/([A-Za-z0-9_-]+)")
"""`.../spreadsheets/d/ID/...`, also as signed-in users copy it: `.../spreadsheets/u/0/d/ID/...`."""


class Secret:
    """A secret string whose repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one call that needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


_POSITIVE = limits(gt=0)
_PER_MINUTE = limits(gt=0, le=10_000)
_RETRIES = limits(ge=0, le=10)
_NAME = limits(min_length=1)


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
class Columns:
    """`[watch.columns]`: headers of the result columns sheetsync owns."""

    status: str = "Status"
    link: str = "Run link"
    message: str = "Message"
    triggered_at: str = "Triggered at"
    run_status: str = "Run status"
    id: str = "sheetsync id"
    given: frozenset[str] = field(default=frozenset(), metadata=INTERNAL)
    """The keys the file set: `triggered_at` and `run_status` are added only when asked."""


@dataclass(frozen=True)
class Statuses:
    """`[watch.statuses]`: the words written into the status column."""

    sending: str = "sending"
    triggered: str = "triggered"
    queued: str = "queued"
    error: str = "error"
    waiting: str = "waiting"
    unknown: str = "unknown"
    skipped: str = "skipped"
    running: str = "running"
    success: str = "success"
    failure: str = "failure"
    untracked: str = "untracked"
    retry: str = "retry"

    def check(self) -> None:
        """Every word is there and tells its state apart."""
        words = [w.strip().casefold() for w in values(self).values()]
        if any(not w for w in words):
            raise ValueError("status words must not be empty")
        if len(set(words)) != len(words):
            raise ValueError("status words must be distinct")


STATES_WITH_WORDS = frozenset(keys(Statuses))
"""The journal states that have a word of their own in `[watch.statuses]`."""


@dataclass(frozen=True)
class Watch:
    """`[[watch]]`: one worksheet tab bound to one automation."""

    name: str = field(metadata=_NAME)
    spreadsheet: str = field(metadata=_NAME)
    worksheet: str = field(metadata=_NAME)
    identity: str | None = None
    automation: str | None = None
    automation_column: str | None = None
    interval_seconds: float | None = field(default=None, metadata=_POSITIVE)
    cron: str | None = None
    mode: Literal["row", "batch"] = "row"
    max_rows_per_trigger: int = field(default=100, metadata=_POSITIVE)
    data_shape: Literal["rows", "tables"] = "rows"
    include_header: bool = True
    input_columns: tuple[str, ...] | None = None
    add_missing_columns: bool = True
    start_from: Literal["all", "now"] = "all"
    ready_column: str | None = None
    settle_seconds: float = field(default=0.0, metadata=limits(ge=0))
    send_row_id: bool = False
    track_runs: bool = False
    track_poll_seconds: float = field(default=DEFAULT_TRACK_POLL_SECONDS, metadata=_POSITIVE)
    track_poll_max_seconds: float = field(
        default=DEFAULT_TRACK_POLL_MAX_SECONDS, metadata=_POSITIVE
    )
    track_timeout_seconds: float = field(default=DEFAULT_TRACK_TIMEOUT_SECONDS, metadata=_POSITIVE)
    max_in_flight: int | None = field(default=None, metadata=_POSITIVE)
    enabled: bool = True
    columns: Columns = Columns()
    statuses: Statuses = Statuses()

    def check(self) -> None:
        """The settings that only make sense together."""
        if self.automation is None and self.automation_column is None:
            raise ValueError("set automation (or automation_column)")
        if self.interval_seconds is not None and self.cron is not None:
            raise ValueError("set interval_seconds or cron, not both")
        if self.cron is not None:
            _check_cron(self.cron)
        if self.track_poll_max_seconds < self.track_poll_seconds:
            raise ValueError("track_poll_max_seconds must not be below track_poll_seconds")
        if self.max_in_flight is not None and not self.track_runs:
            raise ValueError(
                "max_in_flight needs track_runs = true (sheetsync learns that a run has "
                "ended by tracking it)"
            )

    @property
    def spreadsheet_id(self) -> str:
        """The spreadsheet id, whether the config gave an id or a full URL."""
        match = _SPREADSHEET_URL.search(self.spreadsheet)
        return match.group(1) if match else self.spreadsheet.strip()

    @property
    def interval(self) -> float:
        """Seconds between cycles when no cron expression is set."""
        return self.interval_seconds if self.interval_seconds is not None else 60.0


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


_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def resolve_path(value: str, source: Path, environ: Mapping[str, str] | None = None) -> Path:
    """Expand `${VAR}`/`~` and make a relative path relative to the config file."""
    env = os.environ if environ is None else environ

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return env.get(name, match.group(0))

    path = Path(os.path.expanduser(_VARIABLE.sub(lookup, value)))
    return path if path.is_absolute() else source.parent / path


def _check_cron(expression: str) -> None:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"invalid cron expression {expression!r}: {exc}") from exc


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
    _check_variables(config, environ, secrets=secrets)
    if secrets:
        key = read_axiom_key(config, environ)
        config = replace(config, axiom_key=key)
    return config


def _check_variables(config: Config, environ: Mapping[str, str], *, secrets: bool) -> None:
    """A path naming an unset `${VAR}` is an error naming the key and the variable (left
    as it is, it would become a relative path beside the config file)."""
    paths = {"state.path": config.state.path}
    if config.state.password_file is not None:  # `status` and `check` need it too
        paths["state.password_file"] = config.state.password_file
    if secrets:
        google = config.google
        if google.service_account_file is not None:
            paths["google.service_account_file"] = google.service_account_file
        for identity in google.identity:
            paths[google.key_label(identity)] = identity.service_account_file
        if config.axiom.api_key_file is not None:
            paths["axiom.api_key_file"] = config.axiom.api_key_file
    for key, value in paths.items():
        for match in _VARIABLE.finditer(value):
            name = match.group(1) or match.group(2)
            if not environ.get(name):
                raise ConfigError(
                    f"{config.source}: {key}: {value!r} uses ${{{name}}}, which is not set "
                    "in the environment"
                )


def parse_config(raw: Mapping[str, Any], source: Path) -> Config:
    """Validate a parsed TOML mapping into a `Config`."""
    try:
        config = build(Config, raw)
    except Invalid as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    return replace(config, source=source)


def read_axiom_key(config: Config, environ: Mapping[str, str]) -> Secret:
    """The axiom API key from the named environment variable or key file."""
    settings = config.axiom
    if settings.api_key_env is not None:
        value = environ.get(settings.api_key_env, "").strip()
        if not value:
            raise ConfigError(
                f"{config.source}: axiom.api_key_env: environment variable "
                f"{settings.api_key_env} is not set or empty"
            )
        return _registered(value)
    if settings.api_key_file is None:  # validation requires one; a Config built by hand may not
        raise ConfigError(f"{config.source}: axiom: set api_key_env or api_key_file")
    key_path = resolve_path(settings.api_key_file, config.source, environ)
    value = read_secret_file(key_path, "axiom.api_key_file", config.source, environ).strip()
    if not value:
        raise ConfigError(f"{config.source}: axiom.api_key_file: {key_path} is empty")
    return _registered(value)


def _registered(value: str) -> Secret:
    from sheetsync.redact import register_secret

    register_secret(value)
    return Secret(value)


def read_secret_file(
    path: Path, key: str, source: Path, environ: Mapping[str, str] | None = None
) -> str:
    """Read a key file, refusing one that group or others can read (like ssh does)."""
    environ = os.environ if environ is None else environ
    try:
        info = path.stat()
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO) and not _is_credential(path, environ):
            mode = stat.S_IMODE(info.st_mode)
            raise ConfigError(
                f"{source}: {key}: {path} is readable by others (mode {mode:04o}); "
                f"run: chmod 600 {path}"
            )
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{source}: {key}: {path} does not exist") from exc
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"{source}: {key}: cannot read {path}: {reason}") from exc
    except UnicodeDecodeError:  # not `from exc`: its `object` is the secret file's bytes
        raise ConfigError(f"{source}: {key}: cannot read {path}: UnicodeDecodeError") from None


def _is_credential(path: Path, environ: Mapping[str, str]) -> bool:
    """Files systemd delivers through LoadCredential= live in a private directory."""
    directory = environ.get("CREDENTIALS_DIRECTORY")
    return directory is not None and path.resolve().parent == Path(directory).resolve()
