"""PURE: a header row -> `Layout`, where each input, result, ready and automation column sits.

Columns are found by name (case and spacing ignored), never by position, so people may
reorder them. Result columns missing from the header are planned to its right; a result
column headed twice, or headed but for invisible characters, is an error, not an input.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sheetsync.config import Watch
from sheetsync.core.a1 import column_letter
from sheetsync.errors import SheetError

RESULT_KINDS = ("status", "link", "message", "triggered_at", "run_status", "id")
"""Result columns sheetsync owns, in the order missing ones are added to the header."""


@dataclass(frozen=True)
class Layout:
    """Where each column of a watch sits (0-based indexes into a row)."""

    header: tuple[str, ...]
    inputs: tuple[int, ...]
    results: Mapping[str, int]
    ready: int | None = None
    automation: int | None = None
    added: tuple[str, ...] = ()

    @property
    def width(self) -> int:
        """Number of header columns, including added ones."""
        return len(self.header)

    def input_header(self) -> list[str]:
        """The header cells of the input columns, as sent to axiom."""
        return [self.header[i] for i in self.inputs]


def norm(text: str) -> str:
    """Text compared the way people read it: case and runs of spaces ignored."""
    return " ".join(text.split()).casefold()


def invisible(text: str) -> list[str]:
    """The characters of `text` that show as nothing (zero-width space, BOM, soft hyphen...)."""
    return [c for c in text if unicodedata.category(c) == "Cf"]


def loose(text: str) -> str:
    """`norm` with invisible characters dropped: how a header looks on screen."""
    return norm("".join(c for c in text if unicodedata.category(c) != "Cf"))


def letters(indexes: Sequence[int]) -> str:
    """0-based column indexes as `B`, `B and D`, `B, D and F`."""
    names = [column_letter(i + 1) for i in indexes]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def trimmed_header(row: Sequence[str]) -> tuple[str, ...]:
    """A header row without its trailing blank cells."""
    header = [str(cell) for cell in row]
    while header and not header[-1].strip():
        header.pop()
    return tuple(header)


def map_header(header_row: Sequence[str], watch: Watch, data_width: int = 0) -> Layout:
    """Find every column by header name; plan missing result headers or raise `SheetError`.

    Missing result columns go right of the widest row (`data_width`), never over cells
    that people filled in columns without a header.
    """
    header = trimmed_header(header_row)
    _refuse_lookalikes(header, watch)
    base = len(header)
    where: dict[str, int] = {}
    for index, name in enumerate(header):
        where.setdefault(norm(name), index)
    wanted = _wanted_results(watch)
    results: dict[str, int] = {}
    added: list[str] = []
    for kind, name in wanted.items():
        if norm(name) in where:
            results[kind] = where[norm(name)]
        elif watch.add_missing_columns or kind in _ALWAYS_ADDED:
            base = max(base, data_width)
            results[kind] = base + len(added)
            added.append(name)
        else:
            raise SheetError(
                f"worksheet {watch.worksheet!r} (watch {watch.name}): result column "
                f"{name!r} is missing from the header and add_missing_columns is false",
                "header",
            )
    # optional columns that exist are used even when not wanted explicitly
    for kind in ("triggered_at", "run_status"):
        name = getattr(watch.columns, kind)
        if kind not in results and norm(name) in where:
            results[kind] = where[norm(name)]
    ready = _find(header, where, watch.ready_column, watch, "ready_column")
    automation = _find(header, where, watch.automation_column, watch, "automation_column")
    inputs = _input_indexes(header, where, results, watch, {ready, automation})
    gap = [""] * (base - len(header))
    return Layout((*header, *gap, *added), inputs, results, ready, automation, tuple(added))


_ALWAYS_ADDED = frozenset({"id"})


def _refuse_lookalikes(header: Sequence[str], watch: Watch) -> None:
    """A result column headed twice, or only with invisible characters, is never an input
    (nor is a second one added beside it)."""
    looks = [loose(cell) for cell in header]
    for kind in RESULT_KINDS:
        name = getattr(watch.columns, kind)
        alike = [i for i, look in enumerate(looks) if look == loose(name)]
        if len(alike) > 1:
            raise SheetError(
                f"{_where(watch)}: columns {letters(alike)} are headed like the result column "
                f"{name!r}; sheetsync would send all but one to axiom as inputs: rename or "
                "delete the others",
                "header",
            )
        if alike and norm(header[alike[0]]) != norm(name):
            hint = near_miss(header, name)
            raise SheetError(
                f"{_where(watch)}: {hint}; until then the watch waits rather than add a second "
                f"{name!r} column",
                "header",
            )


def near_miss(header: Sequence[str], name: str) -> str:
    """`column B is headed ...` when a header cell is `name` but for invisible characters."""
    for index, cell in enumerate(header):
        if loose(cell) == loose(name) and norm(cell) != norm(name):
            codes = ", ".join(dict.fromkeys(f"U+{ord(c):04X}" for c in invisible(cell)))
            return (
                f"column {letters([index])} is headed {cell!r}, which differs from {name!r} "
                f"only by invisible characters ({codes}): retype it"
            )
    return ""


def _missing(watch: Watch, header: Sequence[str], key: str, name: str) -> SheetError:
    """`<key> <name> is not in the header row`, with its near miss when there is one."""
    hint = near_miss(header, name)
    text = f"{_where(watch)}: {key} {name!r} is not in the header row"
    return SheetError(f"{text}; {hint}" if hint else text, "header")


def _where(watch: Watch) -> str:
    return f"worksheet {watch.worksheet!r} (watch {watch.name})"


def _wanted_results(watch: Watch) -> dict[str, str]:
    columns = watch.columns
    wanted = {"status": columns.status, "link": columns.link, "message": columns.message}
    explicit = columns.given
    if "triggered_at" in explicit:
        wanted["triggered_at"] = columns.triggered_at
    if "run_status" in explicit or watch.track_runs:
        wanted["run_status"] = columns.run_status
    wanted["id"] = columns.id
    return wanted


def _find(
    header: Sequence[str], where: Mapping[str, int], name: str | None, watch: Watch, key: str
) -> int | None:
    if name is None:
        return None
    if norm(name) not in where:
        raise _missing(watch, header, key, name)
    return where[norm(name)]


def _input_indexes(
    header: Sequence[str],
    where: Mapping[str, int],
    results: Mapping[str, int],
    watch: Watch,
    exclude: set[int | None],
) -> tuple[int, ...]:
    if watch.input_columns is not None:
        missing = [name for name in watch.input_columns if norm(name) not in where]
        if missing:
            raise _missing(watch, header, "input column", missing[0])
        return tuple(where[norm(name)] for name in watch.input_columns)
    owned = set(results.values()) | exclude
    return tuple(i for i, name in enumerate(header) if i not in owned and name.strip())
