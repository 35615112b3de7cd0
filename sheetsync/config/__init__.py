"""Configuration: TOML -> one frozen, validated `Config` (`load_config(path, environ)`).

`model` holds the top-level sections and their loading, `watches` the `[[watch]]` tables,
`google_settings` the `[google]` tables, `state_settings` `[state]`, `paths` path
resolution, `secrets` the key files and the axiom key, `schema` the small validator behind
them, `endpoints` where a secret may be sent. Import
the public names from here: `from sheetsync.config import Watch`. See docs/ARCHITECTURE.md.
"""

from sheetsync.config.model import (
    DEFAULT_AXIOM_CALLS_PER_MINUTE,
    DEFAULT_AXIOM_CONNECT_TIMEOUT,
    DEFAULT_AXIOM_READ_TIMEOUT,
    DEFAULT_AXIOM_RETRIES,
    DEFAULT_AXIOM_URL,
    AxiomSettings,
    Config,
    MetricsSettings,
    load_config,
    parse_config,
)
from sheetsync.config.paths import resolve_path
from sheetsync.config.secrets import Secret, read_axiom_key, read_secret_file
from sheetsync.config.state_settings import StateSettings
from sheetsync.config.watches import (
    DEFAULT_TRACK_POLL_MAX_SECONDS,
    DEFAULT_TRACK_POLL_SECONDS,
    DEFAULT_TRACK_TIMEOUT_SECONDS,
    STATES_WITH_WORDS,
    Columns,
    Statuses,
    Watch,
)

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
