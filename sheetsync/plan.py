"""PURE decisions of a cycle: table -> candidates -> trigger plans, journal -> cell writes.

Nothing here does I/O or reads a clock: the engine passes the table it read, the
journal entries it holds and `now`, and gets back values to act on.

Row identity: every row sheetsync claims gets a short random id in the watch's id
column (default header `sheetsync id`). Ids travel with their row's values when
people insert, delete or sort rows, so results are written wherever the id is found
right before the write, and nowhere when it is gone. The input fingerprint recorded
with each claim double-checks that the row holding an id still holds what was sent.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sheetsync.config import Watch
from sheetsync.layout import Layout, map_header, norm  # noqa: F401 - map_header re-exported

READY_WORDS = frozenset(
    {"true", "yes", "y", "x", "✓", "✔", "☑", "1", "ok", "ready"}
    # a ticked checkbox reads as the spreadsheet locale's TRUE
    | {"wahr", "vrai", "verdadero", "verdadeiro", "vero", "waar", "prawda", "sant", "sand"}
)
"""Ready-cell values (case-insensitive) that mark a row as ready to send."""

CELL_LIMIT = 50_000
"""Google refuses a whole batch when one cell passes 50,000 characters: clip ours."""


@dataclass(frozen=True, slots=True)
class Entry:
    """What the journal knows of one row, as the plan needs it."""

    row_id: str
    state: str
    fingerprint: str = ""
    link: str = ""
    message: str = ""
    triggered_at: str = ""
    run_status: str = ""
    retry_due: bool = False


@dataclass(frozen=True, slots=True)
class Candidate:
    """A row to send this cycle."""

    row_number: int
    row_id: str
    inputs: tuple[str, ...]
    automation: str
    fingerprint: str
    retry: bool = False
    fresh: bool = False
    """A row sheetsync has never claimed (so `settle_seconds` applies to it)."""
    look: str = ""
    """A hash of everything a person may still be typing: inputs, ready cell, automation."""


@dataclass(frozen=True)
class TriggerPlan:
    """One /trigger call: the automation, the rows it covers and the `data` it carries."""

    automation: str
    row_ids: tuple[str, ...]
    data: list[list[str]] | list[list[list[str]]]


@dataclass(frozen=True, slots=True)
class CellWrite:
    """One cell to write (1-based row and column)."""

    row: int
    col: int
    value: str


@dataclass
class Projection:
    """Cells to write so the sheet shows the journal, plus what could not be placed."""

    writes: list[CellWrite] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    misplaced: list[int] = field(default_factory=list)
    """Rows holding a claim meant for other inputs, not reused for a relocated result."""


def pad(row: Sequence[str], width: int) -> list[str]:
    """The row cut or padded with `""` to exactly `width` cells."""
    cells = [str(cell) for cell in row[:width]]
    return cells + [""] * (width - len(cells))


def fingerprint(inputs: Iterable[str]) -> str:
    """A short stable hash of a row's input cells."""
    blob = json.dumps(list(inputs), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cell(row: Sequence[str], index: int) -> str:
    """One cell of a ragged row (`""` past its end)."""
    return row[index] if index < len(row) else ""


def new_row_id() -> str:
    """A fresh row id: short, random, unlikely to be typed by a person."""
    return "r" + secrets.token_hex(6)


def is_ready(value: str) -> bool:
    """Whether a ready-column cell says the row may be sent."""
    return value.strip().casefold() in READY_WORDS


def find_candidates(
    table: Sequence[Sequence[str]],
    layout: Layout,
    watch: Watch,
    entries: Mapping[str, Entry],
) -> list[Candidate]:
    """Rows to send now: new rows, `retry` rows, claimed-but-unsent and due `waiting` rows."""
    status_col, id_col = layout.results["status"], layout.results["id"]
    retry_word = norm(watch.statuses.retry)
    found: list[Candidate] = []
    seen_ids: set[str] = set()
    resendable = {"claimed", "waiting"}
    for number, raw in enumerate(table[1:], start=2):
        status, row_id = cell(raw, status_col).strip(), cell(raw, id_col).strip()
        entry = entries.get(row_id) if row_id and row_id not in seen_ids else None
        seen_ids.add(row_id)
        retry = norm(status) == retry_word
        if status and not retry and (entry is None or entry.state not in resendable):
            continue  # the common case, kept cheap: a row that shows a status
        row = pad(raw, layout.width)
        inputs = tuple(row[i] for i in layout.inputs)
        current = fingerprint(inputs)
        if entry is not None and not status and _reused(entry, current):
            entry = None  # someone cleared a finished row and typed new inputs: a new row
        if entry is not None and not retry and not _resend(entry, current):
            continue
        if entry is None and not retry and (status or not any(c.strip() for c in inputs)):
            continue
        if layout.ready is not None and not retry and not is_ready(row[layout.ready]):
            continue
        automation = _automation(row, layout, watch)
        if not automation:
            continue
        ready = row[layout.ready] if layout.ready is not None else ""
        found.append(
            Candidate(
                number,
                row_id if entry is not None or (retry and row_id) else new_row_id(),
                inputs,
                automation,
                current,
                retry,
                fresh=entry is None and not retry,
                look=fingerprint([*inputs, ready, automation]),
            )
        )
    return found


def _resend(entry: Entry, current: str) -> bool:
    """A known row goes out again only if it was claimed but never sent, or is due after waiting.

    Either way the row must still hold the inputs of the claim: a claim written onto the
    wrong row (people moved rows between the read and the claim) must not send that row.
    """
    if entry.fingerprint and entry.fingerprint != current:
        return False
    return entry.state == "claimed" or (entry.state == "waiting" and entry.retry_due)


def _reused(entry: Entry, current: str) -> bool:
    return (
        bool(entry.fingerprint)
        and entry.fingerprint != current
        and entry.state
        not in {
            "claimed",
            "sending",
        }
    )


def _automation(row: Sequence[str], layout: Layout, watch: Watch) -> str:
    if layout.automation is not None and row[layout.automation].strip():
        return row[layout.automation]
    return watch.automation or ""


def plan_triggers(
    candidates: Sequence[Candidate], layout: Layout, watch: Watch
) -> list[TriggerPlan]:
    """Group candidates into /trigger calls according to mode, shape and batch size."""
    header = layout.input_header()
    plans: list[TriggerPlan] = []
    if watch.mode == "row":
        groups = [[c] for c in candidates]
    else:
        by_name: dict[str, list[Candidate]] = {}
        for candidate in candidates:
            by_name.setdefault(candidate.automation, []).append(candidate)
        size = watch.max_rows_per_trigger
        groups = [
            rows[i : i + size] for rows in by_name.values() for i in range(0, len(rows), size)
        ]
    if watch.send_row_id:
        header = [*header, watch.columns.id]
    for group in groups:
        rows = [[*c.inputs, c.row_id] if watch.send_row_id else list(c.inputs) for c in group]
        table = [header, *rows] if watch.include_header else rows
        data: list[list[str]] | list[list[list[str]]] = (
            [table] if watch.data_shape == "tables" else table
        )
        plans.append(TriggerPlan(group[0].automation, tuple(c.row_id for c in group), data))
    return plans


def settle(
    candidates: Sequence[Candidate],
    first_seen: Mapping[str, datetime],
    now: datetime,
    seconds: float,
) -> tuple[list[Candidate], dict[str, datetime]]:
    """`settle_seconds`: new rows go only once they looked the same for `seconds`.

    Returns the candidates that may go and the first-seen map to keep: only looks seen
    in this read are kept, so a row that changed (or changed back) starts over.
    """
    if seconds <= 0:
        return list(candidates), {}
    keep: dict[str, datetime] = {}
    ready: list[Candidate] = []
    for candidate in candidates:
        if not candidate.fresh:
            ready.append(candidate)
            continue
        since = keep.setdefault(candidate.look, first_seen.get(candidate.look, now))
        if (now - since).total_seconds() >= seconds:
            ready.append(candidate)
    return ready, keep


def take_slots(
    plans: Sequence[TriggerPlan], in_flight: int, max_in_flight: int | None
) -> list[TriggerPlan]:
    """`max_in_flight`: the triggers that fit beside the runs still running or queued."""
    if max_in_flight is None:
        return list(plans)
    return list(plans[: max(0, max_in_flight - in_flight)])


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
    status = getattr(words, entry.state) if entry.state in type(words).model_fields else ""
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
) -> Projection:
    """Cell writes that make the sheet's result cells match the journal.

    Rows are found by id. For the ids in `relocate` (this cycle's claims) the row must
    also hold the claimed inputs; if none does, an id-less row holding exactly those
    inputs takes their place (the claim was written while someone moved rows), and ids
    found nowhere are `missing`. Rows showing `retry` are left alone: a human asked for
    a new attempt.
    """
    out = Projection()
    relocate = set(relocate)
    id_col, status_col = layout.results["id"], layout.results["status"]
    retry_word = norm(watch.statuses.retry)
    rows = table[1:]
    placed: set[str] = set()
    for number, row in enumerate(rows, start=2):
        row_id = cell(row, id_col).strip()
        entry = entries.get(row_id) if row_id else None
        if entry is None or row_id in placed:
            continue
        if norm(cell(row, status_col)) == retry_word:
            placed.add(row_id)
            continue
        if (
            row_id in relocate
            and entry.fingerprint
            and _inputs_print(row, layout) != entry.fingerprint
        ):
            out.misplaced.append(number)
            continue
        placed.add(row_id)
        out.writes.extend(_diff(row, number, layout, desired_cells(entry, watch)))
    for row_id in sorted(relocate - placed):
        entry = entries.get(row_id)
        if entry is None:
            continue
        found = _find_by_fingerprint(rows, layout, entry, out.misplaced)
        if found is None:
            out.missing.append(row_id)
            continue
        if found in out.misplaced:
            out.misplaced.remove(found)
        out.moved.append(row_id)
        out.writes.extend(_diff(rows[found - 2], found, layout, desired_cells(entry, watch)))
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
    before: Sequence[Sequence[str]],
    layout: Layout,
    rows: Iterable[int],
) -> list[CellWrite]:
    """Undo claims that landed on the wrong row (rows moved between read and claim write).

    Each of `rows` (see `Projection.misplaced`) gets back the result cells it had in
    `before`, found by its own inputs; a row that was not there gets an empty status and
    id, so it counts as new again.
    """
    rows = list(rows)
    if not rows:
        return []
    id_col, status_col = layout.results["id"], layout.results["status"]
    owned = sorted(set(layout.results.values()))
    earlier: dict[str, list[str]] = {}
    for raw in before[1:]:
        row = pad(raw, layout.width)
        earlier.setdefault(fingerprint([row[i] for i in layout.inputs]), row)
    writes: list[CellWrite] = []
    for number in rows:
        row = pad(now[number - 1], layout.width)
        original = earlier.get(fingerprint([row[i] for i in layout.inputs]))
        for col in owned:
            if original is None and col not in {id_col, status_col}:
                continue
            value = original[col] if original is not None else ""
            if row[col] != value:
                writes.append(CellWrite(number, col + 1, value))
    return writes


