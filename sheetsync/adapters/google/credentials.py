"""A service account's key file -> the Google credentials an identity signs in with.

The key is read as a secret (`read_secret_file`: refused when others can read it),
registered for redaction, and never quoted in an error: a parser's error may hold it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.oauth2 import service_account

from sheetsync.config import read_secret_file
from sheetsync.config.endpoints import url_problem
from sheetsync.config.google_settings import GoogleSettings
from sheetsync.errors import ConfigError

SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
"""Only the spreadsheets scope: gspread's default would also grant full Drive access."""


@dataclass(frozen=True)
class Account:
    """A service account signed in: its credentials, its email and its Cloud project."""

    credentials: service_account.Credentials
    client_email: str
    project_id: str
    """The Cloud project whose per-project budget this identity shares."""


def load_account(
    settings: GoogleSettings,
    key_path: Path,
    source: Path,
    key_label: str,
    scopes: Sequence[str] = SCOPES,
) -> Account:
    """The service account of a key file; one-line `ConfigError`s naming `key_label`."""
    info = _load_key(key_path, source, key_label, allow_insecure=settings.allow_insecure_http)
    client_email = str(info.get("client_email", "the service account"))
    project_id = str(info.get("project_id", "")) or client_email
    from sheetsync.redact import register_secret

    register_secret(str(info.get("private_key", "")))
    try:
        credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            info, scopes=list(scopes)
        )
    except (ValueError, KeyError) as exc:
        raise ConfigError(
            f"{source}: {key_label}: {key_path} is not a service-account key ({type(exc).__name__})"
        ) from None  # the parser's error may quote the private key it could not read
    return Account(credentials, client_email, project_id)


def _load_key(key_path: Path, source: Path, label: str, *, allow_insecure: bool) -> dict[str, Any]:
    text = read_secret_file(key_path, label, source)
    try:
        info = json.loads(text)
    except ValueError:
        # not `from exc`: a JSONDecodeError keeps the whole key file in its `doc`
        raise ConfigError(f"{source}: {label}: {key_path} is not JSON") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise ConfigError(f"{source}: {label}: {key_path} is not a service-account key")
    token_uri = str(info.get("token_uri", ""))
    carries = "the signed key assertion"
    problem = url_problem(token_uri, carries, "google", allow_insecure=allow_insecure)
    if problem is not None:
        raise ConfigError(f"{source}: {label}: {key_path}: token_uri: {problem}")
    return info
