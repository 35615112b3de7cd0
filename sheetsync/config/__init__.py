"""Configuration: TOML -> one frozen, validated `Config` (`load_config(path, environ)`).

`model` holds the sections and their loading, `schema` the small validator behind them,
`google_settings` the `[google]` tables, `endpoints` where a secret may be sent. Import
the public names from here: `from sheetsync.config import Watch`. See docs/ARCHITECTURE.md.
"""

from sheetsync.config.model import (
    DEFAULT_AXIOM_CALLS_PER_MINUTE,
    DEFAULT_AXIOM_CONNECT_TIMEOUT,
    DEFAULT_AXIOM_READ_TIMEOUT,
    DEFAULT_AXIOM_RETRIES,
    DEFAULT_AXIOM_URL,
    DEFAULT_TRACK_POLL_MAX_SECONDS,
    DEFAULT_TRACK_POLL_SECONDS,
    DEFAULT_TRACK_TIMEOUT_SECONDS,
    STATES_WITH_WORDS,
    AxiomSettings,
    Columns,
    Config,
    MetricsSettings,
    Secret,
    Statuses,
    Watch,
    load_config,
    parse_config,
    read_axiom_key,
    read_secret_file,
    resolve_path,
)
from sheetsync.config.state_settings import StateSettings

__all__ = [
    "DEFAULT_AXIOM_CALLS_PER_MINUTE",
    "DEFAULT_AXIOM_CONNECT_TIMEOUT",
    "DEFAULT_AXIOM_READ_TIMEOUT",
    "DEFAULT_AXIOM_RETRIES",
    "DEFAULT_AXIOM_URL",
    "DEFAULT_TRACK_POLL_MAX_SECONDS",
    "DEFAULT_TRACK_POLL_SECONDS",
    "DEFAULT_TRACK_TIMEOUT_SECONDS",
    "STATES_WITH_WORDS",
    "AxiomSettings",
    "Columns",
    "Config",
    "MetricsSettings",
    "Secret",
    "StateSettings",
    "Statuses",
    "Watch",
    "load_config",
    "parse_config",
    "read_axiom_key",
    "read_secret_file",
    "resolve_path",
]
