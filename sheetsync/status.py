"""`sheetsync status`: per watch, rows by state and the latest journal entries."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from sheetsync.config import Config
from sheetsync.journal import Journal


def print_status(config: Config, limit: int, console: Console | None = None) -> None:
    """Print a table of states and recent events for every watch of the config."""
    console = console or Console()
    if not config.state_path.exists():
        console.print(f"no journal yet at {config.state_path}: sheetsync has not run")
        return
    journal = Journal(config.state_path, readonly=True)
    try:
        for watch in config.watch:
            counts = journal.counts(watch.name)
            total = sum(counts.values())
            summary = ", ".join(f"{n} {state}" for state, n in counts.items()) or "no rows yet"
            console.print(
                f"[bold]watch {watch.name}[/bold] ({watch.worksheet}): {total} rows: {summary}"
            )
            events = journal.latest(watch.name, limit)
            if not events:
                continue
            table = Table(show_edge=False, pad_edge=False)
            for column in ("time (UTC)", "row", "state", "detail"):
                table.add_column(column)
            for event in events:
                table.add_row(event.at, event.row_id, event.state, event.detail)
            console.print(table)
    finally:
        journal.close()
