"""Where a write whose answer never came may have landed, for `reconcile`.

A read is walked once for all the rows of a lost write (a batch's thousands of rows share
one run link: looking them up row by row walked the tab once a row): its rows without an
id, and the rows showing each run link, minus the rows another row of the same write
owns (they hold its id and show its cells: its landing, not a stray).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sheetsync.adapters.store.protocol import Store
from sheetsync.core.landing import Cells, Sent, Stray, id_kept
from sheetsync.core.layout import Layout
from sheetsync.core.plan import cell
from sheetsync.core.strays import kept_strays, shows_cells
from sheetsync.core.view import Scan


def keep_strays(
    journal: Store, watch: str, strays: list[Stray], now: datetime, *, keep_told: bool = False
) -> None:
    """Journal strays found by a write's answer or, with `keep_told`, by a lost answer's
    check, each chained to the one kept for its row (`strays.kept_strays`)."""
    older = [old for old, _ in journal.strays(watch)]
    kept, replaced = kept_strays(strays, older, keep_told=keep_told)
    if kept:
        journal.add_strays(watch, kept, replaced, now)


class Places:
    """A read's rows, looked up by what a lost write may have left there."""

    def __init__(
        self,
        found: Scan,
        table: Sequence[Sequence[str]],
        layout: Layout,
        aims: Sequence[Sent] = (),
    ) -> None:
        self.found, self.table, self.layout = found, table, layout
        self.aimed = {t.row_id: t for t in aims if t.written and t.row_id}
        self._without: list[int] | None = None
        self._links: dict[str, list[int]] | None = None
        self._bares: dict[tuple[str, ...], dict[tuple[str, ...], list[int]]] = {}

    def landings(self, target: Sent) -> list[int]:
        """Rows `target` may have landed on: those holding the id it wrote (or left
        alone), or (it wrote no id: it emptied a row) every row without one. A write that
        left the id alone may also have landed on any other row: those showing the run's
        link it wrote (a link belongs to one run), or, writing no link (an error, a
        queued run, a run's outcome), the rows without an id showing what it wrote; a
        write of empty cells only (a cleared note) is looked for by its id only."""
        if not target.row_id:
            return self.without_id()
        rows = self.found.rows_of(target.row_id)
        if not id_kept(target.wrote):
            return rows
        wrote = dict(target.wrote)
        link = wrote.get("link", "").strip()
        if link:
            others = self._showing(link)
        elif any(v.strip() for v in wrote.values()):  # an error, a run's outcome: no link
            others = self._bare(target.wrote)
        else:  # a cleared note: what any row may show, never a stray's sign
            others = []
        return rows + [n for n in others if n not in rows]

    def without_id(self) -> list[int]:
        """The rows showing no id (a narrow read's id column ends at its last id)."""
        if self._without is None:
            ids, height = self.found.ids, len(self.table)
            self._without = [n for n in range(2, height + 1) if n - 2 >= len(ids) or not ids[n - 2]]
        return self._without

    def _bare(self, wrote: Cells) -> list[int]:
        """The rows without an id that show exactly `wrote`'s cells (indexed once for
        each set of kinds written: a batch's lost error result is thousands of rows)."""
        kinds = tuple(k for k, _ in wrote)
        index = self._bares.get(kinds)
        if index is None:
            cols = [self.layout.results[k] for k in kinds]
            index = self._bares[kinds] = {}
            for number in self.without_id():
                row = self.table[number - 1]
                index.setdefault(tuple(cell(row, c).strip() for c in cols), []).append(number)
        return index.get(tuple(v.strip() for _, v in wrote), [])

    def _showing(self, link: str) -> list[int]:
        """The rows showing `link`, but those another row of the write owns."""
        col = self.layout.results.get("link")
        if col is None:
            return []
        if self._links is None:
            self._links = {}
            for number, row in enumerate(self.table[1:], start=2):
                shown = cell(row, col).strip()
                if shown and not self._owned(row):
                    self._links.setdefault(shown, []).append(number)
        return self._links.get(link, [])

    def _owned(self, row: Sequence[str]) -> bool:
        """Whether a row holds the id of a row of the write and shows its cells: that
        row's landing (a batch's rows show one run link), not a stray."""
        other = self.aimed.get(cell(row, self.layout.results["id"]).strip())
        return other is not None and shows_cells(row, self.layout, other.wrote)
