"""PURE: the first cycle after a takeover (or a restart without a fitting read plan),
kept lean: which rows show other result cells than the journal says they should.

Such a cycle re-projects every row: a former holder may have died between a journal
write and the sheet write that shows it, or written the sheet after it lost the
spreadsheet. Reading every row whole and loading every journal entry for that costs a
100,000-row tab ~190 MB and 8x a served cycle's CPU. Instead the tab is read as a first
read keeps it (`first_read`: every row's status, id and result cells; whole only the
rows that may be new or need checking), and the journal's result fields are walked
page by page (`Store.result_pages`) against the cells each row shows. Only the rows
that differ are projected (their full entries loaded); a row that matches is left as
it is, and marked nothing (the journal already holds it as shown, or `entries_needed`
loads it as not shown). Ids on more than one row are given to the projection too (it
tells the owner by the inputs); ids the sheet shows but no page holds are the journal's
unknown ids (`orphans`), found without asking the journal about 100,000 ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sheetsync.config import Watch
from sheetsync.core.layout import Layout, norm
from sheetsync.core.model import Result
from sheetsync.core.projection import desired_cells
from sheetsync.core.view import Scan


@dataclass
class Reprojection:
    """What comparing a lean read with the journal's results found."""

    differ: set[str] = field(default_factory=set)
    """Ids whose (first) row shows other result cells than the journal's, or whose id is
    on more than one row: the projection looks at these."""
    unknown: list[str] = field(default_factory=list)
    """Ids the sheet shows that the journal does not know (in `Scan.holders` order)."""
    compared: int = 0
    """Journal rows found on the sheet and compared."""


def reproject(
    pages: Iterable[Sequence[Result]],
    columns: Mapping[int, Sequence[str]],
    layout: Layout,
    watch: Watch,
    found: Scan,
) -> Reprojection:
    """Compare the journal's results (`pages`, any order) with the cells a lean read kept
    (`columns`: index -> cells from row 2 down, as `View.columns`)."""
    height = len(found.ids)
    cells = [(kind, _padded(columns.get(col, ()), height)) for kind, col in layout.results.items()]
    statuses = _padded(columns.get(layout.results["status"], ()), height)
    retry = norm(watch.statuses.retry)
    left_alone = {value: norm(value) == retry for value in set(statuses)}
    holders, extra = found.holders, found.extra
    seen = bytearray(height + 2)
    out = Reprojection()
    for page in pages:
        for result in page:
            number = holders.get(result.row_id)
            if number is None:
                continue  # not on the sheet: `project_first` tells by its shown flag
            seen[number] = 1
            out.compared += 1
            if result.row_id in extra:
                out.differ.add(result.row_id)
                continue
            k = number - 2
            if result.state == "foreign" or left_alone[statuses[k]]:
                continue  # a person's row, or a retry asked for: the projection leaves it
            want = desired_cells(result, watch)
            if any(shown[k] != want[kind] for kind, shown in cells):
                out.differ.add(result.row_id)
    out.unknown = [rid for rid, number in holders.items() if not seen[number]]
    return out


def _padded(cells: Sequence[str], height: int) -> Sequence[str]:
    """A column's cells for rows 2..height+1 (a column read ends at its last value)."""
    if len(cells) >= height:
        return cells
    return [*cells, *([""] * (height - len(cells)))]
