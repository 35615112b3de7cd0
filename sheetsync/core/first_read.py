"""PURE: what a watch's first read keeps of a big tab (a first cycle, a lost journal).

A tab sheetsync has no read plan for is read whole, in the one request a cycle's first
read always was, column by column (a column-major answer, `adapters/google/lean`: each
column one JSON list, decoded in C; row-major, every row was a list of its own, made and
walked in Python). Of a tab of `NARROW_FROM_ROWS` rows or more the view keeps:

    the header row
    for every row: status and id (+ ready, automation) and the other result columns
    whole rows only where the cycle needs the inputs: rows that may be new (empty,
    `retry` or `sending` status), `waiting` rows, rows showing an id seen above, and
    rows showing an id of `check` (the journal's claims not yet seen on their row, and
    rows claimed, waiting, abandoned or in flight: a crash to recover from)

That is the view a narrow read gives (`View.known`: the rows kept whole), so the cycle
goes on as a narrow one. The result columns let a lost journal adopt every row that
shows an id (`View.adoptable`); a row not kept whole is adopted without its inputs
(an empty fingerprint, which no comparison of inputs matches). A smaller tab, or one
whose header does not map (the cycle reports why), is kept whole, as before, its rows
made from the columns as a row-major read gives them (`table_of`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from itertools import compress, zip_longest

from sheetsync.config import Watch
from sheetsync.core import narrow
from sheetsync.core.layout import RESULT_KINDS, Layout, map_header, norm, trimmed_header
from sheetsync.core.narrow import narrow_columns
from sheetsync.core.view import NarrowTable, View
from sheetsync.errors import SheetError

SHOWN_RESULTS = ("link", "message", "triggered_at", "run_status")
"""Result columns kept for every row too: what a lost journal adopts a row with."""
POOL = 1_000
"""Cells of a kept column made one string per value together (`_pooled`)."""


def kept_columns(layout: Layout) -> list[int]:
    """The columns kept for every row (0-based): the narrow ones, then the shown results;
    not the columns the cycle is about to add (empty)."""
    shown = [layout.results.get(kind) for kind in SHOWN_RESULTS]
    picked = narrow_columns(layout) + [c for c in shown if c is not None]
    present = layout.width - len(layout.added)
    return [c for c in dict.fromkeys(picked) if c < present]


def lean_view(rows: Iterable[Sequence[str]], watch: Watch, check: Collection[str] = ()) -> View:
    """The view of a tab given as rows (the header first), as a first read keeps it: rows
    showing an id of `check` are kept whole."""
    return lean_views(columns_of(rows), {watch.name: (watch, check)})[watch.name]


def lean_views(
    columns: Iterable[list[str]], watches: Mapping[str, tuple[Watch, Collection[str]]]
) -> dict[str, View]:
    """`lean_view` of each watch of one tab (by name: the watch and its `check`), from the
    tab's columns as a column-major read gives them (each with its header cell first): a
    tab two watches share is read once, and no more whole."""
    heads = {norm(name) for watch, _ in watches.values() for name in _kept_names(watch)}
    tab = _Tab(columns, heads)
    if tab.height < narrow.NARROW_FROM_ROWS:
        table = tab.rows()
        return {name: View(list(table)) for name in watches}
    views: dict[str, View] = {}
    unmapped: list[str] = []  # the cycle reports a header's problem from the whole tab
    for name, (watch, check) in watches.items():
        try:
            layout = map_header(trimmed_header(tab.header), watch)
        except SheetError:
            unmapped.append(name)
            continue
        views[name] = _kept(tab, layout, watch, set(check))
    if unmapped:
        table = tab.rows()
        views.update({name: View(list(table)) for name in unmapped})
    return views


def _kept_names(watch: Watch) -> list[str]:
    """The header names of the columns a watch may keep (`kept_columns`)."""
    names = [getattr(watch.columns, kind) for kind in RESULT_KINDS]
    return names + [n for n in (watch.ready_column, watch.automation_column) if n is not None]


def table_of(columns: Iterable[list[str]]) -> list[list[str]]:
    """A tab's rows (the header first) from its columns: what a row-major read gives."""
    return _Tab(columns).rows()


