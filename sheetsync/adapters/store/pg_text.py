"""Text PostgreSQL cannot hold: U+0000.

SQLite keeps U+0000 (NUL), but PostgreSQL's `text` refuses it ("text fields cannot
contain NUL bytes"), and its JSON functions refuse the `\\u0000` escape when they make
text of it. A refused write would fail the watch's every cycle. Answers are mended as they
are decoded (`core.text`: a cell's NUL is read as U+FFFD on either store); whatever text
reaches PostgreSQL another way (a SQLite journal's rows in `migrate-state`, a message
made here) has each NUL made U+FFFD on the way in: in parameters and COPY rows
(`nul_free`, every connection's text dumpers) and in the JSON a statement unpacks
(`pg_bulk.batch`).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from sheetsync.core.text import REPLACEMENT

if TYPE_CHECKING:
    import psycopg

NUL = "\x00"


def without_nul(value: Any) -> Any:
    """`value` with each U+0000 made U+FFFD, when it is text; else as it is."""
    return value.replace(NUL, REPLACEMENT) if isinstance(value, str) and NUL in value else value


def nul_free(conn: psycopg.Connection[Any]) -> None:
    """Make `conn` send text with each U+0000 made U+FFFD (parameters and COPY rows)."""
    text, binary = _dumpers()
    conn.adapters.register_dumper(str, binary)
    conn.adapters.register_dumper(str, text)  # the last one registered: the default


@cache
def _dumpers() -> tuple[type, type]:
    from psycopg.types.string import StrBinaryDumper, StrDumperUnknown

    class Text(StrDumperUnknown):
        def dump(self, obj: str) -> Any:
            return super().dump(without_nul(obj))

    class Binary(StrBinaryDumper):
        def dump(self, obj: str) -> Any:
            return super().dump(without_nul(obj))

    return Text, Binary
