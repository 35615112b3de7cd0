"""A `values:batchGet` answer walked row by row (or column by column) as it arrives.

`json.loads` of a 100,000-row tab makes ~700,000 string objects and 100,000 lists at
once: ~60 MB for a 10 MB answer; and the answer itself, whole, costs its size twice (the
bytes, then the text). Walked here, the text comes in pieces (`Source`), each row is
decoded (by the `json` module's C scanner) and handed to the caller's reducer, which
keeps what it needs; the rest is garbage at once. Only a window of the text is held: the
row being decoded and what follows it (a column-major answer's "row" is a whole column,
so its window holds that column's text).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import chain
from typing import Any, TypeVar

from sheetsync.adapters.google import source_text
from sheetsync.adapters.google.source_text import AHEAD, AnswerError, Source
from sheetsync.core.text import as_text, mended

T = TypeVar("T")
Reducer = Callable[[int, Iterator[list[str]]], T]
"""`reduce(index of the value range, its rows)`: called once per value range, in order."""

_GAP = re.compile(r"[\s,]*")
_COLON = re.compile(r"\s*:\s*")
_TEXT = {str}
_LIST = {list}
_FAR = object()
"""`_Rows._near`: the row is not in the window whole (a `null` row is None)."""
RUN_TEXT = 8_192
"""Text a run of rows is cut after (`_Rows._run`): ~100 rows of a six-column tab. Walking
200,000 such rows took 0.45-0.75 s of CPU one row at a time, ~0.23 s for `json.loads` of
the whole text (a made-up answer in 64 kB pieces)."""


def value_ranges(text: str | Iterable[str], count: int, reduce: Reducer[T]) -> list[T]:
    """What `reduce` made of each of the `count` value ranges of a batchGet answer (its
    text, or the pieces of it as they arrive; a range without values: of no rows)."""
    source = Source([text] if isinstance(text, str) else text)
    made: dict[int, T] = {}
    seen: list[int] = []
    try:
        on_key = partial(_top, source, reduce, made, seen, count)
        _walk_object(source, source.match(_GAP, 0), on_key)
    except json.JSONDecodeError as exc:
        # not `from exc`: a JSONDecodeError keeps the text it decoded (the sheet's cells)
        raise AnswerError(f"unreadable batchGet answer: {exc}") from None
    if seen != [count]:  # Google answers one value range per range asked, in order
        raise AnswerError(f"{sum(seen)} value ranges for {count} ranges asked for")
    return [made[i] if i in made else reduce(i, iter(())) for i in range(count)]


def _top(
    source: Source,
    reduce: Reducer[T],
    made: dict[int, T],
    seen: list[int],
    count: int,
    key: str,
    pos: int,
) -> int:
    if key != "valueRanges":
        return source.decode(pos)[1]
    _expect(source, pos, "[")
    pos = source.match(_GAP, pos + 1)
    index = 0
    while source.char(pos) != "]":
        if index == count:
            raise AnswerError(f"more value ranges than the {count} ranges asked for")
        on_key = partial(_field, source, index=index, reduce=reduce, made=made)
        pos = source.match(_GAP, _walk_object(source, pos, on_key))
        index += 1
    seen.append(index)
    return pos + 1


def _field(
    source: Source, key: str, pos: int, *, index: int, reduce: Reducer[T], made: dict[int, T]
) -> int:
    if key != "values":
        return source.decode(pos)[1]
    rows = _Rows(source, pos)
    made[index] = reduce(index, rows)
    return rows.drain()


def _walk_object(source: Source, pos: int, on_key: Callable[[str, int], int]) -> int:
    """Walk the object at `pos`, `on_key(key, where its value starts)` returning where the
    value ends; the position after the object."""
    _expect(source, pos, "{")
    pos = source.match(_GAP, pos + 1)
    while source.char(pos) != "}":
        key, pos = source.decode(pos)
        if not isinstance(key, str):
            raise AnswerError("an object key that is not a string")
        pos = source.match(_GAP, on_key(key, source.match(_COLON, pos)))
    return pos + 1


def one_string_each(cells: list[str]) -> list[str]:
    """The cells, each repeated value one string when values repeat (a status column: a
    few words in 100,000 cells of some 60 bytes each), as soon as the column is decoded,
    before the next one is; a column whose first cells are all distinct (ids) as it is."""
    sample = cells[:SAMPLE]
    if len(set(sample)) * 2 > len(sample):
        return cells
    same: dict[str, str] = {}
    return [same.setdefault(c, c) for c in cells]


SAMPLE = 1000
"""Cells a column is judged by: kept as decoded when most of them differ."""


class _Rows(Iterator[list[str]]):
    """The rows (or, column-major, the columns) of a `values` array, decoded as they are
    asked for: a run of rows at a time where the window holds them (`_run`), else one."""

    def __init__(self, source: Source, pos: int) -> None:
        _expect(source, pos, "[")
        self.source = source
        self.pos = source.match(_GAP, pos + 1)
        self._ready: Iterator[list[str]] = iter(())
        self._plain = 0  # no run is tried before this position (a cut fell in a cell)

    def __next__(self) -> list[str]:
        row = next(self._ready, None)
        if row is not None:
            return row
        source = self.source
        run = self._run()
        if run:
            self._ready = iter(mended(run) if source.odd else run)
            return next(self._ready)
        row = self._near()
        if row is _FAR:  # near the window's end, or a row longer than `AHEAD`
            if source.char(self.pos) == "]":
                raise StopIteration
            row, end = source.decode(self.pos)
            self.pos = source.match(_GAP, end)
        return mended(_text(row)) if source.odd else _text(row)

    def _run(self) -> list[list[str]] | None:
        """The rows in the next `RUN_TEXT` characters or so, decoded in one call: the text
        up to a row's end (`],`) wrapped in brackets. A cut that falls inside a cell leaves
        a string open, which never decodes: those rows go one at a time. None when no run
        can be cut (the window's end, a layout without `],`)."""
        near = self.source.near(self.pos)
        if near is None or self.pos < self._plain:
            return None
        window, local = near
        if window[local] == "]":  # the array's end
            return None
        cut = window.find("],", local + RUN_TEXT, local + AHEAD)
        if cut < 0:
            return None
        try:
            run: list[list[str]] = source_text.DECODER.decode(f"[{window[local : cut + 1]}]")
        except json.JSONDecodeError:
            self._plain = self.source.at(cut) + 1
            return None
        self.pos = self.source.match(_GAP, self.source.at(cut + 1))  # may reach past the window
        if not set(map(type, run)) <= _LIST:
            raise AnswerError("a row that is not a list")
        if set(map(type, chain.from_iterable(run))) <= _TEXT:
            return run
        return [_text(row) for row in run]

    def _near(self) -> Any:
        """The next row decoded straight from the window (what it is: a `null` is refused
        by the caller, as any row not a list), or `_FAR` when only the general path can
        tell."""
        near = self.source.near(self.pos)
        if near is None:
            return _FAR
        window, local = near
        if window[local] == "]":
            raise StopIteration
        try:
            row, end = source_text.DECODER.raw_decode(window, local)
        except json.JSONDecodeError:
            return _FAR
        gap = _GAP.match(window, end).end()  # type: ignore[union-attr]
        if gap == len(window):
            return _FAR
        self.pos += gap - local
        return row

    def drain(self) -> int:
        """Skip the rows nobody asked for; the position after the array."""
        for _ in self:
            pass
        return self.pos + 1


def _text(row: Any) -> list[str]:
    """A decoded row, its cells text (formatted values are; a number becomes its text)."""
    if not isinstance(row, list):
        raise AnswerError("a row that is not a list")
    return as_text(row)


def _expect(source: Source, pos: int, char: str) -> None:
    if source.char(pos) != char:
        raise AnswerError(f"expected {char!r} at {pos}")
