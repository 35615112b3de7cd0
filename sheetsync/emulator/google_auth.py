"""The OAuth side of the Google emulator: the JWT-bearer token grant and scope checks.

google-auth signs an RS256 JWT with the service account key and POSTs it to the
key file's `token_uri`. The emulator decodes it without checking the signature or
`aud` (always Google's URL), but insists on the shape and claims Google insists on.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from sheetsync.emulator.google_a1 import ApiError

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME = 3600
SCOPE = "https://www.googleapis.com/auth/"

SHEETS_READ = frozenset(
    SCOPE + s
    for s in ("spreadsheets", "spreadsheets.readonly", "drive", "drive.readonly", "drive.file")
)
SHEETS_WRITE = frozenset(SCOPE + s for s in ("spreadsheets", "drive", "drive.file"))
DRIVE_READ = frozenset(
    SCOPE + s
    for s in ("drive", "drive.readonly", "drive.file", "drive.metadata", "drive.metadata.readonly")
)
DRIVE_WRITE = frozenset(SCOPE + s for s in ("drive", "drive.file"))

_HELP = (
    "Expected OAuth 2 access token, login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
MISSING_CREDENTIALS = f"Request is missing required authentication credential. {_HELP}"
INVALID_CREDENTIALS = f"Request had invalid authentication credentials. {_HELP}"


@dataclass(frozen=True)
class Grant:
    """An access token the emulator issued."""

    token: str
    client_email: str
    scopes: frozenset[str]
    subject: str | None


class GrantError(Exception):
    """A token request Google would refuse; `error` is the OAuth error code."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        """The OAuth error body."""
        return {"error": self.error, "error_description": self.description}


def grant(form: bytes) -> Grant:
    """Check a token request body and issue a new access token."""
    fields = parse_qs(form.decode("utf-8", "replace"), keep_blank_values=True)
    grant_type = (fields.get("grant_type") or [""])[0]
    if grant_type != JWT_GRANT:
        raise GrantError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
    claims = decode_jwt((fields.get("assertion") or [""])[0])
    issuer, scope, expiry = claims.get("iss"), claims.get("scope"), claims.get("exp")
    if not isinstance(issuer, str) or not issuer:
        raise GrantError("invalid_grant", "Invalid JWT: the 'iss' claim is required.")
    if not isinstance(scope, str) or not scope.strip():
        raise GrantError("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
    if not isinstance(expiry, int | float) or isinstance(expiry, bool):
        raise GrantError("invalid_grant", "Invalid JWT: the 'exp' claim is required.")
    subject = claims.get("sub")
    return Grant(
        token="ya29.emulator-" + secrets.token_urlsafe(24),
        client_email=issuer,
        scopes=frozenset(scope.split()),
        subject=subject if isinstance(subject, str) else None,
    )


def decode_jwt(assertion: str) -> dict[str, Any]:
    """The claims of a JWT (header.payload.signature), unverified."""
    parts = assertion.split(".")
    if len(parts) != 3 or not all(parts):
        raise GrantError("invalid_grant", "Invalid JWT: a signed JWT has three parts.")
    try:
        header = json.loads(_b64(parts[0]))
        claims = json.loads(_b64(parts[1]))
    except (ValueError, binascii.Error) as exc:
        raise GrantError("invalid_grant", "Invalid JWT: not base64url JSON.") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise GrantError("invalid_grant", "Invalid JWT: header and claims must be objects.")
    return claims


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def unauthenticated(message: str) -> ApiError:
    """Google's 401."""
    return ApiError(401, message, "UNAUTHENTICATED")


def insufficient_scopes(service: str, drive: bool) -> ApiError:
    """Google's 403 for a token whose scopes do not cover the call."""
    extra: dict[str, Any] = {
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                "domain": "googleapis.com",
                "metadata": {"service": service},
            }
        ]
    }
    if drive:
        extra["errors"] = [
            {
                "message": "Insufficient Permission",
                "domain": "global",
                "reason": "insufficientPermissions",
            }
        ]
    message = "Request had insufficient authentication scopes."
    return ApiError(403, message, "PERMISSION_DENIED", extra)
