"""psycopg's exceptions -> the project's `StoreError`, at the one boundary."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sheetsync.errors import StoreError, StoreReason
from sheetsync.redact import redact


@contextmanager
def translated(where: str, *, committing: bool = False) -> Iterator[None]:
    """Raise psycopg errors as `StoreError`s naming `where` (a redacted URL, never a secret).

    With `committing`, a lost connection means the commit may or may not have happened.
    """
    import psycopg

    try:
        yield
    except psycopg.OperationalError as exc:
        reason = StoreReason.UNCERTAIN if committing else StoreReason.UNAVAILABLE
        raise StoreError(f"{where}: {_line(exc)}", reason) from exc
    except psycopg.Error as exc:
        raise StoreError(f"{where}: {_line(exc)}", StoreReason.QUERY) from exc


def _line(exc: Exception) -> str:
    """The first line of a driver message, with registered secrets masked."""
    text = str(exc).strip().splitlines()
    return redact(text[0] if text else type(exc).__name__)
