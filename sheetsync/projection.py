"""PURE: what the sheet's result cells should show, and where, given the journal.

The sheet's result cells are a projection of the journal: every cycle recomputes them
and writes only what differs, so a failed write heals on the next cycle. Rows are found
by their id; this cycle's claims are also checked against the inputs they were made for.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence

from sheetsync.config import STATES_WITH_WORDS, Watch
from sheetsync.layout import Layout, norm
from sheetsync.plan import (
    CELL_LIMIT,
    Candidate,
    CellWrite,
    Entry,
    Projection,
    cell,
    fingerprint,
    numbered,
    pad,
)


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


def desired_cells(entry: Entry, watch: Watch) -> dict[str, str]:
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
    relocate: Iterable[str] = (),
    only: set[str] | None = None,
    rows: Iterable[int] | None = None,
    holders: Mapping[str, int] | None = None,
) -> Projection:
    """Cell writes that make the sheet's result cells match the journal.

    Rows are found by id. A claim not yet checked (`Entry.checked`, and every id in
    `relocate`) must also be on a row holding its inputs; if none does, an id-less row
    holding exactly those inputs takes it (the claim was written while someone moved
    rows), the row it hit is `misplaced`, and ids found nowhere are `missing`. Rows
    showing `retry` are left alone: a human asked for a new attempt. With `only`, rows
    holding other ids (and checked) are not looked at: a flush after the first write.
    """
    out = Projection()
    unchecked = set(relocate) | {rid for rid, e in entries.items() if not e.checked}
    id_col, status_col = layout.results["id"], layout.results["status"]
    retry_word = norm(watch.statuses.retry)
    placed: set[str] = set()
    for number, row in numbered(table, rows):
        row_id = cell(row, id_col).strip()
        entry = entries.get(row_id) if row_id else None
        if entry is None or row_id in placed:
            continue
        if holders is not None and holders.get(row_id) != number:
            continue
        if only is not None and row_id not in only and row_id not in unchecked:
            continue
        if norm(cell(row, status_col)) == retry_word:
            placed.add(row_id)
            continue
        if row_id in unchecked:
            if entry.fingerprint and _inputs_print(row, layout) != entry.fingerprint:
                out.misplaced.append(number)
                continue
            out.verified.append(row_id)
        placed.add(row_id)
        out.shown.append(row_id)
        out.writes.extend(_diff(row, number, layout, desired_cells(entry, watch)))
    for row_id in sorted(unchecked - placed):
        entry = entries.get(row_id)
        if entry is None:
            continue
        out.verified.append(row_id)
        found = _find_by_fingerprint(table[1:], layout, entry, out.misplaced)
        if found is None:
            out.missing.append(row_id)
            continue
        if found in out.misplaced:
            out.misplaced.remove(found)
        out.moved.append(row_id)
        out.shown.append(row_id)
        out.writes.extend(_diff(table[found - 1], found, layout, desired_cells(entry, watch)))
    return out


def _inputs_print(row: Sequence[str], layout: Layout) -> str:
    return fingerprint([cell(row, i) for i in layout.inputs])


def _find_by_fingerprint(
    rows: Sequence[Sequence[str]], layout: Layout, entry: Entry, misplaced: Sequence[int]
) -> int | None:
    """A row free to take the result: no id and no status, or holding a misplaced claim."""
    if not entry.fingerprint or entry.state == "skipped":
        return None
    id_col, status_col = layout.results["id"], layout.results["status"]
    for number, row in enumerate(rows, start=2):
        taken = cell(row, id_col).strip() or cell(row, status_col).strip()
        if taken and number not in misplaced:
            continue
        if _inputs_print(row, layout) == entry.fingerprint:
            return number
    return None


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


def misplaced_repairs(
    now: Sequence[Sequence[str]],
    layout: Layout,
    watch: Watch,
    rows: Iterable[int],
    entries: Mapping[str, Entry],
    before: Sequence[Sequence[str]] = (),
) -> list[CellWrite]:
    """Undo claims that landed on the wrong row (rows moved between read and claim write).

    Each of `rows` (see `Projection.misplaced`) gets back what it showed: a row that
    sheetsync handled before gets its own id and results from the journal (found by its
    inputs among entries whose id no row holds now); otherwise its cells from `before`
    (the first read near the claims); a row found in neither was new, so its status and
    id are cleared and it counts as new again.
    """
    rows = list(rows)
    if not rows:
        return []
    id_col = layout.results["id"]
    shown = {cell(r, id_col).strip() for r in now[1:]}
    orphans: dict[str, Entry] = {}
    for entry in entries.values():
        if entry.checked and entry.fingerprint and entry.row_id not in shown:
            orphans.setdefault(entry.fingerprint, entry)
    earlier: dict[str, list[str]] = {}
    for raw in before[1:]:
        row = pad(raw, layout.width)
        earlier.setdefault(fingerprint([row[i] for i in layout.inputs]), row)
    owned = sorted(set(layout.results.values()))
    writes: list[CellWrite] = []
    for number in rows:
        row = pad(now[number - 1], layout.width)
        inputs = fingerprint([row[i] for i in layout.inputs])
        if inputs in orphans:
            writes.extend(_diff(row, number, layout, desired_cells(orphans.pop(inputs), watch)))
            continue
        original = earlier.get(inputs)
        for col in owned:
            value = original[col] if original is not None else ""
            if row[col] != value:
                writes.append(CellWrite(number, col + 1, value))
    return writes


NEIGHBOURHOOD = 64
"""Rows kept around each claimed row from the first read, to undo a misplaced claim."""


def neighbourhood(
    table: Sequence[Sequence[str]],
    numbers: Iterable[int],
    known: Container[int] | None = None,
) -> list[Sequence[str]]:
    """The header and the rows within `NEIGHBOURHOOD` of the given row numbers.

    A claim lands at most a few rows off (rows inserted or deleted in the instant between
    the read and the claim write), so this is all `misplaced_repairs` needs of the first
    read, without keeping a 100,000-row table alive through the cycle. With `known`, rows
    not read whole are left out (`misplaced_repairs` looks rows up by their inputs).
    """
    keep: set[int] = set()
    for number in numbers:
        keep.update(range(max(1, number - NEIGHBOURHOOD), number + NEIGHBOURHOOD + 1))
    return [
        table[0],
        *(
            table[n - 1]
            for n in sorted(keep)
            if 1 < n <= len(table) and (known is None or n in known)
        ),
    ]


def header_writes(layout: Layout) -> list[CellWrite]:
    """Cells that add the missing result headers to the right of the header row."""
    start = layout.width - len(layout.added)
    return [CellWrite(1, start + i + 1, name) for i, name in enumerate(layout.added)]
