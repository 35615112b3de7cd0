"""PURE: the values every layer shares: what the journal knows of a row (`Entry`), a row to
send (`Candidate`), one /trigger call (`TriggerPlan`), one cell to write (`CellWrite`) and
the cells that make the sheet show the journal (`Projection`). See docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from sheetsync.core.landing import Aim


@dataclass(frozen=True, slots=True)
class Entry:
    """What the journal knows of one row, as the plan needs it."""

    row_id: str
    state: str
    fingerprint: str = ""
    link: str = ""
    message: str = ""
    triggered_at: str = ""
    run_status: str = ""
    retry_due: bool = False
    checked: bool = True
    """False until the claim was seen on the row holding its inputs (it may have landed on a
    row that people moved in the instant between the read and the claim write)."""
    shown: bool = True
    """The sheet was last written with these result cells (false: write them again)."""


class Result(NamedTuple):
    """What the journal says one row should show (`Store.result_pages`): an `Entry`'s
    result fields and its shown flag, without its inputs; cheap by the 100,000."""

    row_id: str
    state: str
    link: str
    message: str
    triggered_at: str
    run_status: str
    shown: bool


class Columns:
    """A table kept a column each: a dataclass of sequences of one length (`columns`),
    its rows made only where asked for (`ResultPage`, `journal_landing.ShownRows`)."""

    __slots__ = ()

    @property
    def columns(self) -> tuple[Sequence[Any], ...]:
        raise NotImplementedError

    def __post_init__(self) -> None:
        if len(set(map(len, self.columns))) > 1:
            raise ValueError(f"{type(self).__name__}: columns of different lengths")

    def __len__(self) -> int:
        return len(self.columns[0])

    @staticmethod
    def transposed(rows: Iterable[Sequence[Any]], width: int) -> list[list[Any]]:
        """Rows of `width` cells as `width` columns (empty ones for no row)."""
        return [list(c) for c in zip(*rows, strict=True)] or [[] for _ in range(width)]


@dataclass(frozen=True, slots=True)
class ResultPage(Columns):
    """A page of `Store.result_pages`: `Result`'s fields a column each (of one length).
    Columns, not a `Result` a row: a 200,000-row takeover made 200,000 named tuples
    (and PostgreSQL's answer as many small JSON arrays) to compare a few fields of each;
    a row is made a `Result` only when asked for (`page[i]`, iterating)."""

    row_ids: Sequence[str]
    states: Sequence[str]
    links: Sequence[str]
    messages: Sequence[str]
    triggered_at: Sequence[str]
    run_statuses: Sequence[str]
    shown: Sequence[bool]

    @classmethod
    def of(cls, rows: Iterable[Sequence[Any]]) -> ResultPage:
        """From rows of `Result`'s fields (a true `shown` in any form: SQLite's 1)."""
        ids, states, links, messages, times, runs, shown = cls.transposed(rows, 7)
        return cls(ids, states, links, messages, times, runs, list(map(bool, shown)))

    @property
    def columns(self) -> tuple[Sequence[Any], ...]:
        """The columns in `Result`'s field order."""
        return (
            *(self.row_ids, self.states, self.links, self.messages),
            *(self.triggered_at, self.run_statuses, self.shown),
        )

    def __getitem__(self, index: int) -> Result:
        return Result(*(column[index] for column in self.columns))

    def __iter__(self) -> Iterator[Result]:
        return map(Result._make, zip(*self.columns, strict=True))


@dataclass(frozen=True, slots=True)
class Candidate:
    """A row to send this cycle."""

    row_number: int
    row_id: str
    inputs: tuple[str, ...]
    automation: str
    fingerprint: str
    retry: bool = False
    fresh: bool = False
    """A row sheetsync has never claimed (so `settle_seconds` applies to it)."""
    look: str = ""
    """A hash of everything a person may still be typing: inputs, ready cell, automation."""


@dataclass(frozen=True)
class TriggerPlan:
    """One /trigger call: the automation, the rows it covers and the `data` it carries."""

    automation: str
    row_ids: tuple[str, ...]
    data: list[list[str]] | list[list[list[str]]]


@dataclass(frozen=True, slots=True)
class CellWrite:
    """One cell to write (1-based row and column)."""

    row: int
    col: int
    value: str


@dataclass
class Projection:
    """Cells to write so the sheet shows the journal, and what each written row must hold."""

    writes: list[CellWrite] = field(default_factory=list)
    aims: list[Aim] = field(default_factory=list)
    """One per written row: the write counts only where it landed on that row."""
    showing: list[str] = field(default_factory=list)
    """Rows written: their result cells match the journal once their aim is met."""
    shown: list[str] = field(default_factory=list)
    """Rows whose result cells already match the journal."""
