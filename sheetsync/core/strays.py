"""PURE: rows a write landed on by mistake (`landing.Stray`): what they held, how to put
them back.

What a stray row held is looked up in the read the write was computed from (`Past`),
by everything the write left alone; a row below the last one was empty. What cannot be
told is never guessed: the row is shown `unknown`, with `UNTOLD_MESSAGE`, and a person
decides. Every write that puts a row back carries an id, so that it is checked in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

from sheetsync.config import Watch
from sheetsync.core.landing import Aim, Cells, Stray, aim, inputs_of, signature
from sheetsync.core.layout import Layout
from sheetsync.core.model import CellWrite
from sheetsync.core.plan import cell

UNTOLD_MESSAGE = (
    "sheetsync wrote another row's cells onto this row by mistake while rows were being "
    "moved, and cannot tell what this row showed before. Check the row: type retry in "
    "the status cell to send it, or put back what it held."
)


class Past:
    """The read a write was computed from, searched by row signature (indexed on first use:
    only a write that missed rows looks)."""

    def __init__(
        self, table: Sequence[Sequence[str]], known: Collection[int] | None, layout: Layout
    ) -> None:
        self.table, self.known, self.layout = table, known, layout
        self._index: dict[tuple[int, ...], dict[str, list[int]]] = {}

    def like(self, row: Sequence[str], skip: Collection[int]) -> list[Sequence[str]]:
        """The rows (read whole) that held what `row` holds outside the `skip` columns."""
        key = tuple(sorted(skip))
        index = self._index.get(key)
        if index is None:
            index = self._index[key] = {}
            table = self.table
            numbers = range(2, len(table) + 1) if self.known is None else sorted(self.known)
            for number in numbers:
                found = table[number - 1] if number <= len(table) else ()
                index.setdefault(signature(found, self.layout, key), []).append(number)
        numbers = index.get(signature(row, self.layout, key), [])
        return [self.table[n - 1] if n <= len(self.table) else () for n in numbers]


def stray(
    target: Aim, got: Sequence[str], layout: Layout, skip: Collection[int], past: Past
) -> Stray:
    """The row a write hit instead of `target`, with what it held in `past`."""
    results = layout.results
    held = {
        tuple((k, cell(r, results[k]).strip()) for k, _ in target.wrote)
        for r in past.like(got, skip)
    }
    if not held and _blank(got, skip):  # a row below the last one: it was empty
        held.add(_empty(target.wrote))
    prior = held.pop() if len(held) == 1 else None
    row_id = cell(got, results["id"]).strip()
    return Stray(row_id, inputs_of(got, layout), target.wrote, prior)


def edited(
    before: Sequence[str], got: Sequence[str], layout: Layout, skip: Collection[int]
) -> bool:
    """Whether a row the write left (`got`) is the row it aimed at (`before`, as read),
    with empty inputs typed meanwhile: every result cell the write left alone is as read,
    and so is every input it showed (at least one). Then it held what the read saw: a
    person finishing a row is no misplacement. (Last resort: see `Writer._stray`.)"""
    if any(
        cell(got, c).strip() != cell(before, c).strip()
        for c in layout.results.values()
        if c not in skip
    ):
        return False
    shown = [i for i in layout.inputs if cell(before, i).strip()]
    return bool(shown) and all(cell(got, i).strip() == cell(before, i).strip() for i in shown)


def as_read(target: Aim, found: Stray, layout: Layout) -> Stray:
    """A stray that is the row aimed at, finished meanwhile (`edited`): it held what the
    read saw there."""
    before = target.before or ()
    prior = tuple((k, cell(before, layout.results[k]).strip()) for k, _ in target.wrote)
    return Stray(found.row_id, found.fingerprint, found.wrote, prior)


def emptied(target: Stray, row: Sequence[str], skip: Collection[int]) -> Stray | None:
    """A stray below the last row (it holds nothing but the written cells): it was empty."""
    if not _blank(row, skip):
        return None
    return Stray(target.row_id, target.fingerprint, target.wrote, _empty(target.wrote))


def _empty(wrote: Cells) -> Cells:
    return tuple((k, "") for k, _ in wrote)


def _blank(row: Sequence[str], skip: Collection[int]) -> bool:
    """Whether a row holds nothing but cells in the `skip` columns."""
    return not any(v.strip() for i, v in enumerate(row) if i not in skip)


def chained(new: Stray, older: Iterable[Stray]) -> tuple[Stray, list[Stray]]:
    """A row hit twice: what it held before the first hit is what to put back, and the
    cells only the first hit wrote are put back too. Returns the stray to keep and the
    older one it replaces. A second hit whose past nothing tells replaces the one kept
    for its row (the journal keeps one a row) and nothing tells the row's past either."""
    if new.prior is None:
        same = [old for old in older if old.key == new.key]
        return (_merged(new, same[0], None), same[:1]) if same else (new, [])
    now = dict(new.prior)
    held_id = now.get("id", new.row_id)
    for old in older:
        if old.fingerprint != new.fingerprint or held_id != old.row_id:
            continue
        if any(now.get(k, v).strip() != v.strip() for k, v in old.wrote):
            continue  # it held something else than the first mistake left
        if old.prior is None:
            return _merged(new, old, None), [old]
        before = dict(old.prior)
        prior = tuple((k, before.get(k, v)) for k, v in new.prior)
        prior += tuple((k, v) for k, v in old.prior if k not in now)
        return _merged(new, old, prior), [old]
    return new, []


