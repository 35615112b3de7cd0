"""What `sheetsync status` shows of a fleet: the instances sharing a PostgreSQL state, and
which of them serves each spreadsheet of the config, at which epoch.

Read from the store's `instances()` and `holdings()`: a reader, it never takes a lease.
An instance whose heartbeat row has expired is shown `expired` (killed, or cut off from
the database): its spreadsheets go to a peer at the next acquire poll.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sheetsync.adapters.store.protocol import Holding, Instance, Store
from sheetsync.adapters.store.units import units_of
from sheetsync.config import Config
from sheetsync.service.status_command import printable

HOLDER_CHARS = 8
"""How much of an instance's id (a fresh uuid per start) the table shows."""


def fleet_of(store: Store, config: Config) -> dict[str, Any]:
    """The instances and the holder of each spreadsheet, as JSON-ready values."""
    instances = store.instances()
    holdings = {h.unit: h for h in store.holdings()}
    units = units_of(config.watches)
    by_holder = {i.holder: i for i in instances}
    spreadsheets = [
        _holding(unit, units.watches(unit), holdings.get(unit), by_holder) for unit in units.all
    ]
    return {
        "warnings": list(store.warnings),
        "instances": [_instance(i) for i in instances],
        "spreadsheets": spreadsheets,
    }


def _instance(found: Instance) -> dict[str, Any]:
    return {
        "holder": found.holder,
        "host": found.host,
        "pid": found.pid,
        "version": found.version,
        "started_at": found.started_at,
        "heartbeat_age_seconds": round(found.heartbeat_age, 1),
        "alive": found.expires_in > 0,
    }


def _holding(
    unit: str, watches: list[str], found: Holding | None, by_holder: dict[str, Instance]
) -> dict[str, Any]:
    """One spreadsheet: `held` (with its holder), `expired` (its holder stopped renewing:
    a peer takes it at its next poll) or `free` (never taken, or released)."""
    state = "free"
    if found is not None and found.holder:
        state = "held" if found.expires_in > 0 else "expired"
    holder = found.holder if found is not None and state != "free" else ""
    instance = by_holder.get(holder)
    return {
        "spreadsheet": unit,
        "watches": watches,
        "state": state,
        "holder": holder,
        "host": instance.host if instance else "",
        "pid": instance.pid if instance else None,
        "epoch": found.epoch if found is not None else 0,
        "lease_left_seconds": round(found.expires_in, 1) if state == "held" and found else 0,
    }


def print_fleet(console: Console, where: str, fleet: dict[str, Any]) -> None:
    """Two tables: the instances, then each spreadsheet with its holder and epoch."""
    instances, spreadsheets = fleet["instances"], fleet["spreadsheets"]
    alive = sum(1 for i in instances if i["alive"])
    held = sum(1 for s in spreadsheets if s["state"] == "held")
    console.print(
        Text(
            f"state {where}: {alive} instance(s) alive of {len(instances)} known; "
            f"{held} of {len(spreadsheets)} spreadsheet(s) held"
        )
    )
    for warning in fleet["warnings"]:
        console.print(Text(f"! {printable(warning)}"))
    if instances:
        table = _table("instance", "host", "pid", "version", "started (UTC)", "heartbeat", "state")
        for i in instances:
            seen = f"{i['heartbeat_age_seconds']:g} s ago"
            cells = [i["holder"][:HOLDER_CHARS], i["host"], str(i["pid"]), i["version"]]
            cells += [i["started_at"], seen, "alive" if i["alive"] else "expired"]
            table.add_row(*(Text(printable(c)) for c in cells))
        console.print(table)
    table = _table("spreadsheet", "watches", "held by", "epoch", "lease")
    for s in spreadsheets:
        table.add_row(*(Text(printable(c)) for c in _spreadsheet_cells(s)))
    console.print(table)


def _spreadsheet_cells(item: dict[str, Any]) -> list[str]:
    if item["state"] == "free":
        return [item["spreadsheet"], ", ".join(item["watches"]), "nobody (free)", "", ""]
    who = item["holder"][:HOLDER_CHARS]
    if item["host"]:
        who += f" ({item['host']} pid {item['pid']})"
    lease = f"{item['lease_left_seconds']:g} s left" if item["state"] == "held" else "expired"
    return [item["spreadsheet"], ", ".join(item["watches"]), who, str(item["epoch"]), lease]


def _table(*columns: str) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table
