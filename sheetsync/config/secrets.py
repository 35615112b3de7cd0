"""Secrets in the config: the `Secret` that never shows itself, key files (refused when
others can read them, like ssh does) and the axiom API key.

Secrets come from the environment, a key file or a systemd credential, never the TOML.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sheetsync.config.paths import resolve_path
from sheetsync.errors import ConfigError

if TYPE_CHECKING:
    from sheetsync.config.model import Config


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
