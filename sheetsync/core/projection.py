"""PURE: what the sheet's result cells should show, and where, given the journal.

The sheet's result cells are a projection of the journal: every cycle recomputes them
and writes only what differs, so a failed write heals on the next cycle. Rows are found
by their id (`ownership`); each written row carries an `Aim` that the write's answer
must meet (`landing`).
"""

from __future__ import annotations

from collections.abc import Collection, Container, Iterable, Mapping, Sequence

from sheetsync.config import STATES_WITH_WORDS, Watch
from sheetsync.core.landing import Aim, aim, aims, id_aim
from sheetsync.core.layout import Layout, norm
from sheetsync.core.model import Candidate, CellWrite, Entry, Projection, Result
from sheetsync.core.ownership import Owners
from sheetsync.core.plan import CELL_LIMIT, cell, numbered
from sheetsync.core.view import Scan, View


def clip(text: str) -> str:
    """Text cut to fit one cell, marking the cut."""
    return text if len(text) <= CELL_LIMIT else text[: CELL_LIMIT - 1] + "…"


RUN_WORDS = {
    "running": "running",
    "success": "success",
    "failure": "failure",
    "overlapped": "untracked",
    "untracked": "untracked",
}
"""Journal run states -> the `[watch.statuses]` word shown in the run-status column.

`overlapped`: a later run of the same automation started before this one ended, so
/run-data no longer reports this one; it still counts toward `max_in_flight` until a
later run of that automation is seen to end. `untracked`: its outcome is unknown.
"""


def desired_cells(entry: Entry | Result, watch: Watch) -> dict[str, str]:
    """The result cells the journal says a row should show."""
    words = watch.statuses
    status = getattr(words, entry.state) if entry.state in STATES_WITH_WORDS else ""
    if entry.state == "claimed":
        status = words.sending
    run_word = RUN_WORDS.get(entry.run_status)
    return {
        "status": status,
        "link": entry.link[:CELL_LIMIT],
        "message": clip(entry.message),
        "triggered_at": entry.triggered_at,
        "run_status": getattr(words, run_word) if run_word else "",
        "id": entry.row_id,
    }


def project(
    table: Sequence[Sequence[str]],
    layout: Layout,
    watch: Watch,
    entries: Mapping[str, Entry],
    owners: Owners,
    only: set[str] | None = None,
    rows: Iterable[int] | None = None,
    known: Container[int] | None = None,
) -> Projection:
    """Cell writes that make the sheet's result cells match the journal.

    Each id's owning row (see `ownership`) shows its entry. Rows showing `retry` are left
    alone (a person asked for a new attempt: the claim writes them), and so are a
    person's rows that sheetsync once wrote onto by mistake (`foreign`). With `only`,
    other ids are not looked at (a flush after the first write). Every written row gets
    an `Aim`; the id it shows is left alone, and the id cell is what the write's answer
    must show (a row whose inputs were read, `known`, None: every row's, is also checked
    by them should its id cell need writing).
    """
    out = Projection()
    id_col, status_col = layout.results["id"], layout.results["status"]
    retry_word = norm(watch.statuses.retry)
    for number, row in numbered(table, rows):
        row_id = cell(row, id_col).strip()
        entry = entries.get(row_id) if row_id else None
        if entry is None or not owners.owns(row_id, number):
            continue
        if only is not None and row_id not in only:
            continue
        if entry.state == "foreign" or norm(cell(row, status_col)) == retry_word:
            continue
        writes = _diff(row, number, layout, desired_cells(entry, watch))
        if not writes:
            out.shown.append(row_id)
            continue
        if known is None or number in known:
            # the id it shows is left alone: the answer tells by it that the write reached
            # this row, also when a person edited its inputs meanwhile
            out.aims.append(aim(row, number, layout, writes))
        else:
            out.aims.append(id_aim(number, row_id, layout, writes))
        out.showing.append(row_id)
        out.writes.extend(writes)
    return out


def project_first(
    view: View,
    layout: Layout,
    watch: Watch,
    entries: Mapping[str, Entry],
    found: Scan,
    owners: Owners,
    differ: Collection[str] = (),
) -> Projection:
    """The first write's projection: every row, or (narrow) rows read whole, rows the
    sheet does not show yet and the rows of `differ` (ids whose rows show other result
    cells, `core.reprojection`). Rows not shown whose id left the sheet count as shown."""
    if view.known is None:
        projection = project(view.table, layout, watch, entries, owners)
    else:
        unshown = {rid for rid, e in entries.items() if not e.shown}
        unshown.update(differ)
        rows = view.known | {found.holders[rid] for rid in unshown if rid in found.holders}
        only = unshown | found.ids_on(view.known)
        projection = project(
            view.table,
            layout,
            watch,
            entries,
            owners,
            only=only,
            rows=sorted(rows),
            known=view.known,
        )
    gone = [
        rid
        for rid, e in entries.items()
        if not e.shown and e.state not in {"claimed", "sending"} and rid not in found.holders
    ]
    projection.shown.extend(gone)
    return projection


def _diff(
    row: Sequence[str], number: int, layout: Layout, cells: Mapping[str, str]
) -> list[CellWrite]:
    writes = []
    for kind, value in cells.items():
        col = layout.results.get(kind)
        if col is not None and cell(row, col) != value:
            writes.append(CellWrite(number, col + 1, value))
    return writes


def claim_writes(candidates: Iterable[Candidate], layout: Layout, watch: Watch) -> list[CellWrite]:
    """Cells that show a claim before the trigger leaves: `sending`, the id, no stale result."""
    writes = []
    for c in candidates:
        writes.append(CellWrite(c.row_number, layout.results["status"] + 1, watch.statuses.sending))
        writes.append(CellWrite(c.row_number, layout.results["id"] + 1, c.row_id))
        if not c.fresh:  # a new row has no result of ours to clear; never blank others' cells
            for kind in ("link", "message"):
                writes.append(CellWrite(c.row_number, layout.results[kind] + 1, ""))
    return writes


def claim_aims(
    candidates: Iterable[Candidate], table: Sequence[Sequence[str]], layout: Layout, watch: Watch
) -> tuple[list[CellWrite], list[Aim]]:
    """The claim writes and their aims: a claim counts only where it landed on its row."""
    writes = claim_writes(candidates, layout, watch)
    return writes, aims(writes, table, layout)


def header_writes(layout: Layout) -> list[CellWrite]:
    """Cells that add the missing result headers to the right of the header row."""
    start = layout.width - len(layout.added)
    return [CellWrite(1, start + i + 1, name) for i, name in enumerate(layout.added)]
