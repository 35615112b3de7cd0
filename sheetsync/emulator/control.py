"""Rehearse offline without writing code: add rows, show the sheet, end tracked runs.

`sheetsync emulator add-row/show/finish-run` talk to a running `sheetsync emulator`.
Rows go in and come out through the Google emulator's real Sheets API (with the
service-account file the emulator wrote), as a person's edits would. Ending a run has no
axiom API, so the axiom emulator takes it on a control path outside `/api/v3`:

    POST /_emulator/finish-run   {"name": "Scrape product page", "status": "Success"}

which ends the oldest running run of that automation (what `/run-data` then reports).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from sheetsync.emulator._http import Request, Response

if TYPE_CHECKING:
    from sheetsync.emulator.axiom import AxiomEmulator

CONTROL_PREFIX = "/_emulator/"
TIMEOUT = 10.0


def control_answer(emulator: AxiomEmulator, request: Request) -> Response:
    """Answer a control request of the axiom emulator."""
    if request.method != "POST" or request.path != CONTROL_PREFIX + "finish-run":
        return Response(404, {"status": "error", "message": "Not found."})
    body = request.json()
    body = body if isinstance(body, dict) else {}
    try:
        run = emulator.finish_run(str(body.get("name", "")), str(body.get("status", "Success")))
    except (LookupError, ValueError) as exc:
        return Response(400, {"status": "error", "message": str(exc)})
    return Response(200, {"status": "success", "data": {"name": run.name, "run": run.status}})


def finish_run(axiom_port: int, name: str, status: str) -> str:
    """End the oldest running run of `name` in the emulator on `axiom_port`; axiom's answer."""
    answer = requests.post(
        f"http://127.0.0.1:{axiom_port}{CONTROL_PREFIX}finish-run",
        json={"name": name, "status": status},
        timeout=TIMEOUT,
    )
    body: dict[str, Any] = answer.json()
    if answer.status_code != 200:
        raise ValueError(str(body.get("message", answer.text)))
    return f"run of {name!r} ended: {body['data']['run']}"


def _sheets(google_port: int, key_file: Path) -> Any:
    from sheetsync.adapters.google.sheet import GoogleSheets
    from sheetsync.config.google_settings import GoogleSettings

    settings = GoogleSettings(str(key_file), api_base_url=f"http://127.0.0.1:{google_port}")
    return GoogleSheets(settings, key_file, key_file)


def add_row(google_port: int, key_file: Path, sheet: str, tab: str, cells: list[str]) -> int:
    """Type `cells` into the first empty row below the tab's last row; its row number."""
    from sheetsync.core.model import CellWrite

    sheets = _sheets(google_port, key_file)
    values = sheets.read_tabs(sheet, [tab])[tab]
    number = len(values) + 1
    writes = [CellWrite(number, col, value) for col, value in enumerate(cells, start=1)]
    grid = sheets.grid(sheet, tab)
    if grid.rows < number:
        _grow(sheets, sheet, grid.sheet_id, number)
    sheets.write_cells(sheet, {tab: writes})
    return number


def _grow(sheets: Any, sheet: str, sheet_id: int, rows: int) -> None:
    body = {
        "requests": [
            {
                "updateSheetProperties": {
                    "properties": {"sheetId": sheet_id, "gridProperties": {"rowCount": rows}},
                    "fields": "gridProperties.rowCount",
                }
            }
        ]
    }
    sheets.http.batch_update(sheet, body)


def show(google_port: int, key_file: Path, sheet: str, tab: str) -> list[list[str]]:
    """The tab's values, as the Sheets API returns them."""
    values: list[list[str]] = _sheets(google_port, key_file).read_tabs(sheet, [tab])[tab]
    return values
