"""`sheetsync status`: per watch, rows by state, what the last cycle held back, and the rows.

Text from the sheet and from axiom is untrusted: it is printed literally (never as rich
markup, so `Task [/bold] not found` is just text) and with control characters escaped
(an ANSI or OSC sequence from axiom must not clear the screen or retitle the terminal).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sheetsync.adapters.store.opening import inspect_state, open_store
from sheetsync.adapters.store.overview import RowView
from sheetsync.adapters.store.protocol import Store
from sheetsync.config import Config, Watch

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """Untrusted text with every control character shown as an escape (`\\x1b`, `\\n`)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


@dataclass(frozen=True)
class Filters:
    """What `sheetsync status` was asked to show."""

    watch: str | None = None
    state: str | None = None
    row: int | None = None
    """The row number when sheetsync last wrote to the row."""
    row_id: str | None = None
    limit: int = 20


def collect(config: Config, journal: Store, filters: Filters) -> list[dict[str, Any]]:
    """Per watch: counts by state, held and settling rows, and the filtered rows."""
    out = []
    for watch in _chosen(config, filters):
        states = journal.counts(watch.name)
        cycle = journal.last_cycle(watch.name)
        rows = journal.row_views(
            watch.name,
            state=filters.state,
            row=filters.row,
            row_id=filters.row_id,
            limit=filters.limit,
        )
        out.append(
            {
                "watch": watch.name,
                "worksheet": watch.worksheet,
                "counts": states,
                "waiting": states.get("waiting", 0),
                "held": cycle.held,
                "settling": cycle.settling,
                "last_cycle": cycle.at,
                "rows": [r.as_dict() for r in rows],
            }
        )
    return out


def _chosen(config: Config, filters: Filters) -> list[Watch]:
    return [w for w in config.watch if filters.watch in (None, w.name)]


def print_status(
    config: Config, filters: Filters, *, as_json: bool = False, console: Console | None = None
) -> None:
    """Print the status of the config's watches (or JSON for scripts); on PostgreSQL also
    the instances and who serves each spreadsheet. Reads only: never takes a lease."""
    from sheetsync.service.fleet_view import fleet_of, print_fleet

    console = console or Console(highlight=False)
    empty = _empty_state(config)
    if empty is not None:
        if as_json:
            console.out(json.dumps({"journal": empty, "watches": []}))
        else:
            console.print(Text(f"no journal yet at {empty}: sheetsync has not run"))
        return
    store = open_store(config, readonly=True)
    try:
        watches = collect(config, store, filters)
        fleet = fleet_of(store, config) if config.state.postgres else None
    finally:
        store.close()
    if as_json:
        document: dict[str, Any] = {"journal": store.where, "watches": watches}
        document.update(fleet or {})
        console.out(json.dumps(document, ensure_ascii=False), highlight=False)
        return
    if fleet is not None:
        print_fleet(console, store.where, fleet)
    for item in watches:
        _print_watch(console, item)


def _empty_state(config: Config) -> str | None:
    """Where the state would be, when sheetsync never made it there (no file; a database
    without sheetsync's schema); None when there is one to read."""
    if not config.state.postgres:
        return None if config.state_path.exists() else str(config.state_path)
    found = inspect_state(config)
    return found.where if found.version == 0 else None


def _print_watch(console: Console, item: dict[str, Any]) -> None:
    counts: dict[str, int] = item["counts"]
    summary = ", ".join(f"{n} {state}" for state, n in counts.items()) or "no rows yet"
    extra = [f"{item[k]} {label}" for k, label in _HELD.items() if item[k]]
    line = Text()
    line.append(f"watch {printable(item['watch'])}", style="bold")
    line.append(f" ({printable(item['worksheet'])}): {sum(counts.values())} rows: {summary}")
    if extra:
        line.append("; " + ", ".join(extra))
    console.print(line)
    if not item["rows"]:
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("row", "inputs", "status", "run", "link / message", "time (UTC)"):
        table.add_column(column, overflow="fold")
    for row in item["rows"]:
        view = RowView(**row)
        detail = view.link or view.message
        cells = [str(view.row or "?"), view.inputs, view.status, view.run_status, detail]
        table.add_row(*(Text(printable(c)) for c in [*cells, view.updated_at]))
    console.print(table)


_HELD = {
    "waiting": "waiting (retried by sheetsync)",
    "held": "held by max_in_flight at the last cycle",
    "settling": "settling at the last cycle",
}
