"""The command line's exit codes, and its one-line failure."""

from __future__ import annotations

import logging
import sys

import click

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
"""Config and credential errors: the systemd unit lists it in RestartPreventExitStatus=."""
EXIT_ROWS = 3
"""`once`: every cycle ran, but rows ended `error`, `unknown` or `waiting` (for cron alerts)."""


def fail(message: str, code: int) -> None:
    """Print one redacted line to stderr (no traceback) and exit with `code`."""
    from sheetsync.redact import redact
    from sheetsync.service.logs import journal_prefix

    click.echo(f"{journal_prefix(logging.ERROR)}sheetsync: {redact(message)}", err=True)
    sys.exit(code)
