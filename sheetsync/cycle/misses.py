"""Late claim writes that landed on another row (`core.misses`): recorded as strays.

Before a read's strays are located (`reconcile`): the rows showing `sending` and the id of
a claim not yet checked, beside other inputs, are recorded as strays whose past nothing
tells, so that the same cycle shows them `unknown` and the claim owns no row; so are the
rows showing `sending` and the id of a claim already seen on its own row and sent (an
earlier attempt's claim write, landed late), while that row shows the claim's inputs.
Only the claims the sheet shows (and live ids on two rows) are walked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sheetsync.adapters.store.protocol import Store
from sheetsync.config import Watch
from sheetsync.core.layout import Layout
from sheetsync.core.misses import misses, told, unchecked
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
        claims = unchecked(entries, found)
        if not claims:
            return set()
        hits, unread = misses(view.table, view.known, found, layout, watch, claims)
        if not hits:
            return unread
        known = {old.key for old, _ in self.journal.strays(watch.name)}
        fresh = [m for m in hits if (m.claim, m.fingerprint) not in known]
        strays = [told(m) for m in fresh]
        for miss in fresh:  # one line each: a recorded one is the strays' to settle
            log.warning(
                "watch %s: row %d shows claim %s beside other inputs (a late claim write "
                "landed there): shown unknown, never sent; nothing tells what it held",
                watch.name,
                miss.number,
                miss.claim,
            )
        if strays:
            self.journal.add_strays(watch.name, strays, (), self.now())
        return unread
