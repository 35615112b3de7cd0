"""What a fleet test prints when rows stay unfinished: one paragraph per row not final.

Each names the spreadsheet and its watch, the row (url, Status cell, id cell), the
journal's row (state, attempt, epoch, run status, next attempt), who holds the unit (the
instance's name and PID, the epoch, or nobody), the row's last journal events, the unit's
last cycle (`cycles`) and the last log lines of every instance (dead ones too) that name
the watch. The next failure of a soak then explains itself.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any, NamedTuple

from sheetsync.adapters.store.journal_records import UNKNOWN_MESSAGE
from sheetsync.core.plan import fingerprint
from sheetsync.core.strays import UNTOLD_MESSAGE
from sheetsync.cycle.orphans import LOST_SENDING_MESSAGE
from sheetsync.cycle.reconcile import HIT_BY_MISTAKE
from sheetsync.cycle.unsettled import LOST_ANSWER_MESSAGE
from sheetsync.testing_fleet import FINAL, Fleet, query

EVENTS, LOG_LINES = 6, 4


class SheetRow(NamedTuple):
    """A row of a fleet spreadsheet: its url (column A) and the cells sheetsync writes."""

    url: str
    status: str
    id: str
    link: str
    message: str


def sheet_rows(fleet: Fleet, sheet: str) -> list[SheetRow]:
    """Each row of `sheet`'s Queue tab (the default result headers)."""
    values = fleet.world.google.values(sheet, "Queue")
    header = [cell.strip().lower() for cell in values[0]]

    def at(row: list[str], name: str) -> str:
        col = header.index(name) if name in header else -1
        return row[col] if 0 <= col < len(row) else ""

    return [
        SheetRow(
            row[0],
            at(row, "status"),
            at(row, "sheetsync id"),
            at(row, "run link"),
            at(row, "message"),
        )
        for row in values[1:]
        if row
    ]


def final_count(fleet: Fleet) -> tuple[int, int]:
    """(rows final, rows) over every spreadsheet of the fleet."""
    rows = [r.status for sid in fleet.sheets for r in sheet_rows(fleet, sid)]
    return sum(s in FINAL for s in rows), len(rows)


def misplaced(fleet: Fleet) -> list[str]:
    """Rows whose Run link is not a link of a run axiom started for that row's url (a
    result written on the wrong row), and `triggered` rows without such a link."""
    links: dict[str, set[str]] = {}
    for run in fleet.world.axiom.runs:
        links.setdefault(str(run.data[1][0]), set()).add(run.link)
    wrong = []
    for sheet in fleet.sheets:
        for row in sheet_rows(fleet, sheet):
            if row.link in links.get(row.url, set()):
                continue
            if row.link or row.status == "triggered":
                wrong.append(f"{row.url} (Status {row.status!r}, Run link {row.link!r})")
    return wrong


WHY_UNKNOWN = {
    UNKNOWN_MESSAGE: "stopped while sending",
    UNTOLD_MESSAGE: "stray untold",
    LOST_SENDING_MESSAGE: "sending unknown to the journal",
    LOST_ANSWER_MESSAGE: "answer lost with the store",
}


def unknown_reasons(fleet: Fleet) -> Counter[str]:
    """Why rows ended `unknown`, by their Message cell: sheetsync stopped (or lost its
    lease) between `sending` and the answer; a stray nothing told the past of; a row
    showing `sending` the journal did not know; else axiom's answer was unclear."""
    reasons: Counter[str] = Counter()
    for sheet in fleet.sheets:
        for row in sheet_rows(fleet, sheet):
            if row.status == "unknown":
                reasons[WHY_UNKNOWN.get(row.message, "axiom unclear")] += 1
    return reasons


def stuck_report(fleet: Fleet, limit: int = 20) -> str:
    """One paragraph per row not final (at most `limit`), then each unit's last cycle."""
    leases = _safe(fleet.leases, {})
    names = {i.pid: i.name for i in fleet.instances}
    out: list[str] = []
    units: set[int] = set()
    total = 0
    for n, sheet in enumerate(fleet.sheets):
        for row in sheet_rows(fleet, sheet):
            if row.status in FINAL:
                continue
            total += 1
            units.add(n)
            if len(out) < limit:
                out.append(_row_paragraph(fleet, n, sheet, row, leases, names))
    if not out:
        return "every row is final"
    head = f"{total} rows not final (the first {len(out)} shown):"
    tails = [_unit_paragraph(fleet, n, leases, names) for n in sorted(units)]
    return "\n".join([head, *out, *tails])


def rows_report(fleet: Fleet, wanted: Callable[[SheetRow], bool], limit: int = 10) -> str:
    """A paragraph per row `wanted` picks (at most `limit`): cells, journal row, events;
    then one per unit of those rows (its strays, its instances' last lines about it)."""
    leases = _safe(fleet.leases, {})
    names = {i.pid: i.name for i in fleet.instances}
    picked = [
        (n, sheet, row)
        for n, sheet in enumerate(fleet.sheets)
        for row in sheet_rows(fleet, sheet)
        if wanted(row)
    ][:limit]
    out = [_row_paragraph(fleet, n, sheet, row, leases, names) for n, sheet, row in picked]
    units = sorted({n for n, _, _ in picked})
    return "\n".join([*out, *(_unit_paragraph(fleet, n, leases, names) for n in units)])


