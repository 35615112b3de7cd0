"""Header rows that silently send or drop data: a name heading two columns, data under none.

`header_warnings` is pure; `HeaderWarnings` logs each warning of a watch once per process
(the cycle sees the same header every few seconds; a person needs to read it once).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sheetsync.config import Watch
from sheetsync.core.layout import Layout, letters, norm, trimmed_header
from sheetsync.core.view import NarrowTable

log = logging.getLogger("sheetsync.headers")


@dataclass(frozen=True)
class HeaderWarning:
    """One problem of a header row: what, which columns (0-based), and a line saying so."""

    kind: Literal["repeated", "unheaded"]
    columns: tuple[int, ...]
    text: str


def header_warnings(
    table: Sequence[Sequence[str]], layout: Layout, *, data: bool = True
) -> list[HeaderWarning]:
    """The header's repeated names and (with `data`: the table holds every row) the
    columns that hold data under a blank header."""
    header = trimmed_header(table[0])
    found = _repeated(header, layout)
    if data:
        found += _unheaded(table, header)
    return found


def _repeated(header: Sequence[str], layout: Layout) -> list[HeaderWarning]:
    by_name: dict[str, list[int]] = {}
    for index, cell in enumerate(header):
        if cell.strip():
            by_name.setdefault(norm(cell), []).append(index)
    found = []
    for indexes in by_name.values():
        if len(indexes) < 2:
            continue
        sent = [i for i in indexes if i in layout.inputs]
        if len(sent) > 1:
            effect = f"{'both' if len(sent) == 2 else 'all'} are sent to axiom under that name"
        elif sent:
            effect = f"only column {letters(sent)} is sent to axiom"
        else:
            effect = f"sheetsync reads column {letters(indexes[:1])}"
        text = (
            f"columns {letters(indexes)} have the same header {header[indexes[0]]!r}: "
            f"{effect}; give each its own name"
        )
        found.append(HeaderWarning("repeated", tuple(indexes), text))
    return found


def _unheaded(table: Sequence[Sequence[str]], header: Sequence[str]) -> list[HeaderWarning]:
    blank = [i for i, cell in enumerate(header) if not cell.strip()]
    widest = table.width if isinstance(table, NarrowTable) else max(map(len, table))
    if not blank and widest <= len(header):
        return []  # the usual case, found without a Python loop over 100,000 rows
    first: dict[int, int] = {}  # column -> the first row holding data there
    for number, row in enumerate(itertools.islice(table, 1, None), start=2):
        for index in (*blank, *range(len(header), len(row))):
            if index not in first and index < len(row) and row[index].strip():
                first[index] = number
    if not first:
        return []
    columns = sorted(first)
    where = ", ".join(f"{letters([c])}{first[c]}" for c in columns)
    noun = "column {} holds" if len(columns) == 1 else "columns {} hold"
    text = (
        f"{noun.format(letters(columns))} data but no header (first at {where}); sheetsync "
        "sends no column without a header: give it one"
    )
    return [HeaderWarning("unheaded", tuple(columns), text)]


@dataclass
class HeaderWarnings:
    """Logs each header warning of a watch once (a WARNING, the first cycle that sees it)."""

    seen: dict[str, set[tuple[str, tuple[int, ...]]]] = field(default_factory=dict)

    def see(
        self, watch: Watch, table: Sequence[Sequence[str]], layout: Layout, *, data: bool
    ) -> None:
        """Log the warnings of this read of the watch's tab that were not logged before."""
        seen = self.seen.setdefault(watch.name, set())
        for warning in header_warnings(table, layout, data=data):
            if (warning.kind, warning.columns) not in seen:
                seen.add((warning.kind, warning.columns))
                log.warning("watch %s (%r): %s", watch.name, watch.worksheet, warning.text)
