"""PURE: a tab as one read saw it (`View`, built lazily for a narrow read: `NarrowTable`),
the layout its header gives, and one pass over its status and id columns (`Scan`).

What to read of a big tab is `narrow`'s; see docs/ARCHITECTURE.md for the words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress, count, zip_longest
from typing import overload

from sheetsync.config import Watch
from sheetsync.core.layout import Layout, map_header, norm, trimmed_header
from sheetsync.core.plan import cell
from sheetsync.errors import SheetError


@dataclass
class View:
    """A tab as one read saw it: rows in sheet order (`table[0]` is the header).

    `known` holds the row numbers read whole; `None` means every row was. Other rows
    hold only the narrow columns' cells (and `""` elsewhere), or nothing at all.
    """

    table: Sequence[Sequence[str]]
    known: set[int] | None = None
    columns: dict[int, Sequence[str]] | None = None
    """A narrow read's columns as read (index -> cells from row 2 down), for `scan`."""
    adoptable: bool = False
    """A first read's (`first_read`): its other rows also hold the result cells shown, so
    a lost journal can adopt them without their inputs."""


class NarrowTable(Sequence[Sequence[str]]):
    """A narrow first read as rows, each built when asked for.

    Row 1 is the header; rows read whole are as read; any other row holds the narrow
    columns' cells (`""` in the other columns), or is `()` past the last of them. A
    100,000-row read thus costs no 100,000 tuples (nor their garbage collection): a
    cycle looks at a few hundred rows by number.
    """

    def __init__(
        self,
        header: Sequence[str],
        spread: Sequence[Sequence[str]],
        height: int,
        whole: Mapping[int, Sequence[str]],
        widest: int = 0,
    ) -> None:
        self._header, self._spread, self._height = header, spread, height
        self._whole = {n: row for n, row in whole.items() if n <= height}
        self._longest = max(map(len, spread), default=0)
        self._widest = widest
        """The widest row of the tab as read, when known (rows here are cut to columns)."""

    def __len__(self) -> int:
        return self._height

    @overload
    def __getitem__(self, index: int) -> Sequence[str]: ...

    @overload
    def __getitem__(self, index: slice) -> list[Sequence[str]]: ...

    def __getitem__(self, index: int | slice) -> Sequence[str] | list[Sequence[str]]:
        if isinstance(index, slice):
            return [self._row(i) for i in range(*index.indices(self._height))]
        if index < 0:
            index += self._height
        if not 0 <= index < self._height:
            raise IndexError(index)
        return self._row(index)

    def _row(self, index: int) -> Sequence[str]:
        if index == 0:
            return self._header
        whole = self._whole.get(index + 1)
        if whole is not None:
            return whole
        k = index - 1
        if k >= self._longest:
            return ()
        return tuple([c[k] if k < len(c) else "" for c in self._spread])

    @property
    def width(self) -> int:
        """The widest row, without building the rows."""
        narrow = len(self._spread) if self._longest else 0
        return max([len(self._header), narrow, self._widest, *map(len, self._whole.values())])


def place(
    whole: dict[int, Sequence[str]], first: int, last: int, answer: Sequence[Sequence[str]]
) -> None:
    """Rows `first..last` read column by column into `whole` (rows past the data: empty)."""
    rows = as_rows(answer)
    for number in range(first, last + 1):
        whole[number] = rows[number - first] if number - first < len(rows) else ()


