"""The `sheetsync` command line; with `emulator_cli` and `exits`, the only modules that
import click."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any, TypeVar

import click

from sheetsync.distribution import DISTRIBUTION
from sheetsync.errors import ConfigError, JournalError, SheetsyncError
from sheetsync.service.emulator_cli import emulator
from sheetsync.service.exits import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, EXIT_ROWS, start_failure
from sheetsync.service.exits import fail as _fail

_config_option = click.option(
    "-c",
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The TOML config file.",
)
_log_options = [
    click.option(
        "--log-level",
        default="INFO",
        show_default=True,
        type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    ),
    click.option(
        "--log-format", default="text", show_default=True, type=click.Choice(["text", "json"])
    ),
]


F = TypeVar("F", bound=Callable[..., Any])


def _with_logging(func: F) -> F:
    for option in reversed(_log_options):
        func = option(func)
    return func


def _setup_logging(level: str, fmt: str) -> None:
    from sheetsync.service.logs import configure_logging

    configure_logging(level.upper(), "json" if fmt == "json" else "text")


def _ensure_home(environ: MutableMapping[str, str]) -> None:
    """Give the process a HOME when it has none: gspread asks for one on import, and a
    systemd dynamic user without libnss-systemd has neither HOME nor a passwd entry."""
    if environ.get("HOME"):
        return
    try:
        Path.home()
    except (RuntimeError, KeyError):
        environ["HOME"] = "/nonexistent"  # Debian's home of users without one; never written


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name=DISTRIBUTION)
def main() -> None:
    """Turn new Google Sheet rows into axiom.ai runs and write the outcome back into each row."""
    _ensure_home(os.environ)


@main.command()
@_config_option
@_with_logging
def run(config_path: Path, log_level: str, log_format: str) -> None:
    """Run the daemon: poll every watch on its schedule until SIGTERM/SIGINT."""
    _setup_logging(log_level, log_format)
    from sheetsync.service.daemon import Daemon

    try:
        daemon = Daemon(config_path, os.environ)
        sys.exit(daemon.run())
    except ConfigError as exc:
        _fail(str(exc), EXIT_CONFIG)
    except JournalError as exc:
        _fail(str(exc), start_failure(exc))


@main.command()
@_config_option
@_with_logging
def once(config_path: Path, log_level: str, log_format: str) -> None:
    """Run one cycle of every watch, then exit.

    Exit 0 ok, 1 a cycle failed (or the database cannot be reached), 2 config error,
    3 rows ended error/unknown/waiting.
    """
    _setup_logging(log_level, log_format)
    from sheetsync.config import load_config
    from sheetsync.service.wiring import open_runtime

    try:
        config = load_config(config_path, os.environ)
        runtime = open_runtime(config)
    except ConfigError as exc:
        _fail(str(exc), EXIT_CONFIG)
        return
    except JournalError as exc:
        _fail(str(exc), start_failure(exc))
        return
    from sheetsync.cycle.outcomes import ATTENTION
    from sheetsync.service.progress import progress_reporter

    gc.freeze()  # what start-up built lives to the end: collections need not walk it
    runtime.journal.start()  # PostgreSQL: the leases are renewed while the cycles run

    try:
        with progress_reporter() as reporter:
            runtime.engine.progress = reporter
            reports = runtime.cycle_all()
    finally:
        runtime.close()
    failed = [r for r in reports if r.error]
    for report in failed:
        click.echo(f"sheetsync: watch {report.watch}: {report.error}", err=True)
    rows = sum(n for r in reports for state, n in r.outcomes.items() if state in ATTENTION)
    if failed:
        sys.exit(EXIT_FAILED)
    sys.exit(EXIT_ROWS if rows else EXIT_OK)


@main.command()
@_config_option
def check(config_path: Path) -> None:
    """Validate config, credentials, sheets, headers and automation names; change nothing."""
    from sheetsync.config import load_config
    from sheetsync.service.checks import run_checks

    try:
        config = load_config(config_path, os.environ)
        problems = run_checks(config, click.echo)
    except ConfigError as exc:
        _fail(str(exc), EXIT_CONFIG)
        return
    sys.exit(EXIT_FAILED if problems else EXIT_OK)


@main.command()
@_config_option
@click.option("--watch", "watch_name", help="Only this watch.")
@click.option("--state", help="Only rows with this status or run status (e.g. error).")
@click.option(
    "--row",
    "row_number",
    type=int,
    help="Only the row at this number when sheetsync last wrote to it (rows move: see --id).",
)
@click.option(
    "--id", "row_id", help="Only the row with this `sheetsync id` cell: exact, however rows moved."
)
@click.option("--limit", default=20, show_default=True, help="Rows per watch, newest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for scripts.")
def status(
    config_path: Path,
    watch_name: str | None,
    state: str | None,
    row_number: int | None,
    row_id: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Show per watch the rows by state and the latest rows: where, what, how it went."""
    from sheetsync.config import load_config
    from sheetsync.service.status_command import Filters, print_status

    try:
        config = load_config(config_path, os.environ, secrets=False)
        if watch_name is not None and watch_name not in {w.name for w in config.watch}:
            _fail(f"{config.source}: no watch named {watch_name!r}", EXIT_CONFIG)
        filters = Filters(watch_name, state, row_number, row_id, limit)
        print_status(config, filters, as_json=as_json)
    except (ConfigError, JournalError) as exc:
        _fail(str(exc), EXIT_CONFIG)


@main.command("migrate-state")
@_config_option
@click.option(
    "--from",
    "source",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The SQLite journal to move (default: the config's [state] path).",
)
def migrate_state(config_path: Path, source: Path | None) -> None:
    """Copy the SQLite journal into `[state] url`'s empty PostgreSQL database.

    Stop sheetsync first. Nothing already handled is sent again afterwards.
    """
    from sheetsync.service.state_move import move_state

    try:
        for line in move_state(config_path, source, os.environ):
            click.echo(line)
    except ConfigError as exc:
        _fail(str(exc), EXIT_CONFIG)
    except JournalError as exc:
        _fail(str(exc), EXIT_FAILED)


@main.command()
@click.option("--rows", default=12, show_default=True, help="Rows in the demo sheet.")
@click.option("--keep", is_flag=True, help="Keep the demo folder (config, journal) afterwards.")
def demo(rows: int, keep: bool) -> None:
    """Run the whole product offline against the built-in emulators."""
    from sheetsync.service.demo import run_demo

    try:
        run_demo(rows=rows, keep=keep)
    except SheetsyncError as exc:
        _fail(str(exc), EXIT_FAILED)
    except OSError as exc:  # a port, a temporary folder, a full disk
        _fail(f"demo: {exc}", EXIT_FAILED)


main.add_command(emulator)
