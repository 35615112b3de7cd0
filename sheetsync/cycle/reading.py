"""The reads of a group cycle: which tabs are read narrowly, and turning answers into views.

Every tab of a group is read in one `values:batchGet`: whole (small tabs, first cycles,
anything unusual) or narrowly by each watch's saved `ReadPlan` (see `narrow`; a tab two
watches share: each by its own, a range both ask for asked once). A tab read whole
without a plan (a first cycle, a lost journal, a claim to check after a crash), with no
stray or unanswered write to check, is read column by column and walked once for all
its watches as the answer arrives, a big one kept as `first_read` says (whole: its rows
that may be new or hold a claim); beside tabs read narrowly, it is read in a request of
its own (a narrow read's answer is taken whole). A narrow tab whose header changed
since the plan was made is read again in a second request, narrowly by the header it
now has (whole when that header lacks a result column); a plan that reaches past a grid
people shrank is cut to the grid the refusal names and read again, narrowly. A flush
that cannot place every row it must write within its windows reads the tab whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from sheetsync.adapters.google.port import SheetPort
from sheetsync.adapters.store.protocol import Store
from sheetsync.config import Watch
from sheetsync.core.a1 import quote_title
from sheetsync.core.first_read import lean_views, table_of
from sheetsync.core.layout import Layout, map_header
from sheetsync.core.narrow import (
    ReadPlan,
    first_ranges,
    first_view,
    settings_key,
    window_ranges,
    window_view,
)
from sheetsync.core.view import View, as_rows, header_of
from sheetsync.errors import RangeError, SheetError


@dataclass(frozen=True)
class Narrow:
    """A watch read narrowly this cycle: its saved plan and the layout the plan implies."""

    plan: ReadPlan
    layout: Layout


def narrow_plans(
    journal: Store,
    watches: Sequence[Watch],
    plan_text: Callable[[Watch], str | None],
    started: Callable[[Watch], bool],
) -> dict[str, Narrow]:
    """The watches of a group whose first read may be narrow (by name); `plan_text` and
    `started` are the engine's cached views of the journal's plans and started marks."""
    out: dict[str, Narrow] = {}
    for watch in watches:
        if journal.has_unchecked(watch.name):
            continue  # a claim to verify against its row's inputs
        if journal.needs_whole_read(watch.name):
            continue  # a stray to put back, or a write whose answer never came
        if watch.start_from == "now" and not started(watch):
            continue
        text = plan_text(watch)
        plan = ReadPlan.loads(text) if text is not None else None
        if plan is None or plan.settings != settings_key(watch):
            continue
        try:
            layout = map_header(plan.header, watch)
        except SheetError:
            continue
        if not layout.added:
            out[watch.name] = Narrow(plan, layout)
    return out


def lean_watches(
    journal: Store,
    watches: Sequence[Watch],
    narrows: dict[str, Narrow],
    lean: Callable[[str], bool] = lambda name: True,
) -> dict[str, set[str]]:
    """The watches of a group read whole but kept as `first_read` says (by name), each with
    the ids whose rows it keeps whole (`Store.ids_to_check`: a claim not yet seen on its
    row, a crash to recover from): not read by a plan (a first cycle, a lost journal, a
    claim to check, columns being added, changed settings), without a stray or an
    unanswered write to check against every row, and `lean` by name or `recovering`; on a
    tab two watches share, only when each of them read whole is."""
    fits = {
        w.name: not journal.needs_whole_read(w.name) and (lean(w.name) or recovering(journal, w))
        for w in watches
        if w.name not in narrows
    }
    spoilt = {w.worksheet for w in watches if fits.get(w.name) is False}
    return {
        w.name: journal.ids_to_check(w.name)
        for w in watches
        if fits.get(w.name) and w.worksheet not in spoilt
    }


def recovering(journal: Store, watch: Watch) -> bool:
    """Whether a claim of the watch waits to be checked on a tab its saved plan still fits
    (same settings; no takeover since: a takeover drops the plans, `Memory.reprojects`)."""
    if not journal.has_unchecked(watch.name):
        return False
    text = journal.read_plan(watch.name)
    plan = ReadPlan.loads(text) if text is not None else None
    return plan is not None and plan.settings == settings_key(watch)


_MAX_ROWS = re.compile(r"Max rows: (\d+)")


def grid_rows(message: str) -> int | None:
    """The grid's row count a refused range names (`... exceeds grid limits. Max rows: N`)."""
    found = _MAX_ROWS.search(message)
    return int(found.group(1)) if found else None


