"""A `values:batchGet` answer walked row by row, without decoding it all at once.

`json.loads` of a 100,000-row tab makes ~700,000 string objects and 100,000 lists at
once: ~60 MB for a 10 MB answer. Walked here, each row is decoded (by the `json`
module's C scanner) and handed to the caller's reducer, which keeps what it needs; the
rest is garbage at once. Only the answer's text stays whole meanwhile (1 byte a
character for ASCII).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import partial
from typing import TypeVar

T = TypeVar("T")
Reducer = Callable[[int, Iterator[list[str]]], T]
"""`reduce(index of the value range, its rows)`: called once per value range, in order."""

_DECODER = json.JSONDecoder()
_GAP = re.compile(r"[\s,]*")
_COLON = re.compile(r"\s*:\s*")
_TEXT = {str}


class AnswerError(ValueError):
    """The text is not the shape of a `values:batchGet` answer."""


def value_ranges(text: str, count: int, reduce: Reducer[T]) -> list[T]:
    """What `reduce` made of each of the `count` value ranges of a batchGet answer (a
    range without values: of no rows)."""
    made: dict[int, T] = {}
    try:
        _walk_object(text, _skip(text, 0), lambda key, pos: _top(text, key, pos, reduce, made))
    except (json.JSONDecodeError, IndexError) as exc:
        # not `from exc`: a JSONDecodeError keeps the whole answer (the sheet's cells)
        raise AnswerError(f"unreadable batchGet answer: {exc}") from None
    if len(made) > count:
        raise AnswerError("more value ranges than ranges asked for")
    return [made[i] if i in made else reduce(i, iter(())) for i in range(count)]


def _top(text: str, key: str, pos: int, reduce: Reducer[T], made: dict[int, T]) -> int:
    if key != "valueRanges":
        return _DECODER.raw_decode(text, pos)[1]
    _expect(text, pos, "[")
    pos = _skip(text, pos + 1)
    index = 0
    while text[pos] != "]":
        pos = _walk_object(text, pos, partial(_field, text, index=index, reduce=reduce, made=made))
        pos = _skip(text, pos)
        index += 1
    return pos + 1


def _field(
    text: str, key: str, pos: int, *, index: int, reduce: Reducer[T], made: dict[int, T]
) -> int:
    if key != "values":
        return _DECODER.raw_decode(text, pos)[1]
    rows = _Rows(text, pos)
    made[index] = reduce(index, rows)
    return rows.drain()


def _walk_object(text: str, pos: int, on_key: Callable[[str, int], int]) -> int:
    """Walk the object at `pos`, `on_key(key, where its value starts)` returning where the
    value ends; the position after the object."""
    _expect(text, pos, "{")
    pos = _skip(text, pos + 1)
    while text[pos] != "}":
        key, pos = _DECODER.raw_decode(text, pos)
        if not isinstance(key, str):
            raise AnswerError("an object key that is not a string")
        found = _COLON.match(text, pos)
        assert found is not None  # the pattern matches the empty string
        pos = _skip(text, on_key(key, found.end()))
    return pos + 1


class _Rows(Iterator[list[str]]):
    """The rows of a `values` array, decoded one at a time as they are asked for."""

    def __init__(self, text: str, pos: int) -> None:
        _expect(text, pos, "[")
        self.text = text
        self.pos = _skip(text, pos + 1)

    def __next__(self) -> list[str]:
        text = self.text
        if text[self.pos] == "]":
            raise StopIteration
        row, end = _DECODER.raw_decode(text, self.pos)
        self.pos = _skip(text, end)
        if not isinstance(row, list):
            raise AnswerError("a row that is not a list")
        return row if set(map(type, row)) <= _TEXT else [str(c) for c in row]

    def drain(self) -> int:
        """Skip the rows nobody asked for; the position after the array."""
        for _ in self:
            pass
        return self.pos + 1


def _skip(text: str, pos: int) -> int:
    found = _GAP.match(text, pos)
    assert found is not None  # the pattern matches the empty string
    return found.end()


def _expect(text: str, pos: int, char: str) -> None:
    if text[pos] != char:
        raise AnswerError(f"expected {char!r} at {pos}")
