"""PURE: A1 notation for the ranges sheetsync reads and writes."""

from __future__ import annotations


def quote_title(title: str) -> str:
    """A tab title as an A1 range prefix: always quoted, inner quotes doubled."""
    return "'" + title.replace("'", "''") + "'"


def column_letter(col: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
