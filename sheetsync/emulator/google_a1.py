"""A1 notation and Google-shaped errors for the local Google Sheets emulator.

`parse_range` reads `Sheet1`, `'My tab'!A1:C`, `A:C`, `2:5`, `A5:Z`, `B3` (quoted
titles double their `'`); `format_range` writes a range the way Google echoes it.
Anything unparsable is the 400 `Unable to parse range: <range>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


class ApiError(Exception):
    """An answer other than 200, shaped like Google's `{"error": {...}}`."""

    def __init__(
        self,
        code: int,
        message: str,
        status: str = "INVALID_ARGUMENT",
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        """The JSON body Google sends with this error."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.status:
            error["status"] = self.status
        error.update(self.extra)
        return {"error": error}


def bad_request(message: str) -> ApiError:
    """A 400 INVALID_ARGUMENT."""
    return ApiError(400, message)


# -- A1 notation ----------------------------------------------------------------------
_ENDPOINT = re.compile(r"\$?([A-Za-z]{1,3})?\$?([1-9]\d{0,8})?")
_SIMPLE_TITLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CELL_LIKE = re.compile(r"[A-Za-z]{1,3}\d+|[Rr]\d*[Cc]\d*")


def col_letters(index: int) -> str:
    """`0` -> `A`, `26` -> `AA`."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def col_index(letters: str) -> int:
    """`A` -> `0`, `AA` -> `26`."""
    index = 0
    for char in letters.upper():
        index = index * 26 + ord(char) - 64
    return index - 1


def quote_title(title: str) -> str:
    """A tab title as Google echoes it in a range: quoted only when it must be."""
    if _SIMPLE_TITLE.fullmatch(title) and not _CELL_LIKE.fullmatch(title):
        return title
    return "'" + title.replace("'", "''") + "'"


@dataclass(frozen=True)
class Area:
    """0-based, end-exclusive bounds; None means "to the edge of the grid"."""

    row0: int
    row1: int | None
    col0: int
    col1: int | None


@dataclass(frozen=True)
class ParsedRange:
    """A range as written: tab title (None: first tab), area (None: whole tab)."""

    text: str
    title: str | None
    area: Area | None
    cells: str


def parse_range(text: str) -> ParsedRange:
    """Parse A1 notation; raise the 400 `Unable to parse range` on anything else."""
    fail = bad_request(f"Unable to parse range: {text}")
    if text.startswith("'"):
        title, rest = _quoted_title(text)
        if title is None or (rest and not rest.startswith("!")):
            raise fail
        cells = rest[1:]
        if rest and not cells:
            raise fail
    elif "!" in text:
        title, cells = text.rsplit("!", 1)
        if not title or not cells:
            raise fail
    else:
        area = parse_area(text)
        if area is not None:
            return ParsedRange(text, None, area, text)
        if not text:
            raise fail
        return ParsedRange(text, text, None, "")
    if not cells:
        return ParsedRange(text, title, None, "")
    area = parse_area(cells)
    if area is None:
        raise fail
    return ParsedRange(text, title, area, cells)


def _quoted_title(text: str) -> tuple[str | None, str]:
    chars: list[str] = []
    i = 1
    while i < len(text):
        if text[i] == "'":
            if text[i + 1 : i + 2] == "'":
                chars.append("'")
                i += 2
                continue
            return "".join(chars), text[i + 1 :]
        chars.append(text[i])
        i += 1
    return None, ""


def parse_area(cells: str) -> Area | None:
    """`A1:C`, `A:C`, `2:5`, `B3` ... as an `Area`; None when it is not a grid reference."""
    points = _endpoints(cells)
    if points is None or (len(points) == 1 and None in points[0]):
        return None
    if len(points) == 1:
        points.append(points[0])
    (c0, r0), (c1, r1) = points
    if c0 is None and c1 is None:
        if r0 is None or r1 is None:
            return None
        return Area(min(r0, r1), max(r0, r1) + 1, 0, None)
    if c0 is None or c1 is None:
        return None
    row0, row1 = _rows(r0, r1)
    return Area(row0, row1, min(c0, c1), max(c0, c1) + 1)


def _endpoints(cells: str) -> list[tuple[int | None, int | None]] | None:
    parts = cells.split(":")
    if len(parts) > 2 or not all(parts):
        return None
    points: list[tuple[int | None, int | None]] = []
    for part in parts:
        match = _ENDPOINT.fullmatch(part)
        if match is None or not any(match.groups()):
            return None
        col, row = match.groups()
        points.append((col_index(col) if col else None, int(row) - 1 if row else None))
    return points


def _rows(r0: int | None, r1: int | None) -> tuple[int, int | None]:
    if r0 is not None and r1 is not None:
        return min(r0, r1), max(r0, r1) + 1
    if r0 is not None:
        return r0, None
    return 0, None if r1 is None else r1 + 1


def format_cells(row0: int, row1: int, col0: int, col1: int) -> str:
    """`A1:B2` for 0-based end-exclusive bounds; a single cell has no colon."""
    start = f"{col_letters(col0)}{row0 + 1}"
    if row1 - row0 <= 1 and col1 - col0 <= 1:
        return start
    return f"{start}:{col_letters(col1 - 1)}{row1}"


def format_range(title: str, row0: int, row1: int, col0: int, col1: int) -> str:
    """`title!A1:B2` as Google echoes it, the title quoted only when needed."""
    return f"{quote_title(title)}!{format_cells(row0, row1, col0, col1)}"
