"""Ids on the sheet that the journal does not know: its state was deleted or replaced.

Noticed on a watch's first cycle after start and on every whole read: one ERROR names
the state (the file, or the database by host and name) and the count, and the rows are
recorded as the sheet shows them, so that nothing is stranded and nothing is sent twice:
a `waiting` row never reached axiom and is sent again; a `sending` row may have, and
becomes `unknown`; every other row is left as it is. A watch's first read of a big tab
(`first_read`) reads every row's result cells, so it adopts every row, without the
inputs of the rows it did not read whole. Another narrow read (a plan from an older
journal) leaves the recording to a whole read of the tab on the next cycle (it lacks the
rows' other cells); it looks only at the rows that would be stranded (showing `waiting`
or `sending`) and those it read whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from itertools import repeat
from operator import sub

from sheetsync.adapters.store.journal_landing import Adoption, ShownRows
from sheetsync.adapters.store.protocol import Store
from sheetsync.config import Watch
from sheetsync.core import narrow
from sheetsync.core.landing import inputs_of
from sheetsync.core.layout import Layout, norm
from sheetsync.core.model import Entry
from sheetsync.core.plan import cell
from sheetsync.core.view import Scan, View

log = logging.getLogger("sheetsync.engine")

LOST_SENDING_MESSAGE = (
    "sheetsync's journal did not know this row while it showed sending (was the state "
    "file replaced?), so axiom may or may not have started its run. Check the "
    "automation's run history in axiom; type retry in the status cell to send it again."
)
RESULT_STATES = ("triggered", "queued", "error", "unknown", "skipped")
SHOWN = ("link", "message", "triggered_at")
"""A row's cells an adoption may take as they are (`adopted` says which it took)."""
RUN_STATES = {"success": "success", "failure": "failure", "untracked": "untracked"}
"""Run-status words kept as they are; `running` cannot be tracked without the journal."""


class Orphans:
    """Notices the ids a watch's sheet shows that the journal does not know."""

    def __init__(self, journal: Store, now: Callable[[], datetime]) -> None:
        self.journal = journal
        self.now = now
        self._started: set[str] = set()

    def forget(self, watch: str) -> None:
        """The watch's spreadsheet changed hands: check its first whole read again."""
        self._started.discard(watch)

    def notice(
        self,
        watch: Watch,
        view: View,
        layout: Layout,
        found: Scan,
        entries: dict[str, Entry],
        unknown: list[str] | None = None,
    ) -> bool:
        """Record the unknown ids of a read in the journal (adding them to `entries`);
        `unknown`: a lean read's, already found (`core.reprojection`).
        False: a narrow read saw unknown ids; the tab must be read whole next cycle."""
        whole = view.known is None
        if not whole and not view.adoptable:
            if watch.name in self._started:
                return True
            self._started.add(watch.name)  # the stranded rows, those read whole: a few
            ids = found.ids_on(_stranded(view, layout, watch)) | found.ids_on(view.known or ())
            return not ids - self.journal.known_ids(watch.name, ids)
        self._started.add(watch.name)
        if unknown is None:
            known = entries if whole else self.journal.known_ids(watch.name, found.holders)
            unknown = [rid for rid in found.holders if rid not in known]
        if not unknown:
            return True
        log.error(
            "watch %s: the %s %s does not know %d rows this sheet shows as handled by "
            "sheetsync: was the %s replaced?",
            watch.name,
            self.journal.noun,
            self.journal.where,
            len(unknown),
            self.journal.noun,
        )
        self._adopt(watch, view, layout, found, unknown, entries)
        return True

    def _adopt(
        self,
        watch: Watch,
        view: View,
        layout: Layout,
        found: Scan,
        unknown: Sequence[str],
        entries: dict[str, Entry],
    ) -> None:
        """Adopt `unknown` ids: rows read whole with their inputs, others (`View.adoptable`)
        from their result cells grouped by status (`_Shown`), `ADOPT_CHUNK` at a time."""
        table, known = view.table, view.known
        busy = _busy(found)
        numbers = list(map(found.holders.__getitem__, unknown))
        whole: Sequence[int] = range(len(numbers))  # which of them were read whole
        if known is not None:
            whole = [i for i, n in enumerate(numbers) if n in known]
        for start in range(0, len(whole), ADOPT_CHUNK):
            part = whole[start : start + ADOPT_CHUNK]
            rows = [adoption(table[numbers[i] - 1], unknown[i], layout, watch) for i in part]
            self._record(watch, rows, busy, entries)
        if known is not None:  # the others, from their result cells
            ids = [rid for rid, n in zip(unknown, numbers, strict=True) if n not in known]
            numbers = [n for n in numbers if n not in known]
            for group in _Shown(view, layout, watch).groups(numbers, ids):
                self._record_alike(watch, group, busy, entries)

    def _record_alike(
        self, watch: Watch, group: _Alike, busy: set[str] | None, entries: dict[str, Entry]
    ) -> None:
        """One group of `_Shown`, the ids sorted (each chunk a range of the key index)."""
        now, like, ids = self.now(), group.like, group.ids
        if group.uniform:  # every row shows the same: only their ids differ
            ids.sort()
            for start in range(0, len(ids), ADOPT_CHUNK):  # a few MB of ids at a time
                chunk = ids[start : start + ADOPT_CHUNK]
                self.journal.adopt_alike(watch.name, like, chunk, now, ADOPTED)
        else:  # each row's own cells, read from the view's columns a chunk at a time
            order = sorted(range(len(ids)), key=ids.__getitem__)
            for start in range(0, len(order), ADOPT_CHUNK):
                part = group.shown(order[start : start + ADOPT_CHUNK])
                self.journal.adopt_shown(watch.name, like, part, now, ADOPTED)
        wanted = ids if busy is None or not like.shown or like.due else busy.intersection(ids)
        entries.update(self.journal.entries_needed(watch.name, now, wanted))

    def _record(
        self, watch: Watch, rows: list[Adoption], busy: set[str] | None, entries: dict[str, Entry]
    ) -> None:
        if rows:
            now = self.now()
            self.journal.adopt(watch.name, rows, now, ADOPTED)
            entries.update(self.journal.entries_needed(watch.name, now, _needed(rows, busy)))


