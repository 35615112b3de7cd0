"""PURE: where a write landed, and what puts back a row it landed on by mistake.

A values write addresses rows by position, and positions go stale while people insert,
delete and sort rows: a write aimed at row 7 lands on whatever row 7 is when Google
applies it. So every write asks for the written rows back as they are right after it
(`includeValuesInResponse`: the same request, no extra read), and each row's `Aim` says
what that row must still hold: its inputs and the result cells the write left alone, as
the read the write was computed from saw them (or, for a row whose inputs that read did
not take, its id). A row that does not is a `Stray`: what it held before is looked up in
that same read and kept in the journal, and a later write puts exactly that back (itself
checked the same way). What cannot be told is shown as such (`UNTOLD_MESSAGE`).

Every write of a row whose inputs were read carries the row's id, so wherever it lands,
the next read can find it (also after a crash that lost the write's answer).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sheetsync.config import Watch
from sheetsync.layout import Layout
from sheetsync.plan import CellWrite, cell, fingerprint

Cells = tuple[tuple[str, str], ...]
"""(result kind, value) pairs, in layout order: cells written to a row, or held by it."""

UNTOLD_MESSAGE = (
    "sheetsync wrote another row's cells onto this row by mistake while rows were being "
    "moved, and cannot tell what this row showed before. Check the row: type retry in "
    "the status cell to send it, or put back what it held."
)


@dataclass(frozen=True, slots=True)
class Aim:
    """A written row: what it held when read, so the write's answer can tell it apart."""

    row: int
    row_id: str
    before: tuple[str, ...] | None
    """The row as the read saw it; `None` when the read did not take its inputs: then the
    answer's id cell must show `row_id` (the write leaves the id alone)."""
    wrote: Cells


@dataclass(frozen=True, slots=True)
class Sent:
    """A written row whose write has not been answered (yet): see `Journal.expect_answer`.
    With `row_id` empty: a row next to one, not written, that a shift may have hit."""

    row_id: str
    signature: str
    wrote: Cells
    skip: tuple[int, ...]
    """The columns the write changed in that row (left out of `signature`)."""
    before: Cells
    """What the written cells held when read: a row of the same write that the write
    shifted onto this one (an insert or delete above both) gets these back."""
    written: bool = True
    """False: a row the write did not aim at, kept only for what it held (`neighbours`)."""


@dataclass(frozen=True, slots=True)
class Stray:
    """A row a write landed on by mistake, until its cells are put back."""

    row_id: str
    """The id the row shows since: the one written onto it, or its own when left alone."""
    fingerprint: str
    """The row's inputs."""
    wrote: Cells
    prior: Cells | None
    """What the written cells held before (`None`: nothing tells)."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.row_id, self.fingerprint)


def inputs_of(row: Sequence[str], layout: Layout) -> str:
    """The fingerprint of a row's input cells (as `Candidate.fingerprint` and `Entry`)."""
    return fingerprint([cell(row, i) for i in layout.inputs])


def signature(row: Sequence[str], layout: Layout, skip: Collection[int]) -> str:
    """A hash of a row's inputs and result cells, leaving out the columns a write changes
    (`skip`: those of every watch writing to the row)."""
    cols = [*layout.inputs, *sorted(layout.results.values())]
    return fingerprint([cell(row, c).strip() for c in cols if c not in skip])


def aim(row: Sequence[str], number: int, layout: Layout, writes: Iterable[CellWrite]) -> Aim:
    """The aim of writes to one row whose inputs were read (they must include its id)."""
    by_col = {w.col - 1: w.value for w in writes if w.row == number}
    row_id = by_col.get(layout.results["id"], "")
    return Aim(number, row_id, tuple(row), _wrote(by_col, layout))


def aims(writes: Iterable[CellWrite], table: Sequence[Sequence[str]], layout: Layout) -> list[Aim]:
    """The aims of writes to rows whose inputs `table` holds (each must write the id)."""
    by_row: dict[int, list[CellWrite]] = {}
    for write in writes:
        by_row.setdefault(write.row, []).append(write)
    return [aim(table[n - 1], n, layout, row) for n, row in sorted(by_row.items())]


def id_aim(number: int, row_id: str, layout: Layout, writes: Iterable[CellWrite]) -> Aim:
    """The aim of writes to a row whose inputs were not read: its id cell must show `row_id`."""
    by_col = {w.col - 1: w.value for w in writes if w.row == number}
    return Aim(number, row_id, None, _wrote(by_col, layout))


