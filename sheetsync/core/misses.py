"""PURE: claim writes that landed on another row after the read that checks them.

A former holder (paused, partitioned, killed late) can land its claim write (`sending` and
the claim's id) after the new holder read the sheet, one row off when people moved rows
meanwhile: no unanswered write tells the new holder of it (FLEET.md, zombie claim write).
The row it hit shows `sending` and the id of a claim the journal holds unchecked, beside
other inputs than that claim's (`misses`). It is a stray (`landing.Stray`) whose past
nothing tells (`told`): shown `unknown`, never sent; and the claim is one whose write is
not seen on its row (kept for the grace, then given up: it was never sent).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from sheetsync.config import Watch
from sheetsync.core.landing import Stray, inputs_of
from sheetsync.core.layout import Layout, norm
from sheetsync.core.model import Entry
from sheetsync.core.plan import cell
from sheetsync.core.view import Scan


@dataclass(frozen=True)
class Miss:
    """A row showing an unchecked claim's `sending` and id beside other inputs."""

    number: int
    claim: str
    """The claim's id, which the row shows."""
    fingerprint: str
    """The row's own inputs."""
    status: str
    """The status cell as the write left it."""


def unchecked(entries: Mapping[str, Entry], shown: Collection[str]) -> list[Entry]:
    """The claims not yet seen on their row (state `claimed`) whose id the sheet shows."""
    return [
        e
        for rid, e in entries.items()
        if not e.checked and e.state == "claimed" and e.fingerprint and rid in shown
    ]


def misses(
    table: Sequence[Sequence[str]],
    known: Collection[int] | None,
    found: Scan,
    layout: Layout,
    watch: Watch,
    claims: Sequence[Entry],
) -> tuple[list[Miss], set[int]]:
    """The rows showing `sending` and the id of one of `claims` (`unchecked`) beside other
    inputs than it holds; and the rows that may be such but were not read whole (`known`:
    a narrow read's whole rows; the next read takes them whole)."""
    status_col = layout.results["status"]
    sending = norm(watch.statuses.sending)
    found_misses: list[Miss] = []
    unread: set[int] = set()
    for claim in claims:
        for number in found.rows_of(claim.row_id):
            if known is not None and number not in known:
                unread.add(number)
                continue
            row = table[number - 1]
            status = cell(row, status_col).strip()
            mine = inputs_of(row, layout)
            if norm(status) == sending and mine != claim.fingerprint:
                found_misses.append(Miss(number, claim.row_id, mine, status))
    return found_misses, unread


def told(miss: Miss) -> Stray:
    """The stray a miss left. What its row held is never told from the journal by its
    inputs: no input, and no journal row with them, tells a row typed new from one a
    person finished by hand, from a copy of another row, or from a row typed again after
    one with the same inputs was deleted (each, put back as new or as that journal row,
    was sent twice or showed another run's result). `prior` None: the row is shown
    `unknown` with `UNTOLD_MESSAGE`, never sent on a guess; a person decides."""
    wrote = (("status", miss.status), ("id", miss.claim))
    return Stray(miss.claim, miss.fingerprint, wrote, None)