def header_of(columns: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """The header row from a `1:1` range read column by column."""
    return trimmed_header([col[0] if col else "" for col in columns])


def as_rows(columns: Sequence[Sequence[str]]) -> list[Sequence[str]]:
    """A range read column by column, as rows (each as wide as the range's answer)."""
    return list(zip_longest(*columns, fillvalue=""))


def layout_of(watch: Watch, table: Sequence[Sequence[str]]) -> Layout:
    """The layout a read's header row gives (an empty header row is the sheet's mistake)."""
    if not table or not any(cell.strip() for cell in table[0]):
        raise SheetError(
            f"worksheet {watch.worksheet!r} (watch {watch.name}): the first row must be "
            "the header row, and it is empty"
        )
    width = table.width if isinstance(table, NarrowTable) else max(map(len, table))
    return map_header(table[0], watch, width)


@dataclass
class Scan:
    """One pass over a view's status and id columns. An idle cycle may get the last
    cycle's (`Memory.scan`): nothing changes a scan once made."""

    open_rows: list[int]
    """Rows whose status is empty, `retry` or `sending`: they may be sent (of a flush's
    windows, only the rows read)."""
    holders: dict[str, int]
    """Each id on the sheet -> the first row holding it."""
    ids: list[str]
    """The id column, stripped (`ids[0]` is row 2's)."""
    extra: dict[str, list[int]] = field(default_factory=dict)
    """Ids on more than one row -> the rows after the first (see `ownership`)."""

    def rows_of(self, row_id: str) -> list[int]:
        """The rows holding this id, the first first (none: it is on no row)."""
        first = self.holders.get(row_id)
        return [] if first is None else [first, *self.extra.get(row_id, ())]

    def ids_on(self, rows: Iterable[int]) -> set[str]:
        """The ids these rows hold (rows without one add nothing)."""
        ids = self.ids
        found = {ids[n - 2] for n in rows if 2 <= n < len(ids) + 2}
        found.discard("")
        return found


def scan(view: View, layout: Layout, watch: Watch) -> Scan:
    """Find the open rows and where every id is, in one pass (statuses repeat: memoised)."""
    status_col, id_col = layout.results["status"], layout.results["id"]
    table = view.table
    words = {norm(watch.statuses.retry), norm(watch.statuses.sending), ""}
    if view.columns is None and view.known is not None:
        return _scan_windows(view, status_col, id_col, words)
    if view.columns is not None:
        # a column the cycle adds was not read: empty
        statuses, ids = view.columns.get(status_col, ()), view.columns.get(id_col, ())
    else:
        statuses = [cell(row, status_col) for row in table[1:]]
        ids = [cell(row, id_col) for row in table[1:]]
    flags = {value: norm(value) in words for value in set(statuses)}
    open_rows = list(compress(count(2), map(flags.__getitem__, statuses)))
    open_rows += range(len(statuses) + 2, len(table) + 1)  # past the column's last value
    stripped = list(map(str.strip, ids))
    # reversed: the first row holding an id is the one that stays in the map
    holders = dict(zip(reversed(stripped), range(len(stripped) + 1, 1, -1), strict=True))
    holders.pop("", None)
    extra: dict[str, list[int]] = {}
    if len(holders) < len(stripped) - stripped.count(""):  # some id is on two rows
        for number, row_id in enumerate(stripped, start=2):
            if row_id and holders[row_id] != number:
                extra.setdefault(row_id, []).append(number)
    return Scan(open_rows, holders, stripped, extra)


def _scan_windows(view: View, status_col: int, id_col: int, words: set[str]) -> Scan:
    """A flush read's scan (`narrow.window_view`): only the rows of its windows were read;
    the others are neither open nor hold an id (walking 100,000 unread rows as open ones
    cost a flush 4 MB and some 40 ms a watch)."""
    table, known = view.table, sorted(view.known or ())
    ids = [""] * (len(table) - 1)
    open_rows: list[int] = []
    holders: dict[str, int] = {}
    extra: dict[str, list[int]] = {}
    for number in known:
        row = table[number - 1]
        if norm(cell(row, status_col)) in words:
            open_rows.append(number)
        row_id = ids[number - 2] = cell(row, id_col).strip()
        if row_id and holders.setdefault(row_id, number) != number:
            extra.setdefault(row_id, []).append(number)
    return Scan(open_rows, holders, ids, extra)
