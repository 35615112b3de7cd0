"""PURE: which row owns each id the sheet shows.

Ids travel with their rows, but one id can sit on two rows: a person copied a row, or a
write of sheetsync's landed on the wrong row before it was put back (a `Stray`). The
owner of an id is the row holding it whose inputs match its journal entry (the first
such row); only when no holder matches (a person edited the inputs since) does the
first holder own it. Rows that are strays own nothing and are never sent.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from sheetsync.core.landing import inputs_of
from sheetsync.core.layout import Layout
from sheetsync.core.model import Entry


class Owners:
    """The owning row of each id (see the module docstring), looked up by id or by row."""

    def __init__(
        self,
        holders: Mapping[str, int],
        overrides: Mapping[str, int | None] | None = None,
        strays: Collection[int] = (),
    ) -> None:
        self._holders = holders
        self._overrides = dict(overrides or {})
        self.strays = frozenset(strays)
        """Rows showing a mistaken write: they own nothing and are not sent."""

    def row(self, row_id: str) -> int | None:
        """The row that owns `row_id` (None: no row does)."""
        if row_id in self._overrides:
            return self._overrides[row_id]
        return self._holders.get(row_id)

    def owns(self, row_id: str, number: int) -> bool:
        """Whether row `number` owns the id it shows."""
        return bool(row_id) and self.row(row_id) == number


def owners(
    holders: Mapping[str, int],
    extra: Mapping[str, Sequence[int]],
    table: Sequence[Sequence[str]],
    known: Collection[int] | None,
    layout: Layout,
    entries: Mapping[str, Entry],
    strays: Collection[int] = (),
) -> Owners:
    """Each id's owner: `holders` maps an id to its first row, `extra` to the rows after
    it that hold it too; rows outside `known` (a narrow read) have no inputs to compare."""
    overrides: dict[str, int | None] = {}
    ids = [table[n - 1] for n in strays if n <= len(table)]
    stray_ids = {_id_of(row, layout) for row in ids}
    for row_id in set(extra) | stray_ids:
        if row_id not in holders:
            continue
        rows = [holders[row_id], *extra.get(row_id, ())]
        free = [n for n in rows if n not in strays]
        entry = entries.get(row_id)
        matching = [
            n
            for n in free
            if entry is not None
            and entry.fingerprint
            and (known is None or n in known)
            and inputs_of(table[n - 1], layout) == entry.fingerprint
        ]
        picked = matching or free
        overrides[row_id] = picked[0] if picked else None
    return Owners(holders, overrides, strays)


def owners_of(
    table: Sequence[Sequence[str]], layout: Layout, entries: Mapping[str, Entry]
) -> Owners:
    """The owners of the ids of a table read whole (no strays known)."""
    holders: dict[str, int] = {}
    extra: dict[str, list[int]] = {}
    for number, row in enumerate(table[1:], start=2):
        row_id = _id_of(row, layout)
        if row_id and holders.setdefault(row_id, number) != number:
            extra.setdefault(row_id, []).append(number)
    return owners(holders, extra, table, None, layout, entries)


def _id_of(row: Sequence[str], layout: Layout) -> str:
    index = layout.results["id"]
    return str(row[index]).strip() if index < len(row) else ""
