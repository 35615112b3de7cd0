"""`sheetsync emulator` / `python -m sheetsync.emulator`: both emulators until Ctrl-C."""

from __future__ import annotations

import sys
from pathlib import Path

from sheetsync.emulator._http import serve_until_interrupted
from sheetsync.emulator.axiom import AxiomEmulator
from sheetsync.emulator.google import GoogleEmulator


def serve_forever(google_port: int, axiom_port: int, key: str, automations: list[str]) -> None:
    """Start both emulators with a sample spreadsheet and a service-account file; block."""
    google = GoogleEmulator(port=google_port)
    axiom = AxiomEmulator(api_key=key, automations=automations, port=axiom_port)
    google_url, axiom_url = google.start(), axiom.start()
    sid = google.create_spreadsheet("Queue", {"Queue": [["url"], ["https://example.com/1"]]})
    key_file = google.write_service_account_file(Path.cwd() / "emulator-service-account.json")

    def announce() -> None:
        print(f"Google Sheets emulator: {google_url}   (google.api_base_url)")
        print(f"axiom emulator:         {axiom_url}   (axiom.base_url), key {key!r}")
        print(f"sample spreadsheet id:  {sid}  (tab 'Queue')")
        print(f"service-account file:   {key_file}")
        print(f"automations accepted:   {', '.join(repr(a) for a in automations)}")
        print("add a row:   sheetsync emulator add-row --sheet ID URL [MORE CELLS...]")
        print("show it:     sheetsync emulator show --sheet ID")
        print("end a run:   sheetsync emulator finish-run NAME [--status Success|Failure]")
        sys.stdout.flush()  # a pipe (a service's journal, a file) must see this before Ctrl-C

    serve_until_interrupted(google, axiom, announce=announce)
