"""The command line's exit codes, and its one-line failure."""

from __future__ import annotations

import logging
import sys

import click

from sheetsync.errors import JournalError, StoreError, StoreReason

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
"""Config and credential errors: the systemd unit lists it in RestartPreventExitStatus=."""
EXIT_ROWS = 3
"""`once`: every cycle ran, but rows ended `error`, `unknown` or `waiting` (for cron alerts)."""


def start_failure(exc: JournalError) -> int:
    """The exit code of a start the state store refused: `EXIT_FAILED` when the database
    could not be reached or the connection broke (it may be restarting: systemd starts
    sheetsync again), `EXIT_CONFIG` otherwise (a damaged, locked, newer or refused store:
    starting again cannot fix it). Exit 2 for a database that was restarting left that
    instance stopped for good (RestartPreventExitStatus=2; the fleet soak)."""
    transient = {StoreReason.UNAVAILABLE, StoreReason.UNCERTAIN}
    return EXIT_FAILED if isinstance(exc, StoreError) and exc.reason in transient else EXIT_CONFIG


def fail(message: str, code: int) -> None:
    """Print one redacted line to stderr (no traceback) and exit with `code`."""
    from sheetsync.redact import redact
    from sheetsync.service.logs import journal_prefix

    click.echo(f"{journal_prefix(logging.ERROR)}sheetsync: {redact(message)}", err=True)
    sys.exit(code)
