"""PURE: what to read of a big tab, and the table view that reading gives.

A tab sheetsync has served for a while is mostly handled rows. Reading every cell
of it every cycle costs time and memory in proportion to the sheet, not the work.
So once a tab has `NARROW_FROM_ROWS` rows, the first read of a cycle takes only:

    the header row               (a changed header means a full read instead)
    the status and id columns    (+ ready and automation columns, when configured)
    whole rows for `ReadPlan.rows` (rows that needed their inputs last cycle)
    whole rows from `ReadPlan.tail` down (where new rows are appended)

Rows that need their inputs but were not read whole this time (a row inserted in
the middle of the sheet since the last cycle) are taken on the next cycle, which
reads them: never on a guess. The plan is kept in the journal, so `sheetsync once`
started by a timer reads narrowly too.

A flush reads only the header and the rows around the claimed rows (`windows`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sheetsync.config import Watch, schema
from sheetsync.core.a1 import column_letter, quote_title
from sheetsync.core.layout import Layout, trimmed_header
from sheetsync.core.model import Entry
from sheetsync.core.plan import cell
from sheetsync.core.view import NarrowTable, Scan, View, header_of, place

NARROW_FROM_ROWS = 2_000
"""Tabs with fewer rows are read whole every cycle (cheap, and simplest)."""
TAIL_MARGIN = 32
"""Rows above the last handled row also read whole (rows deleted above shift new rows up)."""
MAX_RUNS = 100
"""More separate runs of rows to read than this: the tab is read whole."""
RUN_GAP = 8
"""Runs of rows closer than this are read as one range."""
WINDOW = 64
"""A flush reads this many rows either side of each claimed row (rows move meanwhile)."""


@dataclass(frozen=True)
class ReadPlan:
    """What the next narrow first read of a tab takes (row numbers are 1-based)."""

    header: tuple[str, ...]
    settings: str
    tail: int
    rows: tuple[int, ...] = ()

    def dumps(self) -> str:
        return json.dumps(
            {"header": self.header, "settings": self.settings, "tail": self.tail, "rows": self.rows}
        )

    @classmethod
    def loads(cls, text: str) -> ReadPlan | None:
        try:
            raw = json.loads(text)
            return cls(
                tuple(str(h) for h in raw["header"]),
                str(raw["settings"]),
                int(raw["tail"]),
                tuple(int(r) for r in raw["rows"]),
            )
        except (ValueError, KeyError, TypeError):
            return None


_LAYOUT_SETTINGS = (
    "worksheet",
    "input_columns",
    "ready_column",
    "automation_column",
    "add_missing_columns",
    "track_runs",
    "columns",
)


def settings_key(watch: Watch) -> str:
    """A hash of the settings that decide the layout: a change means a full read."""
    settings = schema.values(watch)
    picked = {key: settings[key] for key in _LAYOUT_SETTINGS}
    blob = json.dumps(picked, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def narrow_columns(layout: Layout) -> list[int]:
    """The columns read for every row (0-based): status, id, ready, automation."""
    picked = [layout.results["status"], layout.results["id"], layout.ready, layout.automation]
    return list(dict.fromkeys(c for c in picked if c is not None))


def runs(numbers: Iterable[int], gap: int = RUN_GAP) -> list[tuple[int, int]]:
    """Sorted row numbers as inclusive (first, last) runs; runs closer than `gap` merge."""
    out: list[tuple[int, int]] = []
    for number in sorted(set(numbers)):
        if out and number - out[-1][1] <= gap:
            out[-1] = (out[-1][0], number)
        else:
            out.append((number, number))
    return out


def first_ranges(title: str, plan: ReadPlan, layout: Layout) -> list[str]:
    """The ranges of a narrow first read, in the order `first_view` expects them."""
    tab, last = quote_title(title), column_letter(layout.width)
    ranges = [f"{tab}!1:1"]
    for col in narrow_columns(layout):
        letter = column_letter(col + 1)
        ranges.append(f"{tab}!{letter}2:{letter}")
    for first, end in runs(r for r in plan.rows if r < plan.tail):
        ranges.append(f"{tab}!A{first}:{last}{end}")
    ranges.append(f"{tab}!A{plan.tail}:{last}")
    return ranges


def first_view(plan: ReadPlan, layout: Layout, answers: Sequence[Sequence[Sequence[str]]]) -> View:
    """Assemble a narrow first read (the answers to `first_ranges`) into a `View`."""
    narrow = narrow_columns(layout)
    # repeated cells are one string each already (`lean.one_string_each`, as decoded)
    columns = [answer[0] if answer else () for answer in answers[1 : 1 + len(narrow)]]
    blocks = runs(r for r in plan.rows if r < plan.tail)
    whole: dict[int, Sequence[str]] = {}
    for (first, last), answer in zip(blocks, answers[1 + len(narrow) : -1], strict=True):
        place(whole, first, last, answer)
    tail_end = plan.tail + max((len(c) for c in answers[-1]), default=0) - 1
    place(whole, plan.tail, tail_end, answers[-1])
    height = max([len(c) + 1 for c in columns] + [tail_end])
    spread: list[Sequence[str]] = [()] * (max(narrow) + 1)
    for col, values in zip(narrow, columns, strict=True):
        spread[col] = values
    table = NarrowTable(list(plan.header), spread, height, whole)
    return View(table, set(whole), dict(zip(narrow, columns, strict=True)))


def window_spans(numbers: Iterable[int], height: int) -> list[tuple[int, int]]:
    """Rows within `WINDOW` of `numbers`, as runs clipped to rows 2..`height`."""
    picked = set(numbers)
    near = {n + d for n in picked for d in (-WINDOW, WINDOW)}
    spans = runs(near | picked, gap=2 * WINDOW + 1)
    return [(max(2, a), min(b, height)) for a, b in spans if max(2, a) <= min(b, height)]


def window_ranges(title: str, layout: Layout, spans: Sequence[tuple[int, int]]) -> list[str]:
    """The ranges of a flush read: the header and the rows of `spans` (`window_spans`)."""
    tab, last = quote_title(title), column_letter(layout.width)
    return [f"{tab}!1:1"] + [f"{tab}!A{a}:{last}{b}" for a, b in spans]


def window_view(
    spans: Sequence[tuple[int, int]], answers: Sequence[Sequence[Sequence[str]]]
) -> View:
    """Assemble a flush read (the answers to `window_ranges`) into a `View`.

    `table[0]` is the header as read now; rows outside the windows are empty.
    """
    whole: dict[int, Sequence[str]] = {}
    for (first, last), answer in zip(spans, answers[1:], strict=True):
        place(whole, first, last, answer)
    empty: Sequence[str] = ()
    table: list[Sequence[str]] = [list(header_of(answers[0]))]
    table.extend([empty] * (max(whole, default=1) - 1))
    for number, row in whole.items():
        table[number - 1] = row
    return View(table, set(whole))


def needs_inputs(found: Scan, entries: Mapping[str, Entry]) -> list[int]:
    """Rows whose input cells a cycle must see: open, or held by a resendable claim."""
    wanted = {"claimed", "waiting", "abandoned"}
    held = {
        found.holders[rid]
        for rid, e in entries.items()
        if (e.state in wanted or not e.checked) and rid in found.holders
    }
    copies = {n for rows in found.extra.values() for n in rows}  # owners go by inputs
    copies |= {found.holders[rid] for rid in found.extra}
    return sorted(held.union(found.open_rows, copies))


def next_plan(
    table: Sequence[Sequence[str]], layout: Layout, watch: Watch, needed: Sequence[int]
) -> ReadPlan | None:
    """The plan for the next cycle's first read (`needed`: `needs_inputs`), or `None`."""
    if len(table) < NARROW_FROM_ROWS or layout.added:
        return None
    status_col, id_col = layout.results["status"], layout.results["id"]
    last = 1
    for number in range(len(table), 1, -1):
        row = table[number - 1]
        if cell(row, status_col).strip() or cell(row, id_col).strip():
            last = number
            break
    tail = max(2, last + 1 - TAIL_MARGIN)
    rows = tuple(n for n in needed if n < tail)
    if len(runs(rows)) > MAX_RUNS:
        return None
    return ReadPlan(trimmed_header(table[0]), settings_key(watch), tail, rows)
