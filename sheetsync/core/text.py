"""PURE: text JSON can carry that nothing downstream can take: lone surrogates.

A JSON string may escape any UTF-16 code unit (`\\ud800`); Python decodes an unpaired one
into a `str` that cannot be encoded as UTF-8, so SQLite, PostgreSQL, a row's fingerprint
and a log line all refuse it (`UnicodeEncodeError`). Google and axiom never send one for
real text, but an answer that does must not stop a watch: each becomes U+FFFD (the
replacement character) as the answer is decoded (`adapters/google/lean`, axiom's answers).
"""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
_LONE = re.compile("[\ud800-\udfff]")


def may_hold_surrogates(text: str) -> bool:
    """Whether JSON text may hold a surrogate's escape (`\\uD800` to `\\uDFFF`): `\\ud`
    or `\\uD` is found (an escaped backslash before `ud` too: looking further is harmless)."""
    return "\\ud" in text or "\\uD" in text


def mended(value: Any) -> Any:
    """A decoded JSON value with each lone surrogate in its text made U+FFFD (a pair JSON
    escapes is one character once decoded, and stays)."""
    if isinstance(value, str):
        return _LONE.sub(REPLACEMENT, value)
    if isinstance(value, list):
        return [mended(v) for v in value]
    if isinstance(value, dict):
        return {mended(k): mended(v) for k, v in value.items()}
    return value