def clipped(narrow: Narrow, rows: int) -> Narrow:
    """A plan cut to a grid of `rows` rows (rows deleted since it was made): its tail
    starts no further down, and rows past the grid are dropped. Open rows it no longer
    reads whole are seen in the narrow columns and taken whole by the next cycle."""
    plan = narrow.plan
    tail = max(2, min(plan.tail, rows))
    kept = tuple(r for r in plan.rows if r < tail)
    return Narrow(replace(plan, tail=tail, rows=kept), narrow.layout)


class Reads:
    """Reads of one spreadsheet's tabs for a group cycle."""

    def __init__(self, sheets: SheetPort, spreadsheet: str) -> None:
        self.sheets = sheets
        self.spreadsheet = spreadsheet
        self._headers: dict[str, tuple[str, ...]] = {}
        """The header a narrow first read found, when it was not its plan's (by watch)."""
        self._lean: Mapping[str, Collection[str]] = {}

    def first(
        self,
        watches: Sequence[Watch],
        narrows: dict[str, Narrow],
        lean: Mapping[str, Collection[str]] | None = None,
    ) -> dict[str, View | SheetError]:
        """Each watch's view of its tab (or why it could not be read), by watch name;
        the tabs of `lean` watches read whole are kept as `first_read` says (keeping whole
        the rows showing the ids `lean` gives)."""
        self._lean = lean or {}
        try:
            views = self._first(watches, narrows)
        except SheetError:
            if len(watches) == 1:
                raise
            views = {}
            for watch in watches:  # tab by tab, to pin the error on its watch
                try:
                    views.update(self._first([watch], narrows))
                except SheetError as exc:
                    views[watch.name] = exc
        stale = [w for w in watches if views.get(w.name) is None]
        if stale:  # a narrow tab whose header changed: narrowly by the new header, or whole
            try:
                views.update(self._again_narrow(stale, narrows))
            except SheetError as exc:
                views.update({w.name: exc for w in stale})
        return {name: view for name, view in views.items() if view is not None}

    def _again_narrow(
        self, stale: Sequence[Watch], narrows: dict[str, Narrow]
    ) -> dict[str, View | SheetError | None]:
        """Tabs whose header changed since their plan: read narrowly by the header the
        first read found (one request), when it implies no added column; else whole.
        A header that changed again meanwhile means a whole read."""
        replanned: dict[str, Narrow] = {}
        for watch in stale:
            found = narrows.get(watch.name)
            header = self._headers.get(watch.name)
            if found is None or header is None:
                continue
            try:
                layout = map_header(header, watch)
            except SheetError:
                continue
            if not layout.added:
                replanned[watch.name] = Narrow(replace(found.plan, header=header), layout)
        views: dict[str, View | SheetError | None] = {}
        if replanned:
            views.update(self._first([w for w in stale if w.name in replanned], replanned))
        whole = [w for w in stale if views.get(w.name) is None]
        if whole:
            views.update(self.whole(whole))
        return views

    def _first(
        self, watches: Sequence[Watch], narrows: dict[str, Narrow]
    ) -> dict[str, View | SheetError | None]:
        if not any(w.name in narrows for w in watches):
            return dict(self.whole(watches, lean=self._lean))
        apart = [w for w in watches if w.name in self._lean]
        if apart:  # read whole in a request of their own, streamed
            read = self._first([w for w in watches if w not in apart], narrows)
            read.update(self.whole(apart, self._lean))
            return read
        try:
            answers = self._narrow_read(watches, narrows)
        except RangeError as exc:  # rows were deleted since the plan was made
            rows = grid_rows(str(exc))
            if rows is None:
                return dict(self.whole(watches))
            narrows = {name: clipped(n, rows) for name, n in narrows.items()}
            try:
                answers = self._narrow_read(watches, narrows)
            except RangeError:
                return dict(self.whole(watches))
        views: dict[str, View | SheetError | None] = {}
        for watch in watches:
            got = answers[watch.name]
            found = narrows.get(watch.name)
            if found is None:
                views[watch.name] = View(as_rows(got[0]))
            elif header_of(got[0]) != found.plan.header:
                self._headers[watch.name] = header_of(got[0])
                views[watch.name] = None
            else:
                views[watch.name] = first_view(found.plan, found.layout, got)
        return views

    def _narrow_read(
        self, watches: Sequence[Watch], narrows: dict[str, Narrow]
    ) -> dict[str, list[list[list[str]]]]:
        """One batchGet: narrow tabs by their plan, others whole; each watch's answers."""
        asks: dict[str, list[str]] = {}
        for watch in watches:
            found = narrows.get(watch.name)
            if found is not None:
                asks[watch.name] = first_ranges(watch.worksheet, found.plan, found.layout)
            else:
                asks[watch.name] = [quote_title(watch.worksheet)]
        return self._read_once(asks)

    def _read_once(self, asks: Mapping[str, Sequence[str]]) -> dict[str, list[list[list[str]]]]:
        """The answers to each watch's ranges (by name), in one batchGet. A range two watches
        of one tab both ask for (the header, a ready column, the same tail or window) is
        asked for once, and its answer given to both."""
        asked: dict[str, int] = {}
        where = {
            name: [asked.setdefault(r, len(asked)) for r in ranges] for name, ranges in asks.items()
        }
        answers = self.sheets.read_ranges(self.spreadsheet, list(asked))
        return {name: [answers[i] for i in found] for name, found in where.items()}

    def whole(
        self, watches: Sequence[Watch], lean: Mapping[str, Collection[str]] | None = None
    ) -> dict[str, View]:
        """Each watch's tab read whole, in one request (by watch name); `lean` watches' tabs
        by column, kept as `first_read.lean_views` says (a tab with a watch not lean: whole)."""
        lean = lean or {}
        titles = list(dict.fromkeys(w.worksheet for w in watches))
        if not any(w.name in lean for w in watches):
            tables = self.sheets.read_tabs(self.spreadsheet, titles)
            return {w.name: View(list(tables[w.worksheet])) for w in watches}
        tabs: dict[str, dict[str, tuple[Watch, Collection[str]]]] = {}
        for w in watches:  # a tab with a watch not lean: read whole for each
            tabs.setdefault(w.worksheet, {})[w.name] = (w, lean.get(w.name, ()))
        kept = {t: ws for t, ws in tabs.items() if all(name in lean for name in ws)}

        def reduce(title: str, columns: Iterator[list[str]]) -> dict[str, View]:
            if title in kept:
                return lean_views(columns, kept[title])
            table = table_of(columns)
            return {name: View(list(table)) for name in tabs[title]}

        views = self.sheets.read_tab_columns(self.spreadsheet, titles, reduce)
        return {w.name: views[w.worksheet][w.name] for w in watches}

    def again(
        self, wanted: Sequence[tuple[Watch, Layout, Sequence[tuple[int, int]] | None]]
    ) -> dict[str, View]:
        """A flush's read, in one request, by watch name: the header and the rows of `spans`
        (see `window_spans`), or with `None` the whole tab."""
        if all(spans is None for _, _, spans in wanted):
            return self.whole([watch for watch, _, _ in wanted])
        asks: dict[str, list[str]] = {}
        for watch, layout, spans in wanted:
            if spans is None:
                asks[watch.name] = [quote_title(watch.worksheet)]
            else:
                asks[watch.name] = window_ranges(watch.worksheet, layout, spans)
        try:
            answers = self._read_once(asks)
        except RangeError:  # rows were deleted meanwhile: the windows reach past the grid
            return self.whole([watch for watch, _, _ in wanted])
        out: dict[str, View] = {}
        for watch, _layout, spans in wanted:
            got = answers[watch.name]
            out[watch.name] = View(as_rows(got[0])) if spans is None else window_view(spans, got)
        return out