ADOPTED = "not in the journal"
ADOPT_CHUNK = 5_000
"""Rows adopted per journal transaction: 20,000 raised a 100,000-row first cycle's peak
RSS by 10 MB (the chunk's cells, their JSON and SQLite's parse of it) for no CPU."""


def _busy(found: Scan) -> set[str] | None:
    """Ids whose entries a cycle needs however they are adopted (None: every id's, on a
    small tab). On a big tab, not the rows recorded as the sheet already shows them, on
    no open row and on one row only: a narrow cycle would not project those either, and
    100,000 entries cost ~50 MB."""
    if len(found.ids) + 1 < narrow.NARROW_FROM_ROWS:
        return None
    return found.ids_on(found.open_rows) | set(found.extra)


def _needed(rows: Sequence[Adoption], busy: set[str] | None) -> list[str]:
    """The adopted ids this cycle needs the entries of (see `_busy`)."""
    if busy is None:
        return [r.row_id for r in rows]
    return [r.row_id for r in rows if not r.shown or r.due or r.row_id in busy]


class _Alike:
    """Rows adopted alike: `like`, each row's id and number; the columns of the cells
    `adoption` takes from each row (None: `like`'s)."""

    def __init__(self, like: Adoption, taken: list[Sequence[str] | None]) -> None:
        self.like = like
        self.taken = taken
        self.kept = (like.link, like.message, like.triggered_at)
        self.ids: list[str] = []
        self.numbers: list[int] = []

    @property
    def uniform(self) -> bool:
        """Whether every row shows the same cells as `like` (then only their ids differ)."""
        ks = [n - 2 for n in self.numbers]
        pairs = zip(self.taken, self.kept, strict=True)
        return all(_pick(c, ks).count(k) == len(ks) for c, k in pairs if c is not None)

    def shown(self, order: Sequence[int]) -> ShownRows:
        """Rows `order`'s ids, links, messages, times triggered (`adopt_shown`)."""
        ks = list(map(sub, map(self.numbers.__getitem__, order), repeat(2)))
        cols = [
            [kept] * len(ks) if cells is None else _pick(cells, ks)
            for cells, kept in zip(self.taken, self.kept, strict=True)
        ]
        return ShownRows(list(map(self.ids.__getitem__, order)), *cols)


