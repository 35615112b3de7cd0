"""PURE: `start_from = "now"`: which rows a watch's first cycle sends and which it skips.

The engine marks the skipped rows and `sheetsync check` predicts them; both split here,
so that they agree. The journal keeps every skipped row with its inputs: a skip write can
miss its row (people moved rows in that instant) and the row be deleted and brought back
by an undo later; a row that comes back with a skipped row's inputs while no row shows
that id is that row (`returning`), and is skipped again, never sent.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace

from sheetsync.core.model import Candidate


def split_existing(candidates: Iterable[Candidate]) -> tuple[list[Candidate], list[Candidate]]:
    """(sent, skipped): rows present before sheetsync's first cycle are skipped, except
    those a person typed `retry` into (asked for on purpose)."""
    sent: list[Candidate] = []
    skipped: list[Candidate] = []
    for candidate in candidates:
        (sent if candidate.retry else skipped).append(candidate)
    return sent, skipped


def returning(
    candidates: Sequence[Candidate],
    skipped: Callable[[str], Sequence[str]],
    shown: Collection[str],
) -> tuple[list[Candidate], list[Candidate]]:
    """(to send, to skip again): new rows whose inputs are a skipped row's whose id no row
    shows (`skipped`: a fingerprint's skipped ids; `shown`: the ids on the sheet) take
    that id and are skipped again."""
    send: list[Candidate] = []
    again: list[Candidate] = []
    taken: set[str] = set()
    for candidate in candidates:
        free = []
        if candidate.fresh:
            free = [r for r in skipped(candidate.fingerprint) if r not in shown and r not in taken]
        if free:
            taken.add(free[0])
            again.append(replace(candidate, row_id=free[0]))
        else:
            send.append(candidate)
    return send, again