NEIGHBOURHOOD = 64
"""Rows kept around each claimed row from the first read, to undo a misplaced claim."""


def neighbourhood(table: Sequence[Sequence[str]], numbers: Iterable[int]) -> list[Sequence[str]]:
    """The header and the rows within `NEIGHBOURHOOD` of the given row numbers.

    A claim lands at most a few rows off (rows inserted or deleted in the instant between
    the read and the claim write), so this is all `misplaced_repairs` needs of the first
    read, without keeping a 100,000-row table alive through the cycle.
    """
    keep: set[int] = set()
    for number in numbers:
        keep.update(range(max(1, number - NEIGHBOURHOOD), number + NEIGHBOURHOOD + 1))
    return [table[0], *(table[n - 1] for n in sorted(keep) if 1 < n <= len(table))]


def header_writes(layout: Layout) -> list[CellWrite]:
    """Cells that add the missing result headers to the right of the header row."""
    start = layout.width - len(layout.added)
    return [CellWrite(1, start + i + 1, name) for i, name in enumerate(layout.added)]


WAIT_BASE_SECONDS = 60.0
"""First wait after an account-level refusal; doubles per consecutive wait."""
WAIT_MAX_SECONDS = 900.0
QUOTA_WAIT_SECONDS = 300.0
"""A spent runtime allowance does not come back in seconds: look again every 5 minutes."""


def waiting_delay(reason: str, waits: int, rand: float) -> float:
    """Seconds until a `waiting` row is tried again, after `waits` earlier waits."""
    if reason == "quota":
        return QUOTA_WAIT_SECONDS
    base = min(WAIT_BASE_SECONDS * 2.0**waits, WAIT_MAX_SECONDS)
    return base * (0.8 + 0.4 * rand)