def columns_of(rows: Iterable[Sequence[str]]) -> list[list[str]]:
    """A tab's columns from its rows: what a column-major read gives (no empty cells at a
    column's end, no empty columns at the tab's end)."""
    columns = [list(c) for c in zip_longest(*rows, fillvalue="")]
    for cells in columns:
        _trim(cells)
    while columns and not columns[-1]:
        columns.pop()
    return columns


SEP = "\x00"
"""Between the cells of a column held as one string (no cell holds it: U+0000 comes only
escaped in JSON, and is mended as it is decoded; a column where one does stays a list)."""


class _Tab:
    """A tab as its columns, each with its header cell first (no empty cells at its end).
    A column headed by none of `heads` (inputs, mostly: kept whole only in the rows the
    cycle needs) is held as one string (`SEP` between its cells) until whole rows are
    made: a 200,000-row column of distinct values is ~5 MB so, ~15 MB as a list."""

    def __init__(self, columns: Iterable[list[str]], heads: Collection[str] | None = None):
        self._bodies: list[list[str] | str] = []  # each column from row 2 down
        header: list[str] = []
        self.height, self.widest = 0, 0
        for j, cells in enumerate(columns):
            header.append(cells[0] if cells else "")
            body = cells[1:]
            self.height = max(self.height, len(cells))
            if any(body):
                self.widest = j + 1  # the widest row below the header: up to its last cell
            packed = heads is not None and norm(header[-1]) not in heads
            self._bodies.append(_packed(body) if packed else body)
        self.header, self.width = _row(header), len(self._bodies)

    def body(self, col: int) -> list[str]:
        """Column `col`'s cells from row 2 down."""
        found = self._bodies[col] if col < self.width else []
        return found.split(SEP) if isinstance(found, str) else found

    def rows_at(self, numbers: Sequence[int]) -> list[list[str]]:
        """Rows `numbers` (2 and down) as a row-major read gives them (no empty cells at
        the end), a column at a time."""
        ks = [n - 2 for n in numbers]
        picked = [_pick(self.body(j), ks) for j in range(self.width)]
        rows = zip(*picked, strict=True) if picked else ([] for _ in ks)
        return [_row(list(cells)) for cells in rows]

    def rows(self) -> list[list[str]]:
        """Every row, the header first (from the columns as they are: no copy of each)."""
        if not self.height:
            return []
        bodies = [self.body(j) for j in range(self.width)]  # the longest: height - 1 cells
        return [list(self.header), *(_row(list(c)) for c in zip_longest(*bodies, fillvalue=""))]


def _packed(cells: list[str]) -> list[str] | str:
    text = SEP.join(cells)
    return text if cells and text.count(SEP) == len(cells) - 1 else cells


def _pick(cells: Sequence[str], ks: Sequence[int]) -> list[str]:
    """The cells `ks` (0-based) of a column; `""` past its end."""
    if not ks or max(ks) < len(cells):
        return list(map(cells.__getitem__, ks))
    return [cells[k] if k < len(cells) else "" for k in ks]


