"""PURE: text JSON can carry that the journal or a hash cannot take: lone surrogates and
U+0000.

A JSON string may escape any UTF-16 code unit (`\\ud800`); Python decodes an unpaired one
into a `str` that cannot be encoded as UTF-8, so SQLite, PostgreSQL, a row's fingerprint
and a log line all refuse it (`UnicodeEncodeError`). U+0000 (`\\u0000`) SQLite keeps, but
PostgreSQL's text cannot hold (`adapters/store/pg_text` replaces what reaches it), so an
id holding one would never match the journal's. Google and axiom never send either for
real text; an answer that does must not stop a watch. Each becomes U+FFFD (the
replacement character) as the answer is decoded (`adapters/google/lean`, a write's echo,
Google's refusals, axiom's answers, Drive's), so both stores see the same cells.
"""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
_ODD = re.compile("[\x00\ud800-\udfff]")
_ESCAPE = re.compile(r"\\u(?:[dD]|0000)")
ESCAPE_CHARS = 6
"""The length of an escape `may_need_mending` looks for (`\\u0000`)."""


def may_need_mending(text: str) -> bool:
    """Whether JSON text may hold the escape of a surrogate (`\\uD800` to `\\uDFFF`) or of
    U+0000: `\\ud`, `\\uD` or `\\u0000` is found (after an escaped backslash too: looking
    further is harmless). A text without a backslash costs one scan."""
    return "\\" in text and _ESCAPE.search(text) is not None


def as_text(row: list[Any]) -> list[str]:
    """A row of cells as text: formatted values already are (the row itself); a number
    becomes its text."""
    return row if set(map(type, row)) <= {str} else [str(c) for c in row]


def mended(value: Any) -> Any:
    """A decoded JSON value with each lone surrogate and U+0000 in its text made U+FFFD (a
    pair JSON escapes is one character once decoded, and stays)."""
    if isinstance(value, str):
        return _ODD.sub(REPLACEMENT, value)
    if isinstance(value, list):
        return [mended(v) for v in value]
    if isinstance(value, dict):
        return {mended(k): mended(v) for k, v in value.items()}
    return value
