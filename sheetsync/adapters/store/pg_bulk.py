"""Statements over many rows: a batch of rows is one statement, its rows one JSON parameter.

A statement per row made a big sheet's cycle fail on PostgreSQL: marking 100,000 rows
shown sent 100,000 UPDATEs down one pipeline, each planned on its own (on a journal not
yet analyzed, without column statistics, through `rows_by_state`: a scan of every row
of the state for each one), and the client's socket sat behind a full server buffer for
longer than `tcp_user_timeout`: "Connection timed out". Here a batch of up to `BATCH`
rows is one statement, and each statement joins its batch to the table in one plan.
The statements are built (`each_batch`, `history_of`) before the fenced transaction
opens, so that its idle timeout never counts the client's work.

A batch joins `rows` by its primary key alone: its other conditions are written as one
record compared `IS NOT DISTINCT FROM` (the same, on these NOT NULL columns), which no
index serves. Otherwise the planner, without column statistics, may join through a
partial or a (watch, state) index and scan it whole for each batch row (`rows_polled`:
73 s for 2,000 running rows of a 200,000-row journal, against 0.2 s by `rows_pkey`).

The rows travel as one JSON array of arrays (`batch`), unpacked by `rows_of`: the
standard library encodes it in C, where psycopg without its C extension dumps each
element of a `text[]` parameter in Python.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sheetsync.adapters.store.pg_text import without_nul

BATCH = 10_000
"""Rows per statement: a statement's parameter stays a few megabytes, and a 200,000-row
sheet's rows take 20 statements, not 200,000."""

T = TypeVar("T")
Statement = tuple[str, tuple[object, ...]]
"""A statement and its parameters, ready to send."""


def batches(items: Sequence[T]) -> Iterator[Sequence[T]]:
    """`items` in consecutive slices of at most `BATCH` (none when empty)."""
    size = BATCH
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rows_of(*columns: str) -> str:
    """A FROM item of one `%s` parameter (`batch`): one row per element, its columns
    named and typed as `columns` say (`"row_id text"`), and `n` its position (from 1)."""
    fields = ", ".join(
        f"(r->>{i})::{kind} AS {name}"
        for i, (name, kind) in enumerate(c.split(maxsplit=1) for c in columns)
    )
    return f"(SELECT {fields}, n FROM json_array_elements(%s::json) WITH ORDINALITY AS j(r, n))"


def batch(rows: Sequence[Sequence[Any]]) -> str:
    """The parameter `rows_of` unpacks: each row's values in its columns' order (a U+0000
    made U+FFFD: `pg_text`)."""
    text = json.dumps(rows, **_COMPACT)
    if "\\u0000" in text:  # or an escaped backslash before "u0000": made again, alike
        text = json.dumps([[without_nul(v) for v in row] for row in rows], **_COMPACT)
    return text


_COMPACT: dict[str, Any] = {"ensure_ascii": False, "separators": (",", ":")}


def last_by_key(rows: Sequence[Sequence[Any]], width: int = 1) -> list[Sequence[Any]]:
    """`rows` with one row per key (its first `width` values), the last one given, in
    the order of their first appearance: an upsert statement may touch a row only once,
    and a run of single upserts leaves the last one's values."""
    found: dict[tuple[Any, ...], Sequence[Any]] = {}
    for row in rows:
        found[tuple(row[:width])] = row
    return list(found.values())


_EVENTS = (
    "INSERT INTO events (at, watch, row_id, state, detail)"
    " SELECT %s, %s, row_id, %s, %s FROM " + rows_of("row_id text") + " u ORDER BY n"
)

_VARIED_EVENTS = (
    "INSERT INTO events (at, watch, row_id, state, detail) SELECT at, watch, row_id, state,"
    " detail FROM "
    + rows_of("at text", "watch text", "row_id text", "state text", "detail text")
    + " u ORDER BY n"
)


def each_batch(
    sql: str, rows: Sequence[Sequence[Any]], *params: object, after: tuple[object, ...] = ()
) -> list[Statement]:
    """`sql` for each batch of `rows`: its parameters `params`, the batch, then `after`."""
    return [(sql, (*params, batch(part), *after)) for part in batches(rows)]


def run(conn: Any, statements: Iterable[Statement]) -> None:
    """Send statements built beforehand, one after the other."""
    for sql, params in statements:
        conn.execute(sql, params)


def history_of(
    stamp: str, watch: str, row_ids: Sequence[str], state: str, detail: str
) -> list[Statement]:
    """The same history line for each row, in the order given: a statement per batch."""
    return each_batch(_EVENTS, [[r] for r in row_ids], stamp, watch, state, detail)


def histories_of(lines: Sequence[tuple[str, str, str, str, str]]) -> list[Statement]:
    """History lines `(at, watch, row_id, state, detail)`, in the order given."""
    return each_batch(_VARIED_EVENTS, lines)


def history(
    conn: Any, stamp: str, watch: str, row_ids: Sequence[str], state: str, detail: str
) -> None:
    """`history_of`, sent at once (rows found inside the transaction)."""
    run(conn, history_of(stamp, watch, row_ids, state, detail))


def histories(conn: Any, lines: Sequence[tuple[str, str, str, str, str]]) -> None:
    """`histories_of`, sent at once (rows found inside the transaction)."""
    run(conn, histories_of(lines))
