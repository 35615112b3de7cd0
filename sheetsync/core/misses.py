"""PURE: claim writes that landed on another row after the read that checks them.

A former holder (paused, partitioned, killed late) can land its claim write (`sending` and
the claim's id) after the new holder read the sheet, one row off when people moved rows
meanwhile: no unanswered write tells the new holder of it (FLEET.md, zombie claim write).
The row it hit shows `sending` and the id of a claim the journal holds unchecked, beside
other inputs than that claim's (`misses`). It is a stray (`landing.Stray`): what it held
is told from the journal by its own inputs (`told`), and the claim is one whose write is
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
from sheetsync.core.projection import desired_cells
from sheetsync.core.view import Scan

GIVEN_UP = frozenset({"abandoned"})
"""States of journal rows a row with those inputs no longer holds: it is new again."""


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
        first = found.holders.get(claim.row_id)
        rows = [] if first is None else [first, *found.extra.get(claim.row_id, ())]
        for number in rows:
            if known is not None and number not in known:
                unread.add(number)
                continue
            row = table[number - 1]
            status = cell(row, status_col).strip()
            mine = inputs_of(row, layout)
            if norm(status) == sending and mine != claim.fingerprint:
                found_misses.append(Miss(number, claim.row_id, mine, status))
    return found_misses, unread


def told(miss: Miss, pasts: Sequence[Entry], watch: Watch, *, blind: bool = False) -> Stray:
    """The stray a miss left, with what its row held: `pasts` are the journal's rows with
    the row's inputs that no other row shows (its own claim or result, the claim aside);
    `blind`: the journal also holds rows recorded without their inputs (adopted from a
    narrow read) that no row shows, so a row without a past may be one of them.

    - none (or only claims given up), and not `blind`: a new row, it held nothing;
    - one row of sheetsync's: its id and status;
    - else (several, a person's row the journal keeps no cells of: `foreign`, or none
      but `blind`): nothing tells (`prior` None: the row is shown `unknown` and a person
      decides; never sent again on a guess).
    """
    wrote = (("status", miss.status), ("id", miss.claim))
    alive = [e for e in pasts if e.row_id != miss.claim and e.state not in GIVEN_UP]
    prior: tuple[tuple[str, str], ...] | None
    if not alive:
        prior = None if blind else (("status", ""), ("id", ""))
    elif len(alive) == 1 and alive[0].state != "foreign":
        cells = desired_cells(alive[0], watch)
        prior = (("status", cells["status"]), ("id", alive[0].row_id))
    else:
        prior = None
    return Stray(miss.claim, miss.fingerprint, wrote, prior)
