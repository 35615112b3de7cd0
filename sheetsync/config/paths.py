"""Paths in the config: `${VAR}` and `~` expanded, relative ones resolved against the
config file's folder, and an unset variable refused with the key that names it."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sheetsync.errors import ConfigError

if TYPE_CHECKING:
    from sheetsync.config.model import Config

_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def resolve_path(value: str, source: Path, environ: Mapping[str, str] | None = None) -> Path:
    """Expand `${VAR}`/`~` and make a relative path relative to the config file."""
    env = os.environ if environ is None else environ

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return env.get(name, match.group(0))

    path = Path(os.path.expanduser(_VARIABLE.sub(lookup, value)))
    return path if path.is_absolute() else source.parent / path


def check_variables(config: Config, environ: Mapping[str, str], *, secrets: bool) -> None:
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
