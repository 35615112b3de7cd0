"""The `sheetsync` command line; the only module that imports click."""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any, TypeVar

import click

from sheetsync.distribution import DISTRIBUTION
from sheetsync.errors import ConfigError, JournalError, SheetsyncError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
"""Config and credential errors: the systemd unit lists it in RestartPreventExitStatus=."""
EXIT_ROWS = 3
"""`once`: every cycle ran, but rows ended `error`, `unknown` or `waiting` (for cron alerts)."""

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


def _fail(message: str, code: int) -> None:
    from sheetsync.redact import redact
    from sheetsync.service.logs import journal_prefix

    click.echo(f"{journal_prefix(logging.ERROR)}sheetsync: {redact(message)}", err=True)
    sys.exit(code)


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
    except (ConfigError, JournalError) as exc:
        _fail(str(exc), EXIT_CONFIG)


@main.command()
@_config_option
@_with_logging
def once(config_path: Path, log_level: str, log_format: str) -> None:
    """Run one cycle of every watch, then exit.

    Exit 0 ok, 1 a cycle failed, 2 config error, 3 rows ended error/unknown/waiting.
    """
    _setup_logging(log_level, log_format)
    from sheetsync.config import load_config
    from sheetsync.service.wiring import open_runtime

    try:
        config = load_config(config_path, os.environ)
        runtime = open_runtime(config)
    except (ConfigError, JournalError) as exc:
        _fail(str(exc), EXIT_CONFIG)
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


@main.group(invoke_without_command=True)
@click.option("--google-port", default=8085, show_default=True)
@click.option("--axiom-port", default=8086, show_default=True)
@click.option("--key", default="demo-key", show_default=True, help="The axiom API key to accept.")
@click.option("--automation", "automations", multiple=True, default=["Scrape product page"])
@click.pass_context
def emulator(
    ctx: click.Context, google_port: int, axiom_port: int, key: str, automations: tuple[str, ...]
) -> None:
    """Serve the local Google Sheets and axiom emulators on 127.0.0.1 until Ctrl-C.

    With a subcommand, act on emulators already serving on these ports instead.
    """
    ctx.obj = (google_port, axiom_port)
    if ctx.invoked_subcommand is not None:
        return
    from sheetsync.emulator.serve import serve_forever

    try:
        serve_forever(google_port, axiom_port, key, list(automations))
    except OSError as exc:
        _fail(f"emulator: cannot serve on ports {google_port}/{axiom_port}: {exc}", EXIT_FAILED)


_sheet_options = [
    click.option("--sheet", required=True, help="The spreadsheet id the emulator printed."),
    click.option("--tab", default="Queue", show_default=True),
    click.option(
        "--service-account",
        default="emulator-service-account.json",
        show_default=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="The key file the emulator wrote.",
    ),
]


def _with_sheet(func: F) -> F:
    for option in reversed(_sheet_options):
        func = option(func)
    return func


def _control(action: Callable[[], str]) -> None:
    """Run an emulator control action; an expected failure is one line, exit 1."""
    from requests import RequestException

    try:
        click.echo(action())
    except (RequestException, SheetsyncError, ValueError, OSError) as exc:
        _fail(f"emulator: {exc}", EXIT_FAILED)


@emulator.command("add-row")
@_with_sheet
@click.argument("cells", nargs=-1, required=True)
@click.pass_obj
def emulator_add_row(
    ports: tuple[int, int], sheet: str, tab: str, service_account: Path, cells: tuple[str, ...]
) -> None:
    """Type a row of CELLS below the last row of the tab, as a person would."""
    from sheetsync.emulator.control import add_row

    _control(lambda: f"row {add_row(ports[0], service_account, sheet, tab, list(cells))} added")


@emulator.command("show")
@_with_sheet
@click.pass_obj
def emulator_show(ports: tuple[int, int], sheet: str, tab: str, service_account: Path) -> None:
    """Print the tab, one tab-separated line per row (row number first)."""
    from sheetsync.emulator.control import show

    def lines() -> str:
        rows = show(ports[0], service_account, sheet, tab)
        return "\n".join(f"{n}\t" + "\t".join(row) for n, row in enumerate(rows, start=1))

    _control(lines)


@emulator.command("finish-run")
@click.argument("name")
@click.option(
    "--status", default="Success", show_default=True, type=click.Choice(["Success", "Failure"])
)
@click.pass_obj
def emulator_finish_run(ports: tuple[int, int], name: str, status: str) -> None:
    """End the oldest running (tracked) run of automation NAME."""
    from sheetsync.emulator.control import finish_run

    _control(lambda: finish_run(ports[1], name, status))