def _pick(cells: Sequence[str], ks: Sequence[int]) -> Sequence[str]:
    """The cells `ks` of a column (`""` past its end, as `plan.cell`)."""
    if max(ks, default=-1) < len(cells):
        return list(map(cells.__getitem__, ks))
    return [cell(cells, k) for k in ks] if cells else [""] * len(ks)


class _Shown:
    """Rows not read whole, adopted from their result cells as read column by column,
    without their inputs. Rows alike in status and run status share one `like`, each
    with its own link, message and time triggered where `adoption` takes them from the
    sheet (each row a run link of its own: one group, not one a row)."""

    def __init__(self, view: View, layout: Layout, watch: Watch) -> None:
        self.view, self.layout, self.watch = view, layout, watch
        columns, results = view.columns or {}, layout.results

        def column(kind: str) -> Sequence[str]:
            return columns.get(results[kind], ()) if kind in results else ()

        self.deciding = [column("status"), column("run_status")]
        self.cells = [column(k) for k in SHOWN]

    def groups(self, numbers: list[int], ids: list[str]) -> list[_Alike]:
        """Rows `numbers`, holding `ids`, grouped (the lists become one group's, if alike)."""
        ks = [n - 2 for n in numbers]
        picked = [_pick(cells, ks) for cells in self.deciding]
        if numbers and all(p.count(p[0]) == len(p) for p in picked):  # all alike: no walk
            alike = self._group(numbers[0])
            alike.ids, alike.numbers = ids, numbers
            return [alike]
        keys = zip(*picked, strict=True)
        groups: dict[tuple[str, ...], _Alike] = {}
        for key, number, row_id in zip(keys, numbers, ids, strict=True):
            group = groups.get(key)
            if group is None:
                group = groups[key] = self._group(number)
            group.ids.append(row_id)
            group.numbers.append(number)
        return list(groups.values())

    def _group(self, number: int) -> _Alike:
        row = self.view.table[number - 1]
        like, takes = adopted(row, "", self.layout, self.watch, inputs=False)
        taken = [c if k in takes else None for c, k in zip(self.cells, SHOWN, strict=True)]
        return _Alike(like, taken)


def _stranded(view: View, layout: Layout, watch: Watch) -> list[int]:
    """Rows of a narrow read that show `waiting` or `sending` (from its status column)."""
    statuses = (view.columns or {}).get(layout.results["status"], [])
    words = {norm(watch.statuses.waiting), norm(watch.statuses.sending)}
    flags = {value: norm(value) in words for value in set(statuses)}
    return [n for n, value in enumerate(statuses, start=2) if flags[value]]


def adoption(
    row: Sequence[str], row_id: str, layout: Layout, watch: Watch, *, inputs: bool = True
) -> Adoption:
    """A row with an unknown id, recorded so that the sheet keeps showing what it shows
    (without `inputs`: its inputs were not read, and no comparison will match them)."""
    return adopted(row, row_id, layout, watch, inputs=inputs)[0]


def adopted(
    row: Sequence[str], row_id: str, layout: Layout, watch: Watch, *, inputs: bool = True
) -> tuple[Adoption, frozenset[str]]:
    """`adoption`, and which of the row's cells of `SHOWN` it took as they are."""
    words = watch.statuses
    status = norm(cell(row, layout.results["status"]))
    fingerprint = inputs_of(row, layout) if inputs else ""
    if status == norm(words.sending):
        lost = Adoption(row_id, "unknown", fingerprint, message=LOST_SENDING_MESSAGE, shown=False)
        return lost, frozenset()

    def shown(kind: str) -> str:
        col = layout.results.get(kind)
        return cell(row, col) if col is not None else ""

    if status == norm(words.waiting):
        waiting = Adoption(row_id, "waiting", fingerprint, message=shown("message"), due=True)
        return waiting, frozenset({"message"})
    state = next((s for s in RESULT_STATES if status == norm(getattr(words, s))), "foreign")
    if state == "foreign":
        return Adoption(row_id, state, fingerprint), frozenset()
    run = norm(shown("run_status"))
    run_state = next((s for s, w in RUN_STATES.items() if run == norm(getattr(words, w))), "")
    if run and run == norm(words.running):
        run_state = "untracked"
    done = Adoption(
        row_id,
        state,
        fingerprint,
        link=shown("link"),
        message=shown("message"),
        triggered_at=shown("triggered_at"),
        run_status=run_state,
        shown=not run or (bool(run_state) and run != norm(words.running)),
    )
    return done, frozenset(SHOWN)