def _merged(new: Stray, old: Stray, prior: Cells | None) -> Stray:
    """`new`, also showing the cells `old` wrote that `new` did not (still shown)."""
    kinds = {k for k, _ in new.wrote}
    wrote = new.wrote + tuple((k, v) for k, v in old.wrote if k not in kinds)
    return Stray(new.row_id, new.fingerprint, wrote, prior)


def kept_strays(
    new: Iterable[Stray], older: Sequence[Stray], *, keep_told: bool = False
) -> tuple[list[Stray], list[Stray]]:
    """New strays to record, each chained to the older one of its row (`chained`), and
    the older ones they replace. A hit found again (its cells among those the row's
    stray says were written) is dropped when that stray is told and it is not (never
    replace what it held with less) or, with `keep_told`, whenever that stray is told (a
    lost answer's check finding a hit the write's answer recorded, from the read before
    the write, maybe merged with an earlier hit)."""
    told = {old.key: old for old in older if old.prior is not None}
    kept: list[Stray] = []
    replaced: list[Stray] = []
    for stray in new:
        old = told.get(stray.key)
        again = old is not None and set(stray.wrote) <= set(old.wrote)
        if again and (keep_told or stray.prior is None):
            continue
        found, gone = chained(stray, older)
        kept.append(found)
        replaced += gone
    return kept, replaced


def shows_cells(row: Sequence[str], layout: Layout, cells: Cells) -> bool:
    """Whether a row shows these result cells (spaces around them aside)."""
    return all(cell(row, layout.results[k]).strip() == v.strip() for k, v in cells)


def shows(row: Sequence[str], layout: Layout, target: Stray) -> bool:
    """Whether a row holds the stray's inputs and still all that the mistaken write left."""
    if inputs_of(row, layout) != target.fingerprint:
        return False
    return shows_cells(row, layout, target.wrote)


def shows_link(row: Sequence[str], layout: Layout, target: Stray) -> bool:
    """Whether a row shows all that the stray's mistaken write left, a run's link among
    it, whatever its inputs now (a person retyped them): a link is one run's, so the row
    is the stray still."""
    if not dict(target.wrote).get("link", "").strip() or "link" not in layout.results:
        return False
    return shows_cells(row, layout, target.wrote)


def is_stray(row: Sequence[str], layout: Layout, target: Stray) -> bool:
    """Whether a row (one holding the stray's id) is the stray: its inputs tell. A stray
    without an id must still show all the mistaken write left (else it is anyone's)."""
    if not target.row_id:
        return shows(row, layout, target)
    return inputs_of(row, layout) == target.fingerprint


def held_again(row: Sequence[str], layout: Layout, target: Stray) -> bool:
    """Whether a stray's row shows again all it held before the mistaken write (that write
    changed nothing there, or the row was put back otherwise): nothing is left to put back."""
    if target.prior is None:
        return False
    return shows_cells(row, layout, target.prior)


def repair(
    row: Sequence[str],
    number: int,
    target: Stray,
    layout: Layout,
    watch: Watch,
    new_id: Callable[[], str],
) -> tuple[list[CellWrite], Aim, tuple[str, str] | None]:
    """The writes that put a stray row back, their aim, and `(id, state)` of a journal row
    to record first when the row gets an id of its own (`foreign`: a person's row that
    showed no id; `unknown`: nothing tells what it held, and the row says so)."""
    cells = dict(target.prior) if target.prior is not None else _untold(target, watch)
    adopt = None
    blank = target.prior is not None and not any(v for _, v in target.prior)
    if not target.row_id and not blank:
        cells.setdefault("id", "")  # a row that showed no id gets one: findable too
    mine = {layout.results[k] for k in cells}
    if "id" in cells and not cells["id"] and not (blank and _blank(row, mine)):
        cells["id"] = new_id()  # every write carries an id: a miss is found again
        adopt = (cells["id"], "foreign" if target.prior is not None else "unknown")
    writes = [CellWrite(number, layout.results[k] + 1, v) for k, v in cells.items()]
    return writes, aim(row, number, layout, writes), adopt


def _untold(target: Stray, watch: Watch) -> dict[str, str]:
    """Cells for a stray nothing tells the past of: `unknown`, and why."""
    cells = {k: "" for k, _ in target.wrote}
    cells.update(status=watch.statuses.unknown, message=UNTOLD_MESSAGE)
    if "id" in cells or not target.row_id:
        cells["id"] = ""  # ours, or none: the row gets an id of its own
    return cells


def prior_from_entry(target: Stray, row_id: str, desired: Mapping[str, str]) -> Stray:
    """A stray whose past is the journal's row `row_id` (its inputs matched, its id was
    overwritten): put back that row's id and result cells."""
    cells = {k: desired.get(k, "") for k, _ in target.wrote}
    cells["id"] = row_id
    return Stray(target.row_id, target.fingerprint, target.wrote, tuple(cells.items()))