def _wrote(by_col: Mapping[int, str], layout: Layout) -> Cells:
    return tuple((k, by_col[c]) for k, c in layout.results.items() if c in by_col)


def landed(target: Aim, got: Sequence[str] | None, layout: Layout, skip: Collection[int]) -> bool:
    """Whether the row a write left (`got`, its answer) is the row `target` aimed at."""
    if got is None:
        return False
    if target.before is None:
        return cell(got, layout.results["id"]).strip() == target.row_id
    return signature(got, layout, skip) == signature(target.before, layout, skip)


def sent(target: Aim, layout: Layout, skip: Collection[int]) -> Sent | None:
    """What to check of a row aimed at, should the write go unanswered (None: nothing
    findable, the write leaves the row's id alone)."""
    if target.before is None:
        return None
    return _sent(target.row_id, target.before, target.wrote, layout, skip)


def neighbours(
    targets: Sequence[Aim],
    layout: Layout,
    skip: Mapping[int, Collection[int]],
    table: Sequence[Sequence[str]],
    known: Collection[int] | None,
) -> list[Sent]:
    """The rows right above and below written rows, not written themselves, as read: an
    insert or delete in the instant before the write shifts them under it."""
    aimed = {t.row for t in targets}
    near: dict[tuple[tuple[int, ...], str], Sent] = {}
    for target in targets:
        if target.before is None:
            continue
        numbers: Iterable[int] = (target.row - 1, target.row + 1)
        if not target.row_id:  # it leaves no id to find it by: every row a person marked
            numbers = _marked(table, known, layout)
        for number in numbers:
            if number in aimed or not 1 < number <= len(table):
                continue
            if known is not None and number not in known:
                continue
            row = table[number - 1]
            found = _sent("", row, target.wrote, layout, skip.get(target.row, ()), written=False)
            near.setdefault((found.skip, found.signature), found)
    return list(near.values())


def _marked(
    table: Sequence[Sequence[str]], known: Collection[int] | None, layout: Layout
) -> list[int]:
    """Rows without an id that show something in a result column (a person's marks)."""
    owned = [c for k, c in layout.results.items() if k != "id"]
    numbers = range(2, len(table) + 1) if known is None else sorted(known)
    return [
        n
        for n in numbers
        if n <= len(table)
        and not cell(table[n - 1], layout.results["id"]).strip()
        and any(cell(table[n - 1], c).strip() for c in owned)
    ]


def _sent(
    row_id: str,
    row: Sequence[str],
    wrote: Cells,
    layout: Layout,
    skip: Collection[int],
    *,
    written: bool = True,
) -> Sent:
    before = tuple((k, cell(row, layout.results[k]).strip()) for k, _ in wrote)
    sig = signature(row, layout, skip)
    return Sent(row_id, sig, wrote, tuple(sorted(skip)), before, written)


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
    """A row hit twice: what it held before the first hit is what to put back. Returns
    the stray to keep and the older one it replaces."""
    if new.prior is None:
        return new, []
    now = dict(new.prior)
    held_id = now.get("id", new.row_id)
    for old in older:
        if old.fingerprint != new.fingerprint or held_id != old.row_id:
            continue
        if any(now.get(k, v).strip() != v.strip() for k, v in old.wrote):
            continue  # it held something else than the first mistake left
        if old.prior is None:
            return Stray(new.row_id, new.fingerprint, new.wrote, None), [old]
        before = dict(old.prior)
        prior = tuple((k, before.get(k, v)) for k, v in new.prior)
        return Stray(new.row_id, new.fingerprint, new.wrote, prior), [old]
    return new, []


def shows(row: Sequence[str], layout: Layout, target: Stray) -> bool:
    """Whether a row holds the stray's inputs and still all that the mistaken write left."""
    if inputs_of(row, layout) != target.fingerprint:
        return False
    return all(cell(row, layout.results[k]).strip() == v.strip() for k, v in target.wrote)


def is_stray(row: Sequence[str], layout: Layout, target: Stray) -> bool:
    """Whether a row (one holding the stray's id) is the stray: its inputs tell. A stray
    without an id must still show all the mistaken write left (else it is anyone's)."""
    if not target.row_id:
        return shows(row, layout, target)
    return inputs_of(row, layout) == target.fingerprint


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
