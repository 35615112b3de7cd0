"""The loop people write by hand, measured beside sheetsync on the same emulators.

    sh = gc.open_by_key(KEY); ws = sh.worksheet(TAB)
    for i, row in enumerate(ws.get_all_records(), start=2):
        if not row["Status"]:
            answer = requests.post(AXIOM + "/trigger", json={...}).json()
            ws.update_cell(i, status_col, ...); ws.update_cell(i, link_col, ...)
            ws.update_cell(i, message_col, ...)

`python -m benchmarks.naive ... [--every 5]` runs it as a child process (once, or as a
polling loop); `naive_cycle()` runs one poll in this process.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import gspread
import requests

LINK_KEY = "OPEN LINK IN BROWSER"
RESULT_COLUMNS = ("Status", "Run link", "Message")
DEFAULT_AUTOMATION = "Scrape product page"
KEY_ENV = "SHEETSYNC_TEST_AXIOM_KEY"
GOOGLE_HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")


def client(key_file: str, google_url: str) -> gspread.Client:
    """gspread's service-account client, its requests sent to `google_url`."""

    class Redirecting(gspread.HTTPClient):
        def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> Any:
            for host in GOOGLE_HOSTS:
                if endpoint.startswith(host):
                    endpoint = google_url.rstrip("/") + endpoint[len(host) :]
            return super().request(method, endpoint, *args, **kwargs)

    return gspread.service_account(filename=key_file, http_client=Redirecting)


def naive_cycle(
    gc: gspread.Client,
    spreadsheet_id: str,
    tab: str,
    axiom_url: str,
    api_key: str,
    automation: str = DEFAULT_AUTOMATION,
) -> int:
    """One poll: read every record, trigger each row with an empty Status, write 3 cells each."""
    worksheet = gc.open_by_key(spreadsheet_id).worksheet(tab)
    records = worksheet.get_all_records()
    if not records:
        return 0
    header = list(records[0])
    inputs = [h for h in header if h not in RESULT_COLUMNS and h != "sheetsync id"]
    status_col, link_col, message_col = (header.index(c) + 1 for c in RESULT_COLUMNS)
    sent = 0
    for number, record in enumerate(records, start=2):
        if str(record["Status"]).strip():
            continue
        data = [inputs, [str(record[h]) for h in inputs]]
        body = {"key": api_key, "name": automation, "data": data}
        answer = requests.post(f"{axiom_url}/trigger", json=body, timeout=30).json()
        link = str(answer.get(LINK_KEY, ""))
        worksheet.update_cell(number, status_col, "triggered" if link else "error")
        worksheet.update_cell(number, link_col, link)
        worksheet.update_cell(number, message_col, str(answer.get("message", "")))
        sent += 1
    return sent


def main(argv: list[str] | None = None) -> int:
    """Run one poll, or poll every `--every` seconds until killed; print one line per poll."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key-file", required=True)
    parser.add_argument("--google", required=True, help="the Google emulator's root URL")
    parser.add_argument("--axiom", required=True, help="axiom's API base URL")
    parser.add_argument("--spreadsheet", required=True)
    parser.add_argument("--tab", required=True)
    parser.add_argument("--automation", default=DEFAULT_AUTOMATION)
    parser.add_argument("--every", type=float, default=0.0, help="poll interval; 0: once")
    args = parser.parse_args(argv)
    gc = client(args.key_file, args.google)
    key = os.environ[KEY_ENV]
    while True:
        began = time.perf_counter()
        sent = naive_cycle(gc, args.spreadsheet, args.tab, args.axiom, key, args.automation)
        print(f"poll: {sent} triggered in {time.perf_counter() - began:.3f}s", flush=True)
        if args.every <= 0:
            return 0
        time.sleep(args.every)


if __name__ == "__main__":
    sys.exit(main())
