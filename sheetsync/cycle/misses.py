"""Late claim writes that landed on another row (`core.misses`): recorded as strays.

Before a read's strays are located (`reconcile`): the rows showing `sending` and the id of
a claim not yet checked, beside other inputs, are looked up in the journal by their own
inputs and recorded as strays, so that the same cycle puts them back and the claim owns
no row. Only the unchecked claims the sheet shows are walked; the journal is asked only
about the rows found.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sheetsync.adapters.store.protocol import Store
from sheetsync.config import Watch
from sheetsync.core.layout import Layout
from sheetsync.core.misses import GIVEN_UP, misses, told, unchecked
from sheetsync.core.model import Entry
from sheetsync.core.view import Scan, View

log = logging.getLogger("sheetsync.engine")


class Misses:
    """Finds the rows a late claim write hit and records them as strays."""

    def __init__(self, journal: Store, now: Callable[[], datetime]) -> None:
        self.journal = journal
        self.now = now

    def record(
        self, watch: Watch, view: View, layout: Layout, found: Scan, entries: dict[str, Entry]
    ) -> set[int]:
        """Record the strays late claim writes left; returns the rows that may be such but
        were not read whole (the next read takes them whole)."""
        claims = unchecked(entries, found.holders)
        if not claims:
            return set()
        hits, unread = misses(view.table, view.known, found, layout, watch, claims)
        if not hits:
            return unread
        known = {old.key for old, _ in self.journal.strays(watch.name)}
        strays = []
        for miss in hits:
            if (miss.claim, miss.fingerprint) in known:
                continue  # recorded by an earlier read: its past was told then
            ids = self.journal.ids_with_fingerprint(watch.name, miss.fingerprint)
            ids = [r for r in ids if r != miss.claim and r not in found.holders]
            pasts = {r: entries[r] for r in ids if r in entries}
            if len(pasts) < len(ids):  # a narrow read's entries lack settled rows
                pasts.update(self.journal.entries_needed(watch.name, self.now(), ids))
            alive = [pasts[r] for r in ids if r in pasts]
            given_up = all(e.state in GIVEN_UP for e in alive)  # the row was new again
            blind = given_up and self._blind(watch, found)
            strays.append(told(miss, alive, watch, blind=blind))
            log.warning(
                "watch %s: row %d shows claim %s beside other inputs (a late claim write "
                "landed there): putting back %s",
                watch.name,
                miss.number,
                miss.claim,
                _shown(strays[-1].prior, alive, blind),
            )
        if strays:
            self.journal.add_strays(watch.name, strays, (), self.now())
        return unread

    def _blind(self, watch: Watch, found: Scan) -> bool:
        """Whether the journal holds rows without their inputs (adopted from a narrow read)
        that no row shows: a row no input tells may be one of them."""
        return any(
            r not in found.holders for r in self.journal.ids_with_fingerprint(watch.name, "")
        )


def _shown(prior: tuple[tuple[str, str], ...] | None, alive: list[Entry], blind: bool) -> str:
    """What a miss's row gets back, for the log."""
    if prior is not None:
        cells = dict(prior)
        return f"id {cells['id']!r}, status {cells['status']!r}" if cells["id"] else "a new row"
    why = (
        "rows adopted without inputs"
        if blind
        else ", ".join(f"{e.row_id} {e.state}" for e in alive)
    )
    return f"unknown (nothing tells: {why})"
