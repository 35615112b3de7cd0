"""The text of a `values:batchGet` answer as it arrives: a window over its pieces
(`Source`), from which `lean` decodes rows (or columns) one value at a time.

A value cut at the window's end is decoded again once more text came: a row, with a
piece or two more; a list (a column-major answer's column, megabytes) once what may be
its close came in (`_closes`), not once per piece or per doubling of the text. A cell can
look like a close (`"] ...` at a cell's start, `"],[`): after a decode that failed, the
next waits for the text to grow by half as well, so such cells cost a few decodes of the
column, never one per piece.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from sheetsync.core.text import ESCAPE_CHARS, may_need_mending

DECODER = json.JSONDecoder()
"""The decoder of every value of an answer (tests count its calls)."""
_CLOSED = {str, list, dict}
"""Values whose last character closes them: nothing that follows can extend them."""
CLOSE_CONTEXT = 64
"""Text before a piece searched with it for a list's close (`_closes`): a close cut
between pieces is found; a run of backslashes or blanks longer than this is taken for a
close (a decode that may fail), never missed."""
_AFTER_CLOSE = re.compile(r"\s*(?:[,\]]|\Z)")
"""What follows a list of strings' `]`: blanks, then a `,` or a `]` (the next column, or
the values' end), or the text's end (what follows has not come yet)."""
AHEAD = 1 << 16
"""Text kept past the place being decoded, unless the answer ends first: most rows are
decoded straight from the window, a run of them at a time (`_Rows._run`). A value that
reaches the window's end is decoded again with more text (`Source.decode`), so none is
taken cut short."""


class AnswerError(ValueError):
    """The text is not the shape of a `values:batchGet` answer."""


class Source:
    """The answer's text as a window over its pieces, addressed by absolute position."""

    def __init__(self, pieces: Iterable[str]) -> None:
        self._pieces = iter(pieces)
        self._window, self._base = "", 0
        self._tried = -1  # where the list is that `_more` grew the text for last
        self.odd = False
        """Whether an escape `core.text` mends came in: rows from then on are `mended`."""
        self._last = ""  # the text's last characters (an escape cut between pieces)

    def _grow(self, pos: int, goal: int, *, closing: bool = False) -> bool:
        """Drop the text before `pos` and add pieces until `goal` characters follow it, or
        with `closing` until a list of strings may close in the text added (`_closes`);
        False when no piece was left to add."""
        parts = [self._window[pos - self._base :]]
        size, tail = len(parts[0]), parts[0][-CLOSE_CONTEXT:]
        closed = not closing
        while not (closed and size >= goal) and (piece := next(self._pieces, None)) is not None:
            parts.append(piece)
            size += len(piece)
            if not self.odd:  # an escape may be cut between pieces, or span several
                seam = self._last + piece[: ESCAPE_CHARS - 1]
                self.odd = may_need_mending(seam) or may_need_mending(piece)
                self._last = (self._last + piece[1 - ESCAPE_CHARS :])[1 - ESCAPE_CHARS :]
            if not closed:
                closed = _closes(tail + piece, len(tail))
                tail = (tail + piece)[-CLOSE_CONTEXT:]
        self._window, self._base = "".join(parts), pos
        return len(parts) > 1

    def _more(self, pos: int) -> bool:
        """More text past `pos`, for a value cut at the window's end, to decode it again
        with: a list (a column-major answer's column, megabytes) up to where a list of
        strings may close, so that it is decoded once more, not once per piece or per
        doubling (again for the same list: half as much text more, too); any other value
        twice the text. False at the answer's end."""
        held = self._base + len(self._window) - pos
        if self._window.startswith("[", pos - self._base):
            again, self._tried = self._tried == pos, pos
            return self._grow(pos, held + held // 2 if again else 0, closing=True)
        return self._grow(pos, 2 * held + 1)

    def _ahead(self, pos: int) -> None:
        if self._base + len(self._window) < pos + AHEAD:
            self._grow(pos, AHEAD)

    def near(self, pos: int) -> tuple[str, int] | None:
        """The window and where `pos` is in it, when `AHEAD` text follows `pos` there (a
        row shorter than that can be decoded from it directly); else None."""
        local = pos - self._base
        return (self._window, local) if local + AHEAD < len(self._window) else None

    def at(self, local: int) -> int:
        """The absolute position of `local`, a place in the window `near` gave."""
        return self._base + local

    def char(self, pos: int) -> str:
        self._ahead(pos)
        if pos - self._base >= len(self._window):
            raise AnswerError(f"the answer ends at {pos}, cut short")
        return self._window[pos - self._base]

    def match(self, pattern: re.Pattern[str], pos: int) -> int:
        """Where `pattern` ends, matched at `pos` (no match: not an answer)."""
        self._ahead(pos)
        while True:
            found = pattern.match(self._window, pos - self._base)
            if found is None:
                raise AnswerError(f"unexpected text at {pos}")
            if found.end() < len(self._window) or not self._more(pos):
                return self._base + found.end()

    def decode(self, pos: int) -> tuple[Any, int]:
        """The JSON value at `pos` and the position after it."""
        self._ahead(pos)
        while True:
            try:
                value, end = DECODER.raw_decode(self._window, pos - self._base)
            except json.JSONDecodeError:
                if not self._more(pos):
                    raise
                continue
            # a value ending where the window does is whole unless a number or a literal
            if end < len(self._window) or type(value) in _CLOSED or not self._more(pos):
                return value, self._base + end


def _closes(text: str, start: int) -> bool:
    """Whether a list of strings may close in `text` at `start` or after: a `]` followed
    as `_AFTER_CLOSE` says, after blanks after a quote that ends a string (an even run of
    backslashes before it) or the list's `[`. Looked for from each `]` (few in a column's
    text); blanks or backslashes back past `CLOSE_CONTEXT` cannot be told: a close."""
    at = text.find("]", start)
    while at >= 0:
        if _AFTER_CLOSE.match(text, at + 1):
            head = text[max(0, at - CLOSE_CONTEXT) : at].rstrip()
            if not head or head[-1] == "[":
                return True
            if head[-1] == '"':
                run = len(head) - 1 - len(head[:-1].rstrip("\\"))
                if run % 2 == 0 or run == len(head) - 1:
                    return True
        at = text.find("]", at + 1)
    return False
