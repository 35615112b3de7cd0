"""PURE: `start_from = "now"`: which rows a watch's first cycle sends and which it skips.

The engine marks the skipped rows and `sheetsync check` predicts them; both split here,
so that they agree.
"""

from __future__ import annotations

from collections.abc import Iterable

from sheetsync.core.plan import Candidate


def split_existing(candidates: Iterable[Candidate]) -> tuple[list[Candidate], list[Candidate]]:
    """(sent, skipped): rows present before sheetsync's first cycle are skipped, except
    those a person typed `retry` into (asked for on purpose)."""
    sent: list[Candidate] = []
    skipped: list[Candidate] = []
    for candidate in candidates:
        (sent if candidate.retry else skipped).append(candidate)
    return sent, skipped
