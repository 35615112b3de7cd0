"""Text PostgreSQL cannot hold: U+0000.

A sheet's cell, or an answer of axiom's, may hold U+0000 (NUL); SQLite keeps it, but
PostgreSQL's `text` refuses it ("text fields cannot contain NUL bytes"), and its JSON
functions refuse the `\\u0000` escape when they make text of it. A refused write would
fail the watch's every cycle, so on the way into PostgreSQL each NUL becomes U+FFFD (the
replacement character), in parameters (`nul_free`, every connection's text dumpers) and
in the JSON a statement unpacks (`pg_bulk.batch`). A cell holding one is then shown as
the journal has it: a cycle that compares them writes the U+FFFD once, and they agree.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

NUL, REPLACEMENT = "\x00", "\ufffd"


def without_nul(value: Any) -> Any:
    """`value` with each U+0000 made U+FFFD, when it is text; else as it is."""
    return value.replace(NUL, REPLACEMENT) if isinstance(value, str) else value


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
            return super().dump(obj.replace(NUL, REPLACEMENT) if NUL in obj else obj)

    class Binary(StrBinaryDumper):
        def dump(self, obj: str) -> Any:
            return super().dump(obj.replace(NUL, REPLACEMENT) if NUL in obj else obj)

    return Text, Binary
