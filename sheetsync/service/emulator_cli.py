"""`sheetsync emulator`: serve the local emulators, or act on ones already serving."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from sheetsync.errors import SheetsyncError
from sheetsync.service.exits import EXIT_FAILED
from sheetsync.service.exits import fail as _fail

F = TypeVar("F", bound=Callable[..., Any])


@click.group(invoke_without_command=True)
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
