"""PURE: where a write landed, and what puts back a row it landed on by mistake.

A values write addresses rows by position, and positions go stale while people insert,
delete and sort rows: a write aimed at row 7 lands on whatever row 7 is when Google
applies it. So every write asks for the written rows back as they are right after it
(`includeValuesInResponse`: the same request, no extra read), and each row's `Aim` says
what that row must still hold: its inputs and the result cells the write left alone, as
the read the write was computed from saw them (or, for a row whose inputs that read did
not take, its id). A row that does not is a `Stray`: what it held before is looked up in
that same read and kept in the journal, and a later write puts exactly that back (itself
checked the same way: see `strays`).

A claim, a skip or a repair carries the row's id, so wherever it lands, the next read can
find it (also after a crash that lost the write's answer). A result written to a row that
already shows its id leaves the id alone and is checked by it (`Aim.by_id`): the row is
the one holding the id even if a person edited its inputs meanwhile; should its answer
never come, a row showing the run's link it wrote is found as well.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sheetsync.core.layout import Layout
from sheetsync.core.model import CellWrite
from sheetsync.core.plan import cell, fingerprint

Cells = tuple[tuple[str, str], ...]
"""(result kind, value) pairs, in layout order: cells written to a row, or held by it."""


@dataclass(frozen=True, slots=True)
class Aim:
    """A written row: what it held when read, so the write's answer can tell it apart."""

    row: int
    row_id: str
    before: tuple[str, ...] | None
    """The row as the read saw it; `None` when the read did not take its inputs: then the
    answer's id cell must show `row_id` (the write leaves the id alone)."""
    wrote: Cells
    by_id: bool = False
    """The write leaves the row's id alone: the row is the one whose id the answer shows,
    whatever a person typed into its inputs meanwhile (identity is the id)."""


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


def id_kept(wrote: Cells) -> bool:
    """Whether a write of these cells left the row's id alone (see `Aim.by_id`)."""
    return all(kind != "id" for kind, _ in wrote)


def inputs_of(row: Sequence[str], layout: Layout) -> str:
    """The fingerprint of a row's input cells (as `Candidate.fingerprint` and `Entry`)."""
    return fingerprint([cell(row, i) for i in layout.inputs])


def signature(row: Sequence[str], layout: Layout, skip: Collection[int]) -> str:
    """A hash of a row's inputs and result cells, leaving out the columns a write changes
    (`skip`: those of every watch writing to the row)."""
    width = len(row)
    cols = [c for c in (*layout.inputs, *sorted(layout.results.values())) if c not in skip]
    kept = [str(row[c]).strip() if c < width else "" for c in cols]
    # repr keeps cells apart unambiguously and is much cheaper than JSON for big writes
    return hashlib.blake2b(repr(kept).encode(), digest_size=8).hexdigest()


def aim(row: Sequence[str], number: int, layout: Layout, writes: Iterable[CellWrite]) -> Aim:
    """The aim of writes to one row whose inputs were read: checked by its inputs when they
    write the id, else (a row already showing its id) by the id the answer shows."""
    by_col = {w.col - 1: w.value for w in writes if w.row == number}
    id_col = layout.results["id"]
    if id_col not in by_col:
        row_id = cell(row, id_col).strip()
        return Aim(number, row_id, tuple(row), _wrote(by_col, layout), by_id=bool(row_id))
    return Aim(number, by_col[id_col], tuple(row), _wrote(by_col, layout))


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


def landed(
    target: Aim,
    got: Sequence[str] | None,
    layout: Layout,
    skip: Collection[int],
    want: str | None = None,
) -> bool:
    """Whether the row a write left (`got`, its answer) is the row `target` aimed at
    (`want`: the signature of what it held, when already known)."""
    if got is None:
        return False
    if target.before is None or target.by_id:
        return cell(got, layout.results["id"]).strip() == target.row_id
    if want is None:
        want = signature(target.before, layout, skip)
    return signature(got, layout, skip) == want


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
    marked: list[int] | None = None  # computed once: a write may empty many rows
    looked: set[tuple[int, Cells, tuple[int, ...]]] = set()
    for target in targets:
        if target.before is None:
            continue
        numbers: Iterable[int] = (target.row - 1, target.row + 1)
        if not target.row_id:  # it leaves no id to find it by: every row a person marked
            if marked is None:
                marked = _marked(table, known, layout)
            numbers = marked
        cols = tuple(sorted(skip.get(target.row, ())))
        for number in numbers:
            if number in aimed or not 1 < number <= len(table):
                continue
            if known is not None and number not in known:
                continue
            if (number, target.wrote, cols) in looked:
                continue  # the same row, cells and columns: the same record
            looked.add((number, target.wrote, cols))
            row = table[number - 1]
            found = _sent("", row, target.wrote, layout, cols, written=False)
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
