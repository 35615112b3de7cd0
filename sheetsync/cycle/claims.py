"""Claims whose rows are not found: given up, but never too early, and never twice.

A claim whose write never landed (no row shows its id) is given up (`abandoned`): its
row is a new row again. In a fleet the claim may be a former holder's whose write is
still on its way: a paused or partitioned instance can land it after this one took the
spreadsheet over (FLEET.md, "zombie claim write"). So:

- for `grace` seconds after this instance's first cycle of a spreadsheet under its
  epoch (Sheets' connect + read timeout: the longest a write can be on its way), claims
  whose rows are not found are kept, and new rows with the inputs of such a claim wait
  (they may be the row it is aimed at);
- a row that shows the id of an abandoned claim (kept as a tombstone) and whose inputs
  are those of a live claim is that claim's row: it is never sent as new, and gets that
  claim's id (when the claim shows on no other row), so its results are written there.

SQLite has one process and no tombstones, and `grace` is 0 there: nothing changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from datetime import datetime

from sheetsync.adapters.store.protocol import Store
from sheetsync.config import Watch
from sheetsync.core.layout import Layout
from sheetsync.core.ownership import Owners
from sheetsync.core.plan import Candidate, CellWrite, Entry, cell

log = logging.getLogger("sheetsync.engine")

DEAD = frozenset({"abandoned", "foreign", "skipped"})
"""States of rows that no claim is alive in."""


class Claims:
    """Gives up lost claims for the engine, with a grace period after a takeover."""

    def __init__(
        self, journal: Store, now: Callable[[], datetime], timer: Callable[[], float]
    ) -> None:
        self.journal = journal
        self.now = now
        self.timer = timer
        self.grace = 0.0
        """Seconds to keep unfound claims after a takeover (0: SQLite, one process)."""
        self._since: dict[str, tuple[int | None, float]] = {}
        self._warned: set[tuple[str, int]] = set()  # (watch, row) zombies already logged

    def serving(self, unit: str, epoch: int | None) -> None:
        """A cycle of `unit` starts under `epoch`: the grace runs from the first such cycle."""
        if unit not in self._since or self._since[unit][0] != epoch:
            self._since[unit] = (epoch, self.timer())

    def forget(self, unit: str) -> None:
        """The unit changed hands: its next cycle starts a grace period again."""
        self._since.pop(unit, None)

    def _in_grace(self, unit: str) -> bool:
        since = self._since.get(unit)
        return self.grace > 0 and (since is None or self.timer() - since[1] < self.grace)

    def give_up_lost(self, watch: Watch, owners: Owners, entries: dict[str, Entry]) -> set[str]:
        """Abandon the claims no row owns (removed from `entries`); in the grace period keep
        them, and return their fingerprints: new rows with those inputs wait."""
        claimed = {rid for rid, e in entries.items() if e.state == "claimed"}
        lost = sorted(rid for rid in claimed if owners.row(rid) is None)
        if lost and self._in_grace(watch.spreadsheet_id):
            return {entries[rid].fingerprint for rid in lost}
        if lost:  # a claim write that never landed: nothing was sent, the rows are new again
            self.journal.abandon(watch.name, lost, self.now())
            for row_id in lost:
                del entries[row_id]
        return set()

    def screen(
        self,
        watch: Watch,
        candidates: list[Candidate],
        pending: Collection[str],
        table: Sequence[Sequence[str]],
        layout: Layout,
        owners: Owners,
    ) -> tuple[list[Candidate], list[CellWrite]]:
        """The candidates that may be claimed: not a new row that may be a kept claim's
        target (`pending` fingerprints), nor a late claim write of a former holder. Such a
        row gets the id of the live claim it belongs to, when that claim shows on no row
        (the writes returned): its results are then written there."""
        fresh = [c for c in candidates if c.fresh]
        if not fresh:
            return candidates, []
        waiting = {c.row_number for c in fresh if c.fingerprint in pending}
        zombies = self._zombies(watch, fresh, table, layout, owners)
        writes = []
        for number, live_id in sorted(zombies.items()):
            if live_id:
                writes.append(CellWrite(number, layout.results["id"] + 1, live_id))
            if (watch.name, number) in self._warned:
                continue
            self._warned.add((watch.name, number))
            log.warning(
                "watch %s: row %d shows a claim a former holder gave up; its inputs are "
                "those of claim %s: not sent again",
                watch.name,
                number,
                live_id or "(several)",
            )
        held = waiting | set(zombies)
        return [c for c in candidates if c.row_number not in held], writes

    def _zombies(
        self,
        watch: Watch,
        fresh: list[Candidate],
        table: Sequence[Sequence[str]],
        layout: Layout,
        owners: Owners,
    ) -> dict[int, str | None]:
        """Rows showing an abandoned claim's id (a tombstone) whose inputs a live claim
        has: row -> that claim's id, if it is the one such claim and shows on no row."""
        id_col = layout.results["id"]
        shown = {c.row_number: cell(table[c.row_number - 1], id_col).strip() for c in fresh}
        known = self.journal.known_ids(watch.name, [rid for rid in shown.values() if rid])
        if not known:
            return {}
        stones = self.journal.tombstones(watch.name)
        found: dict[int, str | None] = {}
        for c in fresh:
            if shown[c.row_number] not in stones:
                continue
            live = self._live(watch, c.fingerprint)
            unplaced = [rid for rid in live if owners.row(rid) is None]
            if live:
                found[c.row_number] = unplaced[0] if len(unplaced) == 1 else None
        return found

    def _live(self, watch: Watch, fingerprint: str) -> list[str]:
        """The claims with these inputs that are alive (claimed, sent, or answered)."""
        ids = self.journal.ids_with_fingerprint(watch.name, fingerprint)
        entries = self.journal.entries_needed(watch.name, self.now(), ids)
        return sorted(rid for rid, e in entries.items() if e.state not in DEAD)
