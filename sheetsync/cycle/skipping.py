"""`start_from = "now"`: marking the rows present at a watch's first cycle `skipped`.

The split itself is `first_cycle`'s (pure, shared with `sheetsync check`). The journal
keeps every skipped row with its inputs, also one whose `skipped` mark missed it (people
moved rows in that instant): a new row with those inputs while no row shows that id is
that row, back from an undo, and is skipped again (`first_cycle.returning`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sheetsync.adapters.store.protocol import Store
from sheetsync.config import Watch
from sheetsync.core.first_cycle import returning, split_existing
from sheetsync.core.layout import Layout
from sheetsync.core.model import Candidate, CellWrite, Entry
from sheetsync.core.ownership import Owners, owners_of
from sheetsync.core.plan import find_candidates
from sheetsync.core.view import Scan, View


class Skipper:
    """Finds the rows to mark `skipped` and records them in the journal."""

    def __init__(self, journal: Store, now: Callable[[], datetime]) -> None:
        self.journal = journal
        self.now = now

    def existing(
        self,
        watch: Watch,
        view: View,
        layout: Layout,
        entries: dict[str, Entry],
        found: Scan,
        narrow_owners: Owners,
    ) -> list[CellWrite]:
        """A first cycle: rows already present are never sent (a row an earlier try
        skipped, whose skip missed it, keeps that skip's id); `entries` gains the skipped
        rows'. A narrow read looks at the rows it read whole (every row that may be new),
        owned as `narrow_owners` says."""
        table = view.table
        if view.known is None:
            owners, numbers = owners_of(table, layout, entries), None
        else:
            owners, numbers = narrow_owners, sorted(view.known)
        _, new = split_existing(find_candidates(table, layout, watch, entries, owners, numbers))
        if not new:
            return []
        by_inputs: dict[str, list[str]] = {}
        for row_id, entry in entries.items():
            if entry.state == "skipped":
                by_inputs.setdefault(entry.fingerprint, []).append(row_id)
        skipped = (lambda fp: by_inputs.get(fp, [])) if numbers is None else self._skipped(watch)
        fresh, again = returning(new, skipped, found.holders)
        rows = [*fresh, *again]
        self.journal.skip(watch.name, [(c.row_id, c.fingerprint) for c in rows], self.now())
        if numbers is None:
            entries.update(self.journal.entries(watch.name, self.now()))
        else:  # a narrow read: the skipped rows' entries, not every row's
            ids = [c.row_id for c in rows]
            entries.update(self.journal.entries_needed(watch.name, self.now(), ids))
        return skip_cells(watch, layout, rows)

    def returning(
        self, watch: Watch, candidates: Sequence[Candidate], found: Scan
    ) -> tuple[list[Candidate], list[Candidate]]:
        """Later cycles: (to send, to skip again); the journal is asked for new rows only."""
        return returning(candidates, self._skipped(watch), found.holders)

    def _skipped(self, watch: Watch) -> Callable[[str], list[str]]:
        """The skipped ids of a fingerprint, asked of the journal."""

        def skipped(fingerprint: str) -> list[str]:
            ids = self.journal.ids_with_fingerprint(watch.name, fingerprint)
            if not ids:
                return []
            known = self.journal.entries_needed(watch.name, self.now(), ids)
            return [r for r in ids if (e := known.get(r)) is not None and e.state == "skipped"]

        return skipped


def skip_cells(watch: Watch, layout: Layout, rows: Sequence[Candidate]) -> list[CellWrite]:
    """The cells that mark rows `skipped`, with their ids."""
    status, id_col = layout.results["status"] + 1, layout.results["id"] + 1
    return [
        cell
        for c in rows
        for cell in (
            CellWrite(c.row_number, status, watch.statuses.skipped),
            CellWrite(c.row_number, id_col, c.row_id),
        )
    ]
