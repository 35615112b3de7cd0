"""PURE: claim writes that landed on another row after the read that checks them.

A former holder (paused, partitioned, killed late) can land its claim write (`sending` and
the claim's id) after the new holder read the sheet, one row off when people moved rows
meanwhile: no unanswered write tells the new holder of it (FLEET.md, zombie claim write).
The row it hit shows `sending` and the id of a claim the journal holds unchecked, beside
other inputs than that claim's (`misses`). It is a stray (`landing.Stray`) whose past
nothing tells (`told`): shown `unknown`, never sent; and the claim is one whose write is
not seen on its row (kept for the grace, then given up: it was never sent). An earlier
attempt's claim write can also land one row off after the claim was seen on its own row
and sent: the id is then on two rows, its own row owns it by its inputs, and the row the
write hit is a miss too (else it showed `sending` for good), while a row read whole shows
the claim's inputs (no holder does: a person edited them, ownership decides).
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
    """A row showing a claim's `sending` and id beside other inputs."""

    number: int
    claim: str
    """The claim's id, which the row shows."""
    fingerprint: str
    """The row's own inputs."""
    status: str
    """The status cell as the write left it."""


def unchecked(entries: Mapping[str, Entry], found: Scan) -> list[Entry]:
    """The journal rows whose id may be on a row a claim write hit: the claims not yet
    seen on their row (`pending`) whose id the sheet shows, and the live rows whose id the
    sheet shows on more than one row (an earlier attempt's claim write, landed one row off
    after the claim was seen on its own row and sent: that row would show `sending` for
    good). Rows adopted without their inputs are left out: nothing to compare."""
    shown, twice = found.holders, found.extra
    return [
        e
        for rid, e in entries.items()
        if e.fingerprint
        and ((rid in twice and e.state not in GIVEN_UP) or (pending(e) and rid in shown))
    ]


GIVEN_UP = frozenset({"abandoned", "foreign", "skipped"})
"""States no claim is alive in (an abandoned claim's id follows the tombstones' rules)."""


def pending(entry: Entry) -> bool:
    """A claim not yet seen on its row."""
    return not entry.checked and entry.state == "claimed"


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
    a narrow read's whole rows; the next read takes them whole). Of a claim already seen
    on its row, only while another row holding its id, read whole, shows its inputs: that
    row owns it, else ownership gives the id to its first row (a person edited the
    inputs) and nothing here is told a miss."""
    status_col = layout.results["status"]
    sending = norm(watch.statuses.sending)
    found_misses: list[Miss] = []
    unread: set[int] = set()
    for claim in claims:
        rows = found.rows_of(claim.row_id)
        statuses = {n: cell(table[n - 1], status_col).strip() for n in rows}
        if not any(norm(status) == sending for status in statuses.values()):
            continue  # a narrow read's rows show their status too
        hidden = {n for n in rows if known is not None and n not in known}
        if hidden and not pending(claim):  # its owner is told by every holder's inputs
            unread |= hidden
            continue
        unread |= {n for n in hidden if norm(statuses[n]) == sending}
        inputs = {n: inputs_of(table[n - 1], layout) for n in rows if n not in hidden}
        if not pending(claim) and claim.fingerprint not in inputs.values():
            continue
        found_misses += [
            Miss(n, claim.row_id, mine, statuses[n])
            for n, mine in inputs.items()
            if norm(statuses[n]) == sending and mine != claim.fingerprint
        ]
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
