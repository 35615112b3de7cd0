"""PURE decisions of a cycle: table -> candidates -> trigger plans (cells: `projection`).

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
from datetime import datetime
from typing import TYPE_CHECKING

from sheetsync.config import Watch
from sheetsync.core.backoff import Backoff
from sheetsync.core.layout import Layout, norm
from sheetsync.core.model import Candidate, Entry, TriggerPlan
from sheetsync.core.model import CellWrite as CellWrite  # noqa: PLC0414  (for google/sheet.py)

if TYPE_CHECKING:
    from sheetsync.core.ownership import Owners

READY_WORDS = frozenset(
    {"true", "yes", "y", "x", "✓", "✔", "☑", "1", "ok", "ready"}
    # a ticked checkbox reads as the spreadsheet locale's TRUE
    | {"wahr", "vrai", "verdadero", "verdadeiro", "vero", "waar", "prawda", "sant", "sand"}
)
"""Ready-cell values (case-insensitive) that mark a row as ready to send."""

CELL_LIMIT = 50_000
"""Google refuses a whole batch when one cell passes 50,000 characters: clip ours."""


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
    owners: Owners,
    rows: Iterable[int] | None = None,
) -> list[Candidate]:
    """Rows to send now: new rows, `retry` rows, claimed-but-unsent and due `waiting` rows.

    `owners` tells the row owning each id from copies and strays (see `ownership`); with
    `rows`, only those row numbers are looked at (a narrow read: the rows read whole).
    """
    status_col, id_col = layout.results["status"], layout.results["id"]
    retry_word = norm(watch.statuses.retry)
    sending_word = norm(watch.statuses.sending)
    found: list[Candidate] = []
    for number, raw in numbered(table, rows):
        if number in owners.strays:
            continue  # it shows a mistaken write of sheetsync's until that is put back
        status, row_id = cell(raw, status_col).strip(), cell(raw, id_col).strip()
        entry = entries.get(row_id) if owners.owns(row_id, number) else None
        if entry is not None and entry.state in {"foreign", "abandoned"}:
            # a person's row sheetsync once wrote onto by mistake (theirs), or a claim that
            # never left whose row came back (a new row again)
            if entry.state == "abandoned" and norm(status) == sending_word:
                status = ""
            entry = None
        retry = norm(status) == retry_word
        if status and not retry and (entry is None or entry.state not in RESENDABLE):
            continue  # the common case, kept cheap: a row that shows a status
        candidate = _candidate(number, raw, row_id, entry, status, retry, layout, watch, owners)
        if candidate is not None:
            found.append(candidate)
    return found


RESENDABLE = frozenset({"claimed", "waiting"})
"""Journal states whose rows go out again although they show a status."""


def _candidate(
    number: int,
    raw: Sequence[str],
    row_id: str,
    entry: Entry | None,
    status: str,
    retry: bool,
    layout: Layout,
    watch: Watch,
    owners: Owners,
) -> Candidate | None:
    """One row that may go (`find_candidates` kept it), if its inputs say it does."""
    row = pad(raw, layout.width)
    inputs = tuple(row[i] for i in layout.inputs)
    current = fingerprint(inputs)
    if entry is not None and not status and _reused(entry, current):
        entry = None  # someone cleared a finished row and typed new inputs: a new row
    if entry is not None and not retry and not _resend(entry, current):
        return None
    if entry is None and not retry and (status or not any(c.strip() for c in inputs)):
        return None
    if layout.ready is not None and not retry and not is_ready(row[layout.ready]):
        return None
    automation = _automation(row, layout, watch)
    if not automation:
        return None
    ready = row[layout.ready] if layout.ready is not None else ""
    keep = entry is not None or _own_retry(retry, row_id, number, owners)
    return Candidate(
        number,
        row_id if keep else new_row_id(),
        inputs,
        automation,
        current,
        retry,
        fresh=entry is None and not retry,
        look=fingerprint([*inputs, ready, automation]),
    )


def _own_retry(retry: bool, row_id: str, number: int, owners: Owners) -> bool:
    """A `retry` row keeps its id unless another row owns it (then it is a copy)."""
    return retry and bool(row_id) and owners.row(row_id) in (None, number)


def numbered(
    table: Sequence[Sequence[str]], rows: Iterable[int] | None
) -> Iterable[tuple[int, Sequence[str]]]:
    """(row number, row) for every data row, or only for `rows`."""
    if rows is None:
        return enumerate(table[1:], start=2)
    return ((n, table[n - 1]) for n in rows if 1 < n <= len(table))


def _resend(entry: Entry, current: str) -> bool:
    """A known row goes out again only if it was claimed but never sent, or is due after waiting.

    Until the claim was seen on its row, that row must hold the claimed inputs: a claim
    written onto the wrong row (people moved rows between the read and the claim write)
    must not send that row. A checked row never reached axiom, so its current inputs go.
    """
    if not entry.checked and entry.fingerprint and entry.fingerprint != current:
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


WAIT_BASE_SECONDS = 60.0
"""First wait after an account-level refusal; doubles per consecutive wait."""
WAIT_MAX_SECONDS = 900.0
WAITING = Backoff(WAIT_BASE_SECONDS, WAIT_MAX_SECONDS, 0.8, 0.4)
"""A refused row's next try: 48-72 s doubling to 12-18 min."""
QUOTA_WAIT_SECONDS = 300.0
"""A spent runtime allowance does not come back in seconds: look again every 5 minutes."""


def waiting_delay(reason: str, waits: int, rand: float) -> float:
    """Seconds until a `waiting` row is tried again, after `waits` earlier waits."""
    if reason == "quota":
        return QUOTA_WAIT_SECONDS
    return WAITING.delay(waits, rand)
