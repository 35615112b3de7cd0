"""`sheetsync demo`: the whole product, offline, against the built-in emulators.

Starts the Google Sheets and axiom emulators on 127.0.0.1, seeds a realistic queue,
runs the real daemon (scheduler, engine, journal, adapters), adds a row "by hand"
while it runs, stops it the way systemd would, and prints the sheet before and after.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sheetsync.emulator.axiom import AxiomEmulator
from sheetsync.emulator.google import GoogleEmulator
from sheetsync.errors import SheetsyncError
from sheetsync.redact import one_line
from sheetsync.service.daemon import Daemon

AUTOMATION = "Scrape product page"
TYPO = "Scrape prodcut page"
HEADER = ["url", "notes", "Automation", "Status"]
SETTLE_TIMEOUT = 60.0


def demo_rows(count: int) -> list[list[str]]:
    """A queue of product pages; row 7 names a misspelt automation."""
    rows = []
    for n in range(1, count + 1):
        automation = TYPO if n == 7 else ""
        notes = "ünïcode ✓ price in €" if n == 3 else ("ships in 2 parts" if n == 5 else "")
        rows.append([f"https://shop.example/product/{n}", notes, automation])
    rows.insert(1, ["https://shop.example/product/done-by-hand", "already handled", "", "done"])
    return rows


def write_config(folder: Path, google_url: str, axiom_url: str, key_path: Path, sid: str) -> Path:
    """The demo's config file: one watch, per-row automation, 1-second interval."""
    path = folder / "sheetsync.toml"
    path.write_text(
        f"""
[axiom]
api_key_env = "SHEETSYNC_DEMO_AXIOM_KEY"
base_url = "{axiom_url}"

[google]
service_account_file = "{key_path.name}"
api_base_url = "{google_url}"

[state]
path = "sheetsync.db"

[[watch]]
name = "products"
spreadsheet = "https://docs.google.com/spreadsheets/d/{sid}/edit#gid=0"
worksheet = "Queue"
automation = "{AUTOMATION}"
automation_column = "Automation"
interval_seconds = 1
mode = "row"
""",
        encoding="utf-8",
    )
    return path


NARROW = {"Run link": 24, "Message": 24}
"""Columns shown cut in the table; their full text follows below it."""


def render(console: Console, title: str, values: list[list[str]]) -> None:
    """Print a sheet as a table that fits the terminal (cells fold, none is dropped; the row
    number and the status always show whole), then the full links and messages."""
    header = values[0] if values else []
    rows = [[*r, *[""] * (len(header) - len(r))][: len(header)] for r in values[1:]]
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("#", justify="right", style="dim", no_wrap=True, min_width=2)
    for name in header:
        wide = max([len(name), *(len(r[header.index(name)]) for r in rows)], default=1)
        whole = name == "Status"  # a status word is never cut
        table.add_column(
            Text(name or " "),
            overflow="fold",
            no_wrap=whole,
            min_width=min(wide, 10) if whole else 4,
        )
    for number, cells in enumerate(rows, start=2):
        shown = [  # cut to fit a terminal table (URLs lose their scheme first)
            one_line(c.removeprefix("https://"), NARROW[h]) if h in NARROW else c
            for h, c in zip(header, cells, strict=True)
        ]
        table.add_row(str(number), *(Text(c) for c in shown))
    console.print(table)
    details = [
        (number, h, c)
        for number, cells in enumerate(rows, start=2)
        for h, c in zip(header, cells, strict=True)
        if h == "Message" and len(c) > NARROW[h]
    ]
    for number, name, cell in details:
        console.print(Text(f"  row {number} {name}: {cell}"))


def _wait_until(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def settled(google: GoogleEmulator, sid: str) -> bool:
    """Every row of the demo sheet shows a Status other than "" or `sending`."""
    values = google.values(sid, "Queue")
    status = values[0].index("Status") if values and "Status" in values[0] else None
    return status is not None and all(
        len(r) > status and r[status] not in {"", "sending"} for r in values[1:]
    )


def act_as_person(console: Console, google: GoogleEmulator, sid: str, daemon: Daemon) -> None:
    """Once the sheet settles, add a row as a person would; once it settles again, stop the
    daemon (also when it never settles)."""
    if _wait_until(lambda: settled(google, sid), SETTLE_TIMEOUT):
        console.print("\n[bold]A person adds a row while the daemon runs…[/bold]")
        google.insert_rows(
            sid, "Queue", 3, values=[["https://shop.example/product/new", "added live"]]
        )
        _wait_until(lambda: settled(google, sid), SETTLE_TIMEOUT)
    daemon.stop()


def run_demo(rows: int = 12, keep: bool = False, console: Console | None = None) -> None:
    """Run the demo; raises if the daemon did not settle the sheet."""
    from sheetsync.service.logs import configure_logging

    console = console or Console(width=None if Console().is_terminal else 180)
    configure_logging("INFO", "text")
    folder = Path(tempfile.mkdtemp(prefix="sheetsync-demo-"))
    key = "demo-" + secrets.token_hex(8)
    google, axiom = GoogleEmulator(), AxiomEmulator(api_key=key, automations=[AUTOMATION])
    google_url, axiom_url = google.start(), axiom.start()
    try:
        sid = google.create_spreadsheet("Product queue", {"Queue": [HEADER, *demo_rows(rows)]})
        key_path = google.write_service_account_file(folder / "service-account.json")
        config_path = write_config(folder, google_url, axiom_url, key_path, sid)
        axiom.script(["started", "started", "queued"], name=AUTOMATION)
        console.rule("[bold]sheetsync demo")
        console.print(f"Google Sheets emulator {google_url}, axiom emulator {axiom_url}")
        console.print(f"config {config_path}\n")
        render(console, "The sheet before", google.values(sid, "Queue"))
        environ = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        environ["SHEETSYNC_DEMO_AXIOM_KEY"] = key
        daemon = Daemon(config_path, environ)
        person = (console, google, sid, daemon)
        helper = threading.Thread(target=act_as_person, args=person, daemon=True)
        helper.start()
        daemon.run()
        helper.join(5)
        after = google.values(sid, "Queue")
        render(console, "The sheet after", after)
        console.print(
            f"axiom received {len(axiom.triggers)} trigger(s); Google Sheets API: "
            f"{google.reads()} read(s), {google.writes()} write(s)"
        )
        if not settled(google, sid):
            raise SheetsyncError("demo: the sheet did not settle; see the log above")
    finally:
        google.stop()
        axiom.stop()
        if keep:
            console.print(f"demo folder kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
