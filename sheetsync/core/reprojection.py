"""PURE: the first cycle after a takeover (or a restart without a fitting read plan),
kept lean: which rows show other result cells than the journal says they should.

Such a cycle re-projects every row: a former holder may have died between a journal
write and the sheet write that shows it, or written the sheet after it lost the
spreadsheet. Reading every row whole and loading every journal entry for that costs a
100,000-row tab ~190 MB and 8x a served cycle's CPU. Instead the tab is read as a first
read keeps it (`first_read`: every row's status, id and result cells; whole only the
rows that may be new or need checking), and the journal's result fields are walked
page by page (`Store.result_pages`) against the cells each row shows. Only the rows
that differ are projected (their full entries loaded); a row that matches is left as
it is, and marked nothing (the journal already holds it as shown, or `entries_needed`
loads it as not shown). Ids on more than one row are given to the projection too (it
tells the owner by the inputs); ids the sheet shows but no page holds are the journal's
unknown ids (`orphans`), found without asking the journal about 100,000 ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress, count, repeat
from operator import itemgetter, ne
from typing import Any

from sheetsync.config import Watch
from sheetsync.core.layout import Layout, norm
from sheetsync.core.model import Result, ResultPage
from sheetsync.core.plan import CELL_LIMIT
from sheetsync.core.projection import clip, desired_cells
from sheetsync.core.view import Scan


@dataclass
class Reprojection:
    """What comparing a lean read with the journal's results found."""

    differ: set[str] = field(default_factory=set)
    """Ids whose (first) row shows other result cells than the journal's, or whose id is
    on more than one row: the projection looks at these."""
    unknown: list[str] = field(default_factory=list)
    """Ids the sheet shows that the journal does not know (in `Scan.holders` order)."""
    compared: int = 0
    """Journal rows found on the sheet and compared."""


def reproject(
    pages: Iterable[ResultPage],
    columns: Mapping[int, Sequence[str]],
    layout: Layout,
    watch: Watch,
    found: Scan,
) -> Reprojection:
    """Compare the journal's results (`pages`, any order) with the cells a lean read kept
    (`columns`: index -> cells from row 2 down, as `View.columns`), column by column."""
    height = len(found.ids)
    cells = {kind: columns.get(col, ()) for kind, col in layout.results.items()}
    wants = _Wants(watch)
    retry = norm(watch.statuses.retry)
    left_alone = {value: norm(value) == retry for value in {"", *cells["status"]}}
    holders, extra, status = found.holders, found.extra, cells["status"]
    seen = bytearray(height + 2)
    out = Reprojection()
    for page in filter(None, pages):
        fields = page.columns
        numbers = list(map(holders.get, fields[0], repeat(0)))  # 0: not on the sheet
        places = [n - 2 if n else height for n in numbers]
        odd: set[int] = set()
        for kind, column in cells.items():
            shown = _at(column, places)
            odd.update(compress(count(), map(ne, shown, wants.of(kind, fields))))
        for i in sorted(odd):
            result, number = page[i], numbers[i]
            shows = _at(status, [number - 2])[0] if number else ""
            if number and result.state != "foreign" and not left_alone[shows]:
                out.differ.add(result.row_id)  # else: the projection leaves it alone
        for number in numbers:
            seen[number] = 1
        out.compared += len(numbers) - numbers.count(0)
        if extra:  # the projection tells their owners by the inputs
            out.differ.update(filter(extra.__contains__, page.row_ids))
    out.unknown = [rid for rid, number in holders.items() if not seen[number]]
    return out


_FIELD = {name: i for i, name in enumerate(Result._fields)} | {"status": 1, "id": 0}
"""Where each result kind's field is in a page's columns."""


class _Wants:
    """Each result kind's cells as `desired_cells` says, for a page of results at once."""

    def __init__(self, watch: Watch) -> None:
        self.watch = watch
        self._status: dict[str, str] = {}
        self._run: dict[str, str] = {}

    def of(self, kind: str, fields: Sequence[Sequence[Any]]) -> Sequence[str]:
        """The cells of `kind` a page's results want (`fields`: the page column by column)."""
        values: Sequence[str] = fields[_FIELD[kind]]
        if kind in ("status", "run_status"):
            memo = self._status if kind == "status" else self._run
            for value in set(values).difference(memo):
                self._word(memo, kind, value)
            return list(map(memo.__getitem__, values))
        if kind in ("link", "message") and max(map(len, values), default=0) > CELL_LIMIT:
            return [v[:CELL_LIMIT] for v in values] if kind == "link" else list(map(clip, values))
        return values  # id, triggered_at, and links and messages that fit their cell

    def _word(self, memo: dict[str, str], kind: str, value: str) -> str:
        """The status (or run status) word `desired_cells` shows for a state (a run's)."""
        word = memo.get(value)
        if word is None:
            state, run = (value, "") if kind == "status" else ("queued", value)
            word = memo[value] = desired_cells(
                Result("", state, "", "", "", run, True), self.watch
            )[kind]
        return word


def _at(column: Sequence[str], places: list[int]) -> Sequence[str]:
    """A column's cells at these places (0: row 2); past its last value (a column read
    ends there) or past the tab, `""`. Not a padded copy of the column: 100,000 rows."""
    end = len(column)
    if not end:
        return [""] * len(places)
    if max(places, default=0) < end:
        picked: Sequence[str] = itemgetter(*places, 0)(column)
        return picked
    return [column[p] if p < end else "" for p in places]