def _row_paragraph(
    fleet: Fleet,
    n: int,
    sheet: str,
    row: SheetRow,
    leases: dict[str, tuple[int | None, int]],
    names: dict[int, str],
) -> str:
    url, status, row_id = row.url, row.status, row.id
    watch = f"w{n}"
    held = _held(sheet, leases, names)
    lines = [f"- {sheet} ({watch}) row {url}: Status {status!r}, id {row_id!r}, {held}"]
    if not row_id:
        return "\n".join([*lines, *_without_id(fleet, watch, row)])
    journal = _rows(
        fleet,
        "SELECT r.state, r.attempt, r.epoch, r.run_status, r.next_attempt_at, r.shown,"
        " r.updated_at, r.checked, r.fingerprint = %s, p.row_number, p.preview"
        " FROM rows r LEFT JOIN places p USING (watch, row_id)"
        " WHERE r.watch = %s AND r.row_id = %s",
        fingerprint([url, _product(url)]),
        watch,
        row_id,
    )
    lines.append(f"    journal: {_journal(journal)}")
    events = _rows(
        fleet,
        "SELECT at, state, detail FROM events WHERE watch = %s AND row_id = %s"
        " ORDER BY id DESC LIMIT %s",
        watch,
        row_id,
        EVENTS,
    )
    lines += [f"    event {at} {state} {detail[:160]}" for at, state, detail in reversed(events)]
    strays = _rows(
        fleet,
        "SELECT wrote, prior, gone, at FROM strays WHERE watch = %s AND row_id = %s",
        watch,
        row_id,
    )
    lines += [f"    stray wrote {w} prior {p} gone {g} at {at}" for w, p, g, at in strays]
    return "\n".join(lines)


def _without_id(fleet: Fleet, watch: str, row: SheetRow) -> list[str]:
    """A row without an id: what it shows, whose run its link is, and the watch's record
    of rows written by mistake (strays, writes whose answer never came, adoptions)."""
    owner = next((str(r.data[1][0]) for r in fleet.world.axiom.runs if r.link == row.link), "")
    lines = [
        f"    no id on the sheet; Run link {row.link!r} (a run of {owner or 'no row'}), "
        f"Message {row.message[:80]!r}"
    ]
    strays = _rows(
        fleet, "SELECT row_id, wrote, prior, gone, at FROM strays WHERE watch = %s", watch
    )
    lines += [f"    stray {r} wrote {w} prior {p} gone {g} at {at}" for r, w, p, g, at in strays]
    waiting = _rows(fleet, "SELECT * FROM unanswered WHERE watch = %s", watch)
    lines += [f"    unanswered {line}" for line in waiting]
    adopted = _rows(
        fleet,
        "SELECT at, row_id, detail FROM events WHERE watch = %s AND detail LIKE %s ORDER BY id",
        watch,
        f"%{HIT_BY_MISTAKE}%",
    )
    lines += [f"    event {at} {r} {detail[:160]}" for at, r, detail in adopted]
    return lines


def _unit_paragraph(
    fleet: Fleet, n: int, leases: dict[str, tuple[int | None, int]], names: dict[int, str]
) -> str:
    watch, sheet = f"w{n}", fleet.sheets[n]
    cycle = _rows(fleet, "SELECT at, held, settling, error FROM cycles WHERE watch = %s", watch)
    strays = _rows(
        fleet, "SELECT row_id, wrote, prior, gone FROM strays WHERE watch = %s AND NOT gone", watch
    )
    lines = [
        f"* unit {sheet} ({watch}): {_held(sheet, leases, names)}; last cycle {cycle}; "
        f"strays not gone (row id, wrote, prior, gone) {strays}"
    ]
    mentions = re.compile(rf"\b{watch}\b")
    for instance in fleet.instances:
        found = [line for line in instance.process.lines() if mentions.search(line)]
        alive = "alive" if instance.alive() else "dead"
        for line in found[-LOG_LINES:]:
            lines.append(f"    {instance.name} ({alive}): {line[:240]}")
    return "\n".join(lines)


def _held(sheet: str, leases: dict[str, tuple[int | None, int]], names: dict[int, str]) -> str:
    if sheet not in leases:
        return "unit never leased"
    pid, epoch = leases[sheet]
    if pid is None:
        return f"unit held by nobody (epoch {epoch})"
    return f"unit held by {names.get(pid, '?')} (pid {pid}, epoch {epoch})"


def _journal(rows: list[tuple[Any, ...]]) -> str:
    if not rows:
        return "no row"
    state, attempt, epoch, run, next_at, shown, updated, checked, same, number, seen = rows[0]
    return (
        f"state {state}, attempt {attempt}, epoch {epoch}, run {run or '-'}, "
        f"next attempt {next_at or '-'}, shown {shown}, checked {checked}, updated {updated}, "
        f"inputs {'as claimed' if same else 'NOT as claimed'}, claimed on row {number} "
        f"showing {seen!r}"
    )


def _product(url: str) -> str:
    """The product cell `Fleet.add_row` typed beside `url` (its key)."""
    return url.rsplit("/", 1)[-1]


def _rows(fleet: Fleet, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """A diagnostic query: its error (the database may be down) reads as no rows."""
    return _safe(lambda: query(fleet.url, sql, *args), [])  # type: ignore[no-any-return]


def _safe(read: Any, default: Any) -> Any:
    """A diagnostic read that must not hide the failure it explains (the database may be
    down): its error becomes the default."""
    try:
        return read()
    except Exception:  # a diagnostic never raises
        return default
