"""Keep secrets out of every line sheetsync writes: a registry of secret values and `redact()`.

Two layers, applied in this order:
1. Registered values: whatever the config loader registers with `register_secret()` (the
   axiom key, the service account's private key, tokens as they are minted) is replaced
   with `***` wherever it appears, also in its JSON-escaped and URL-encoded spellings.
2. Token shapes, registered or not: Google OAuth access tokens (`ya29.…`), signed JWTs,
   `Bearer <token>`, PEM private-key blocks, `"access_token": "…"`-like JSON/dict items
   and `key=…`-like query or form parameters keep their name and lose their value.

The registry is process-wide and thread-safe: writers take a lock and publish a new
immutable snapshot; `redact()` reads the current snapshot without locking.
"""

from __future__ import annotations

import json
import re
import threading
from urllib.parse import quote

MASK = "***"
"""What a secret is replaced with."""

MIN_SECRET_LENGTH = 4
"""Shorter values are ignored: masking every `a` or `42` in a log would destroy it."""

MIN_SECRET_LINE_LENGTH = 16
"""Each line of a multi-line secret (a PEM body) at least this long is masked on its own."""

_SENSITIVE_NAMES = (
    "access_token|refresh_token|id_token|token|assertion|client_secret|private_key|"
    "private_key_id|api_key|apikey|key|secret|password"
)

_SENSITIVE_NAME = re.compile(rf"(?:{_SENSITIVE_NAMES})", re.I)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # PEM private-key blocks, raw or with JSON-escaped newlines.
    (
        re.compile(r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.S),
        MASK,
    ),
    # "key": "value" and 'key': 'value' (JSON bodies, Python dict reprs).
    (
        re.compile(
            rf"""(?P<q>["'])(?P<name>{_SENSITIVE_NAMES})(?P=q)(?P<sep>\s*:\s*)"""
            r"""(?P<vq>["'])(?:\\.|(?!(?P=vq)).)*(?P=vq)""",
            re.I,
        ),
        rf"\g<q>\g<name>\g<q>\g<sep>\g<vq>{MASK}\g<vq>",
    ),
    # key=value in query strings, form bodies and log text.
    (
        re.compile(rf"\b(?P<name>{_SENSITIVE_NAMES})=(?P<value>[^\s&\"'<>,;)]+)", re.I),
        rf"\g<name>={MASK}",
    ),
    # Authorization: Bearer <token>
    (re.compile(r"\b(Bearer)\s+[A-Za-z0-9\-._~+/]{8,}=*", re.I), rf"\1 {MASK}"),
    # Google OAuth 2.0 access tokens and signed JWTs (service-account assertions, id tokens).
    (re.compile(r"\bya29\.[A-Za-z0-9\-._~+/]+"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9\-_]+\.eyJ[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*"), MASK),
)

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()
_matcher: re.Pattern[str] | None = None


def _spellings(value: str) -> set[str]:
    """The ways one secret can appear in text: as is, JSON-escaped, URL-encoded, line by line."""
    spellings = {value, json.dumps(value)[1:-1], quote(value, safe="")}
    if "\n" in value:
        spellings.update(
            line.strip()
            for line in value.splitlines()
            if len(line.strip()) >= MIN_SECRET_LINE_LENGTH and not line.startswith("-----")
        )
    return {s for s in spellings if len(s) >= MIN_SECRET_LENGTH}


def register_secret(value: str | bytes | None) -> None:
    """Remember a secret so `redact()` masks it from now on; values under 4 chars are ignored."""
    global _secrets, _matcher  # noqa: PLW0603 - the registry is deliberately process-wide
    if value is None:
        return
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    text = text.strip()
    if len(text) < MIN_SECRET_LENGTH:
        return
    with _lock:
        secrets = _secrets | _spellings(text)
        if secrets == _secrets:
            return
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(secrets, key=len, reverse=True)
        _matcher = re.compile("|".join(re.escape(s) for s in ordered))
        _secrets = frozenset(secrets)


def clear_secrets() -> None:
    """Forget every registered secret (tests, and a reload that replaces all credentials)."""
    global _secrets, _matcher  # noqa: PLW0603 - the registry is deliberately process-wide
    with _lock:
        _secrets = frozenset()
        _matcher = None


def is_sensitive_name(name: str) -> bool:
    """Whether a field called `name` (`key`, `access_token`, `private_key`, …) holds a secret."""
    return _SENSITIVE_NAME.fullmatch(name) is not None


def redact(text: str) -> str:
    """The text with every registered secret and every token-shaped value replaced by `***`."""
    matcher = _matcher
    if matcher is not None:
        text = matcher.sub(MASK, text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def mask_secret(text: str, secret: str) -> str:
    """`text` with `secret` masked, also a start of it left at the very end by a cut."""
    if not secret:
        return text
    text = text.replace(secret, MASK)
    for size in range(min(len(secret), len(text) + 1) - 1, MIN_SECRET_LENGTH - 1, -1):
        if text.endswith(secret[:size]):
            return text[:-size] + MASK
    return text


def one_line(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
