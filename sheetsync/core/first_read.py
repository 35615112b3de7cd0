"""PURE: what a watch's first read keeps of a big tab (a first cycle, a lost journal).

A tab sheetsync has no read plan for is read whole, in the one request a cycle's first
read always was. Kept whole, a 100,000-row tab costs the client ~60 MB of row lists and
strings, and every step of the cycle then walks 100,000 rows. So its rows are decoded one
at a time (`adapters/google/lean`) and taken `BATCH` at a time, and of a tab of
`NARROW_FROM_ROWS` rows or more the view keeps:

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
whose header does not map (the cycle reports why), is kept whole, as before.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from itertools import islice
from operator import itemgetter

from sheetsync.config import Watch
from sheetsync.core import narrow
from sheetsync.core.layout import Layout, map_header, norm, trimmed_header
from sheetsync.core.narrow import narrow_columns
from sheetsync.core.view import NarrowTable, View
from sheetsync.errors import SheetError

SHOWN_RESULTS = ("link", "message", "triggered_at", "run_status")
"""Result columns kept for every row too: what a lost journal adopts a row with."""


def kept_columns(layout: Layout) -> list[int]:
    """The columns kept for every row (0-based): the narrow ones, then the shown results;
    not the columns the cycle is about to add (empty)."""
    shown = [layout.results.get(kind) for kind in SHOWN_RESULTS]
    picked = narrow_columns(layout) + [c for c in shown if c is not None]
    present = layout.width - len(layout.added)
    return [c for c in dict.fromkeys(picked) if c < present]


def lean_view(
    rows: Iterator[list[str]], watch: Watch, check: Collection[str] = frozenset()
) -> View:
    """A first read's rows (the header first) as the view the cycle works from; rows
    showing an id of `check` are kept whole."""
    return lean_views(rows, {watch.name: (watch, check)})[watch.name]


def lean_views(
    rows: Iterator[list[str]], watches: Mapping[str, tuple[Watch, Collection[str]]]
) -> dict[str, View]:
    """`lean_view` of each watch of one tab (by name: the watch and its `check`), from one
    walk over its rows: a tab two watches share is decoded once, and no more whole."""
    header = next(rows, None)
    if header is None:
        return {name: View([]) for name in watches}
    top = list(islice(rows, max(0, narrow.NARROW_FROM_ROWS - 1)))
    if len(top) + 1 < narrow.NARROW_FROM_ROWS:
        return {name: View([header, *top]) for name in watches}
    keepers: dict[str, _Kept] = {}
    unmapped: list[str] = []  # the cycle reports a header's problem from the whole tab
    for name, (watch, check) in watches.items():
        try:
            layout = map_header(trimmed_header(header), watch)
        except SheetError:
            unmapped.append(name)
            continue
        keepers[name] = _Kept(header, layout, watch, set(check))
    table: list[Sequence[str]] = [header]
    rows = _chain(top, rows)
    while batch := list(islice(rows, BATCH)):
        for keeper in keepers.values():
            keeper.take(batch)
        if unmapped:
            table.extend(batch)
    views = {name: keeper.view() for name, keeper in keepers.items()}
    views.update({name: View(list(table)) for name in unmapped})
    return views


BATCH = 100
"""Rows a keeper takes at a time, each step one pass over them in C where it can be (a
column by `itemgetter`, a copy check by sets). 200,000 rows (each its own run link, the
rows already decoded, best of 5): 0.195 s of CPU one row at a time, 0.165 s 100 at a
time, 0.12 s 1,000 at a time; but 1,000 at a time raised a shared tab's first-cycle peak
at 100,000 rows from 96.6-97.5 MB to 98.8-101.1 MB (three runs each, old and new in
turns; not explained: a guess is the batch's short-lived cells among the kept ones), 100
at a time to 97.5 MB (96.4-96.5 before)."""


def _chain(top: list[list[str]], rows: Iterator[list[str]]) -> Iterator[list[str]]:
    """The rows of `top`, dropped as they are passed on, then the others."""
    top.reverse()
    while top:
        yield top.pop()
    yield from rows


class _Kept:
    """A watch's view being made: every row's kept columns, and whole the rows whose
    inputs the cycle needs (`seen`: the ids whose rows are kept whole as a copy's are,
    then every id seen)."""

    def __init__(self, header: list[str], layout: Layout, watch: Watch, seen: set[str]) -> None:
        self.header, self.seen = header, seen
        self.columns: dict[int, list[str]] = {c: [] for c in kept_columns(layout)}
        absent = 1 << 30  # a column the cycle is about to add: empty in every row
        status_col, id_col = (layout.results[k] for k in ("status", "id"))
        self.status_col = status_col if status_col in self.columns else absent
        self.id_col = id_col if id_col in self.columns else absent
        self.others = [(c, cells) for c, cells in self.columns.items() if c != self.id_col]
        words = {norm(w) for w in (watch.statuses.retry, watch.statuses.sending)}
        self.words = words | {"", norm(watch.statuses.waiting)}
        self.wants: dict[str, bool] = {}
        self.same: dict[str, str] = {}  # repeated cells share one string (statuses, links)
        self.whole: dict[int, Sequence[str]] = {}
        self.named = len(trimmed_header(header))
        self.unheaded = {i for i, cell in enumerate(header[: self.named]) if not cell.strip()}
        self.widest, self.number = 0, 1

    def take(self, batch: list[list[str]]) -> None:
        """The next rows of the tab."""
        first, self.number = self.number + 1, self.number + len(batch)
        widths = list(map(len, batch))
        keep = self._wide(widths) if max(widths) > self.widest else []
        short = min(widths)
        ids = _cells(batch, self.id_col, widths, short)
        self.columns.get(self.id_col, []).extend(ids)
        statuses = _cells(batch, self.status_col, widths, short)
        wanted = {s for s in set(statuses) if self._wanted(s)}
        if wanted:
            keep += [k for k, s in enumerate(statuses) if s in wanted]
        keep += self._copies(ids)
        if self.unheaded:
            keep += self._first_under_blank(batch, widths)
        for k in sorted(set(keep)):
            self.whole[first + k] = batch[k]
        for col, cells in self.others:
            cells.extend(self._shared(_cells(batch, col, widths, short)))

    def _wanted(self, status: str) -> bool:
        want = self.wants.get(status)
        if want is None:
            want = self.wants[status] = norm(status) in self.words
        return want

    def _wide(self, widths: list[int]) -> list[int]:
        """Rows wider than any before: a row with data under no header is kept whole (the
        cycle warns, naming it)."""
        out = []
        for k, width in enumerate(widths):
            if width > self.widest:
                self.widest = width
                if width > self.named:
                    out.append(k)
        return out

    def _copies(self, ids: list[str]) -> list[int]:
        """Rows showing an id seen above (or one of the ids kept whole): the cycle tells
        the owner by the inputs."""
        stripped = list(map(str.strip, ids))
        fresh = set(stripped)
        fresh.discard("")
        if len(fresh) == len(stripped) - stripped.count("") and fresh.isdisjoint(self.seen):
            self.seen |= fresh
            return []
        out = []
        for k, row_id in enumerate(stripped):
            if row_id:
                if row_id in self.seen:
                    out.append(k)
                self.seen.add(row_id)
        return out

    def _first_under_blank(self, batch: list[list[str]], widths: list[int]) -> list[int]:
        """The first row with data under each blank header: named in a warning."""
        out = []
        for i in sorted(self.unheaded):
            hit = next((k for k, w in enumerate(widths) if w > i and batch[k][i].strip()), None)
            if hit is not None:
                out.append(hit)
                self.unheaded.discard(i)
        return out

    def _shared(self, cells: list[str]) -> list[str]:
        """Cells of a column, each repeated value one string: across the tab where most
        cells repeat (statuses, a batch's shared link), within the batch where some do
        (links of runs of a few rows), as decoded where none does (a link per row)."""
        distinct = set(cells)
        if len(distinct) == len(cells):
            return cells
        pool = self.same if len(distinct) * 2 <= len(cells) else {}
        shared = {c: pool.setdefault(c, c) for c in distinct}
        return list(map(shared.__getitem__, cells))

    def view(self) -> View:
        """The view, once every row was taken."""
        for cells in self.columns.values():
            _trim(cells)
        return assemble(self.header, self.columns, self.whole, self.widest)


def _trim(cells: list[str]) -> None:
    """Drop the empty cells at the column's end, as a column read of the tab would end."""
    end, step = len(cells), 1_000  # a blank run, a slice at a time
    while end and not any(cells[max(0, end - step) : end]):
        end = max(0, end - step)
    while end and not cells[end - 1]:
        end -= 1
    del cells[end:]


def _cells(batch: list[list[str]], col: int, widths: list[int], short: int) -> list[str]:
    """Column `col` of the rows (`""` past a row's end; `short`: the narrowest row)."""
    if col < short:
        return list(map(itemgetter(col), batch))
    return [row[col] if col < width else "" for row, width in zip(batch, widths, strict=True)]


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
