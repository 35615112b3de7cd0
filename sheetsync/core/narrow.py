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
from dataclasses import dataclass, field
from itertools import compress, count, zip_longest
from typing import overload

from sheetsync.config import Watch, schema
from sheetsync.core.a1 import column_letter, quote_title
from sheetsync.core.layout import Layout, norm, trimmed_header
from sheetsync.core.plan import Entry, cell

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


@dataclass
class View:
    """A tab as one read saw it: rows in sheet order (`table[0]` is the header).

    `known` holds the row numbers read whole; `None` means every row was. Other rows
    hold only the narrow columns' cells (and `""` elsewhere), or nothing at all.
    """

    table: Sequence[Sequence[str]]
    known: set[int] | None = None
    columns: dict[int, Sequence[str]] | None = None
    """A narrow read's columns as read (index -> cells from row 2 down), for `scan`."""
    adoptable: bool = False
    """A first read's (`first_read`): its other rows also hold the result cells shown, so
    a lost journal can adopt them without their inputs."""


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


def header_of(columns: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """The header row from a `1:1` range read column by column."""
    return trimmed_header([col[0] if col else "" for col in columns])


def as_rows(columns: Sequence[Sequence[str]]) -> list[Sequence[str]]:
    """A range read column by column, as rows (each as wide as the range's answer)."""
    return list(zip_longest(*columns, fillvalue=""))


def first_view(plan: ReadPlan, layout: Layout, answers: Sequence[Sequence[Sequence[str]]]) -> View:
    """Assemble a narrow first read (the answers to `first_ranges`) into a `View`."""
    narrow = narrow_columns(layout)
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


class NarrowTable(Sequence[Sequence[str]]):
    """A narrow first read as rows, each built when asked for.

    Row 1 is the header; rows read whole are as read; any other row holds the narrow
    columns' cells (`""` in the other columns), or is `()` past the last of them. A
    100,000-row read thus costs no 100,000 tuples (nor their garbage collection): a
    cycle looks at a few hundred rows by number.
    """

    def __init__(
        self,
        header: Sequence[str],
        spread: Sequence[Sequence[str]],
        height: int,
        whole: Mapping[int, Sequence[str]],
        widest: int = 0,
    ) -> None:
        self._header, self._spread, self._height = header, spread, height
        self._whole = {n: row for n, row in whole.items() if n <= height}
        self._longest = max(map(len, spread), default=0)
        self._widest = widest
        """The widest row of the tab as read, when known (rows here are cut to columns)."""

    def __len__(self) -> int:
        return self._height

    @overload
    def __getitem__(self, index: int) -> Sequence[str]: ...

    @overload
    def __getitem__(self, index: slice) -> list[Sequence[str]]: ...

    def __getitem__(self, index: int | slice) -> Sequence[str] | list[Sequence[str]]:
        if isinstance(index, slice):
            return [self._row(i) for i in range(*index.indices(self._height))]
        if index < 0:
            index += self._height
        if not 0 <= index < self._height:
            raise IndexError(index)
        return self._row(index)

    def _row(self, index: int) -> Sequence[str]:
        if index == 0:
            return self._header
        whole = self._whole.get(index + 1)
        if whole is not None:
            return whole
        k = index - 1
        if k >= self._longest:
            return ()
        return tuple([c[k] if k < len(c) else "" for c in self._spread])

    @property
    def width(self) -> int:
        """The widest row, without building the rows."""
        narrow = len(self._spread) if self._longest else 0
        return max([len(self._header), narrow, self._widest, *map(len, self._whole.values())])


def place(
    whole: dict[int, Sequence[str]], first: int, last: int, answer: Sequence[Sequence[str]]
) -> None:
    """Rows `first..last` read column by column into `whole` (rows past the data: empty)."""
    rows = as_rows(answer)
    for number in range(first, last + 1):
        whole[number] = rows[number - first] if number - first < len(rows) else ()


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


@dataclass
class Scan:
    """One pass over a view's status and id columns."""

    open_rows: list[int]
    """Rows whose status is empty, `retry` or `sending`: they may be sent."""
    holders: dict[str, int]
    """Each id on the sheet -> the first row holding it."""
    ids: list[str]
    """The id column, stripped (`ids[0]` is row 2's)."""
    extra: dict[str, list[int]] = field(default_factory=dict)
    """Ids on more than one row -> the rows after the first (see `ownership`)."""

    def ids_on(self, rows: Iterable[int]) -> set[str]:
        """The ids these rows hold (rows without one add nothing)."""
        ids = self.ids
        found = {ids[n - 2] for n in rows if 2 <= n < len(ids) + 2}
        found.discard("")
        return found


def scan(view: View, layout: Layout, watch: Watch) -> Scan:
    """Find the open rows and where every id is, in one pass (statuses repeat: memoised)."""
    status_col, id_col = layout.results["status"], layout.results["id"]
    table = view.table
    if view.columns is not None:
        # a column the cycle adds was not read: empty
        statuses, ids = view.columns.get(status_col, ()), view.columns.get(id_col, ())
    else:
        statuses = [cell(row, status_col) for row in table[1:]]
        ids = [cell(row, id_col) for row in table[1:]]
    words = {norm(watch.statuses.retry), norm(watch.statuses.sending), ""}
    flags = {value: norm(value) in words for value in set(statuses)}
    open_rows = list(compress(count(2), map(flags.__getitem__, statuses)))
    open_rows += range(len(statuses) + 2, len(table) + 1)  # past the column's last value
    stripped = list(map(str.strip, ids))
    # reversed: the first row holding an id is the one that stays in the map
    holders = dict(zip(reversed(stripped), range(len(stripped) + 1, 1, -1), strict=True))
    holders.pop("", None)
    extra: dict[str, list[int]] = {}
    if len(holders) < len(stripped) - stripped.count(""):  # some id is on two rows
        for number, row_id in enumerate(stripped, start=2):
            if row_id and holders[row_id] != number:
                extra.setdefault(row_id, []).append(number)
    return Scan(open_rows, holders, stripped, extra)


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