def _kept(tab: _Tab, layout: Layout, watch: Watch, seen: set[str]) -> View:
    """A watch's view: every row's kept columns, and whole the rows whose inputs the cycle
    needs (`seen`: the ids whose rows are kept whole as a copy's are)."""
    columns = {c: _pooled(tab.body(c)) for c in kept_columns(layout)}
    status_col, id_col = (layout.results[k] for k in ("status", "id"))
    statuses = columns.get(status_col, [])  # a column about to be added: empty everywhere
    words = {norm(w) for w in (watch.statuses.retry, watch.statuses.sending)}
    words |= {"", norm(watch.statuses.waiting)}
    flags = {value: norm(value) in words for value in set(statuses)}
    keep = set(compress(range(len(statuses)), map(flags.__getitem__, statuses)))
    keep.update(range(len(statuses), tab.height - 1))  # no status: may be new
    keep.update(_copies(columns.get(id_col, []), seen))
    named = len(trimmed_header(tab.header))
    keep.update(_first_under_blank(tab, named))
    keep.update(_wide(tab, named))
    numbers = [k + 2 for k in sorted(keep)]
    whole: dict[int, Sequence[str]] = dict(zip(numbers, tab.rows_at(numbers), strict=True))
    for cells in columns.values():
        _trim(cells)
    return assemble(tab.header, columns, whole, tab.widest)


def _copies(ids: list[str], seen: set[str]) -> list[int]:
    """Rows (0-based, below the header) showing an id seen above, or one of `seen`: the
    cycle tells the owner by the inputs."""
    stripped = list(map(str.strip, ids))
    fresh = set(stripped)
    fresh.discard("")
    if len(fresh) == len(stripped) - stripped.count("") and fresh.isdisjoint(seen):
        return []
    out = []
    for k, row_id in enumerate(stripped):
        if row_id:
            if row_id in seen:
                out.append(k)
            seen.add(row_id)
    return out


def _first_under_blank(tab: _Tab, named: int) -> list[int]:
    """The first row with data under each blank header: named in a warning."""
    out = []
    for i, title in enumerate(tab.header[:named]):
        if not title.strip():
            hit = next((k for k, c in enumerate(tab.body(i)) if c.strip()), None)
            if hit is not None:
                out.append(hit)
    return out


def _wide(tab: _Tab, named: int) -> list[int]:
    """Rows with data under no header, each wider than every row above: kept whole (the
    cycle warns, naming it)."""
    widths: dict[int, int] = {}
    for j in range(named, tab.width):
        for k, cell in enumerate(tab.body(j)):
            if cell:
                widths[k] = j + 1
    out, widest = [], named
    for k in sorted(widths):
        if widths[k] > widest:
            widest = widths[k]
            out.append(k)
    return out


def _pooled(cells: list[str]) -> list[str]:
    """Cells of a column, each repeated value one string `POOL` cells together: where a
    few rows share a link (batch mode's runs; most of a column of statuses is one string
    a value already, `lean.one_string_each`); as read where every value differs."""
    out: list[str] | None = None
    for start in range(0, len(cells), POOL):
        chunk = cells[start : start + POOL]
        same = dict(zip(chunk, chunk, strict=True))
        if len(same) < len(chunk):
            out = cells[:start] if out is None else out
            out += map(same.__getitem__, chunk)
        elif out is not None:
            out += chunk
    return cells if out is None else out


def _row(cells: list[str]) -> list[str]:
    """The cells without the empty ones at the end (as a row-major read ends a row)."""
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _trim(cells: list[str]) -> None:
    """Drop the empty cells at a column's end (as a column-major read ends it)."""
    end, step = len(cells), 1_000  # a blank run, a slice at a time
    while end and not any(cells[max(0, end - step) : end]):
        end = max(0, end - step)
    while end and not cells[end - 1]:
        end -= 1
    del cells[end:]


def assemble(
    header: Sequence[str],
    columns: Mapping[int, Sequence[str]],
    whole: dict[int, Sequence[str]],
    widest: int = 0,
) -> View:
    """A view of whole rows and, for every other row, the cells of `columns` (`widest`:
    the widest row of the tab)."""
    height = max([len(c) + 1 for c in columns.values()] + [max(whole, default=1)])
    spread: list[Sequence[str]] = [()] * (max(columns, default=0) + 1)
    for col, values in columns.items():
        spread[col] = values
    table = NarrowTable(list(header), spread, height, whole, widest)
    return View(table, set(whole), dict(columns), adoptable=True)
