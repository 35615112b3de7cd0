"""PURE: what a watch's first read keeps of a big tab (a first cycle, a lost journal).

A tab sheetsync has no read plan for is read whole, in the one request a cycle's first
read always was. Kept whole, a 100,000-row tab costs the client ~60 MB of row lists and
strings, and every step of the cycle then walks 100,000 rows. So its rows are taken one
at a time as they are decoded (`adapters/google/lean`), and of a tab of
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

from collections.abc import Collection, Generator, Iterator, Mapping, Sequence
from itertools import islice

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
    keepers: dict[str, Keeper] = {}
    unmapped: list[str] = []  # the cycle reports a header's problem from the whole tab
    for name, (watch, check) in watches.items():
        try:
            layout = map_header(trimmed_header(header), watch)
        except SheetError:
            unmapped.append(name)
            continue
        keepers[name] = _kept(header, layout, watch, set(check))
    if unmapped:
        keepers[""] = _all(header)
    sends = [keeper.send for keeper in keepers.values()]
    for send in sends:
        send(None)  # started: each waits for row 2
    for row in _chain(top, rows):
        for send in sends:
            send(row)
    views = {name: _finish(keeper) for name, keeper in keepers.items()}
    if unmapped:
        table = views.pop("").table
        views.update({name: View(list(table)) for name in unmapped})
    return views


Keeper = Generator[None, list[str] | None, View]
"""A watch's view being made: sent the tab's rows (row 2 first), then `None` for the view."""


def _finish(keeper: Keeper) -> View:
    try:
        keeper.send(None)
    except StopIteration as done:
        view: View = done.value
        return view
    raise AssertionError("a keeper that took rows after the last")


def _chain(top: list[list[str]], rows: Iterator[list[str]]) -> Iterator[list[str]]:
    """The rows of `top`, dropped as they are passed on, then the others."""
    top.reverse()
    while top:
        yield top.pop()
    yield from rows


def _all(header: list[str]) -> Keeper:
    """Every row, whole."""
    table: list[Sequence[str]] = [header]
    while (row := (yield)) is not None:
        table.append(row)
    return View(table)


def _kept(header: list[str], layout: Layout, watch: Watch, seen: set[str]) -> Keeper:
    """Keep every row's kept columns, and whole the rows whose inputs the cycle needs
    (`seen`: the ids whose rows are kept whole as a copy's are, then every id seen)."""
    picked = kept_columns(layout)
    columns: dict[int, list[str]] = {c: [] for c in picked}
    absent = 1 << 30  # a column the cycle is about to add: empty in every row
    status_col, id_col = (layout.results[k] for k in ("status", "id"))
    status_col = status_col if status_col in columns else absent
    id_col = id_col if id_col in columns else absent
    ids = columns.get(id_col, [])
    others = [(col, cells) for col, cells in columns.items() if col != id_col]
    whole_words = {norm(w) for w in (watch.statuses.retry, watch.statuses.sending)}
    whole_words |= {"", norm(watch.statuses.waiting)}
    wants: dict[str, bool] = {}
    same: dict[str, str] = {}  # repeated cells share one string (statuses, links)
    whole: dict[int, Sequence[str]] = {}
    named = len(trimmed_header(header))
    unheaded = {i for i, cell in enumerate(header[:named]) if not cell.strip()}
    widest, number = 0, 1
    while (row := (yield)) is not None:
        number += 1
        width = len(row)
        if width > widest:
            widest = width
            if width > named:  # data under no header: the cycle warns, naming this row
                whole[number] = row
        status = row[status_col] if status_col < width else ""
        want = wants.get(status)
        if want is None:
            want = wants[status] = norm(status) in whole_words
        shown_id = row[id_col] if id_col < width else ""
        ids.append(shown_id)
        row_id = shown_id.strip()
        if row_id:
            if row_id in seen:
                want = True  # a copy: the cycle tells the owner by the inputs
            seen.add(row_id)
        if unheaded and any(i < width and row[i].strip() for i in unheaded):
            unheaded -= {i for i in unheaded if i < width and row[i].strip()}
            want = True  # the first row with data under a blank header: named in a warning
        if want:
            whole[number] = row
        for col, cells in others:
            value = row[col] if col < width else ""
            cells.append(same.setdefault(value, value))
    for cells in columns.values():
        while cells and not cells[-1]:
            cells.pop()  # as a column read of the tab would end
    return assemble(header, columns, whole, widest)


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
