"""The local Google Sheets/Drive/OAuth emulator, driven through the real gspread stack."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gspread
import pytest
import requests
from google.oauth2.service_account import Credentials

from sheetsync.emulator.google import GoogleEmulator

SHEETS_SCOPE = "https://www.googleapis.com/auth/spreadsheets"
DRIVE_SCOPE = "https://www.googleapis.com/auth/drive.readonly"
QUEUE = [["url", "Status"], ["https://a", ""], ["https://b", "done"]]
GOOGLE_HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")


def rewriting_client(root: str) -> type[gspread.HTTPClient]:
    """A gspread HTTPClient class that sends Google's URLs to the emulator instead."""

    class EmulatorHTTPClient(gspread.HTTPClient):
        def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> Any:
            for host in GOOGLE_HOSTS:
                if endpoint.startswith(host):
                    endpoint = root + endpoint[len(host) :]
            return super().request(method, endpoint, *args, **kwargs)

    return EmulatorHTTPClient


class Harness:
    """An emulator plus helpers to build real gspread clients against it."""

    def __init__(self, emu: GoogleEmulator, tmp_path: Path) -> None:
        self.emu = emu
        self.key = emu.write_service_account_file(tmp_path / "key.json")

    def client(self, scopes: tuple[str, ...] = (SHEETS_SCOPE,)) -> gspread.Client:
        """A gspread client authenticated like sheetsync's (service account, own HTTPClient)."""
        creds = Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(self.key), scopes=list(scopes)
        )
        client = gspread.Client(creds, http_client=rewriting_client(self.emu.root_url))
        client.set_timeout(10)
        return client

    def sheet(self, tabs: dict[str, list[list[Any]]] | None = None, **kw: Any) -> tuple[str, Any]:
        """Create a spreadsheet and open it with a fresh client."""
        sid = self.emu.create_spreadsheet("Book", tabs or {"Queue": QUEUE}, **kw)
        return sid, self.client().open_by_key(sid)


@pytest.fixture
def emu() -> Iterator[GoogleEmulator]:
    with GoogleEmulator() as server:
        yield server


@pytest.fixture
def h(emu: GoogleEmulator, tmp_path: Path) -> Harness:
    return Harness(emu, tmp_path)


def row_metadata(sheet_id: int, row: int, key: str, value: str | None = None) -> dict[str, Any]:
    """A batchUpdate body creating developer metadata on one 0-based row."""
    span = {"sheetId": sheet_id, "dimension": "ROWS", "startIndex": row, "endIndex": row + 1}
    meta: dict[str, Any] = {
        "metadataKey": key,
        "visibility": "DOCUMENT",
        "location": {"dimensionRange": span},
    }
    if value is not None:
        meta["metadataValue"] = value
    return {"requests": [{"createDeveloperMetadata": {"developerMetadata": meta}}]}


def api_error(exc: pytest.ExceptionInfo[gspread.exceptions.APIError]) -> dict[str, Any]:
    """The `error` object of an APIError's JSON body."""
    body: dict[str, Any] = exc.value.response.json()["error"]
    return body


# -- auth -----------------------------------------------------------------------------
def test_key_file_is_private_real_and_points_at_the_emulator(h: Harness) -> None:
    """The key file is 0600 and holds a PEM key, the account and `{root}/token`."""
    info = json.loads(h.key.read_text())
    assert stat.S_IMODE(h.key.stat().st_mode) == 0o600
    assert info["token_uri"] == f"{h.emu.root_url}/token"
    assert info["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert info["client_email"] == "sheetsync@test.iam.gserviceaccount.com"
    assert {"project_id", "private_key_id", "client_id"} <= info.keys()


def test_open_by_key_gets_one_token_and_the_metadata(h: Harness) -> None:
    """open_by_key fetches a token once, then one spreadsheets.get with the tab properties."""
    sid, book = h.sheet({"Queue": QUEUE, "Other": []}, rows=50, cols=5)
    assert len(sid) == 44 and book.title == "Book"
    ws = book.worksheet("Other")
    assert (ws.id, ws.index, ws.row_count, ws.col_count) == (1, 1, 50, 5)
    assert h.emu.count("token") == 1
    assert h.emu.count("spreadsheets.get") == 2
    grant = next(iter(h.emu.tokens.values()))
    assert grant.client_email == "sheetsync@test.iam.gserviceaccount.com"
    assert grant.scopes == {SHEETS_SCOPE}


def test_expired_token_is_refreshed_and_the_call_retried(h: Harness) -> None:
    """After expire_tokens the next call gets a 401, google-auth refreshes and retries it."""
    _, book = h.sheet()
    ws = book.worksheet("Queue")
    h.emu.expire_tokens()
    assert ws.get("A1") == [["url"]]
    assert h.emu.count("token") == 2
    statuses = [r.status for r in h.emu.requests_matching("/values/")]
    assert statuses == [401, 200]
    assert h.emu.count("values.get") == 1


def test_requests_without_a_valid_token_are_401(h: Harness) -> None:
    """No or unknown bearer token: 401 UNAUTHENTICATED with Google's body."""
    sid = h.emu.create_spreadsheet("Book")
    url = f"{h.emu.root_url}/v4/spreadsheets/{sid}"
    missing = requests.get(url, timeout=5)
    wrong = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=5)
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.json()["error"]["status"] == "UNAUTHENTICATED"
    assert wrong.json()["error"]["message"].startswith("Request had invalid authentication")
    assert h.emu.count("spreadsheets.get") == 0


def test_token_endpoint_refuses_bad_grants(emu: GoogleEmulator) -> None:
    """A malformed assertion is invalid_grant; another grant type is unsupported_grant_type."""
    url = f"{emu.root_url}/token"
    jwt = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    bad = requests.post(url, data={"grant_type": jwt, "assertion": "a.b"}, timeout=5)
    other = requests.post(url, data={"grant_type": "password"}, timeout=5)
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_grant")
    assert other.json()["error"] == "unsupported_grant_type"
    assert emu.count("token") == 2 and not emu.tokens


def test_token_endpoint_failure_is_a_refresh_error(h: Harness) -> None:
    """A token endpoint answering 400 surfaces as google-auth's RefreshError, not APIError."""
    from google.auth.exceptions import RefreshError

    h.emu.create_spreadsheet("Book")
    h.emu.add_fault(path="^/token$", status=400)
    with pytest.raises(RefreshError):
        h.client().list_spreadsheet_files()


def test_unknown_and_denied_spreadsheets(h: Harness) -> None:
    """Unknown id -> 404 NOT_FOUND (SpreadsheetNotFound); deny() -> 403 (PermissionError)."""
    client = h.client()
    with pytest.raises(gspread.SpreadsheetNotFound) as missing:
        client.open_by_key("1" + "x" * 43)
    assert missing.value.__cause__.response.json() == {  # type: ignore[union-attr]
        "error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}
    }
    sid = h.emu.create_spreadsheet("Book")
    h.emu.deny(sid)
    with pytest.raises(PermissionError) as denied:
        client.open_by_key(sid)
    body = denied.value.__cause__.response.json()["error"]  # type: ignore[union-attr]
    assert (body["code"], body["status"]) == (403, "PERMISSION_DENIED")
    assert body["message"] == "The caller does not have permission"


# -- reads ----------------------------------------------------------------------------
def test_reads_trim_and_echo_the_bounded_range(h: Harness) -> None:
    """Reads drop trailing empties, keep interior ones as "", and echo the grid-bounded range."""
    h.emu.create_spreadsheet("x")
    sid, book = h.sheet({"Queue": [["a", "", "c", ""], [], ["", "b"], ["", ""]]})
    ws = book.worksheet("Queue")
    whole = ws.get()
    assert whole == [["a", "", "c"], [], ["", "b"]]
    assert whole.range == "Queue!A1:Z1000"
    assert ws.get("B3").range == "Queue!B3"
    assert book.values_get("Queue!A:C")["range"] == "Queue!A1:C1000"
    assert book.values_get("2:5")["range"] == "Queue!A2:Z5"
    assert book.values_get("Queue!B2:Z")["values"] == [[], ["b"]]
    empty = book.values_get("Queue!D5:E6")
    assert empty == {"range": "Queue!D5:E6", "majorDimension": "ROWS"}
    columns = book.values_get("Queue!A1:C3", params={"majorDimension": "COLUMNS"})
    assert columns["values"] == [["a"], ["", "", "b"], ["c"]]
    assert h.emu.values(sid, "Queue") == [["a", "", "c"], [], ["", "b"]]


def test_batch_get_reads_many_ranges_in_one_request(h: Harness) -> None:
    """values_batch_get returns one ValueRange per range and counts as one read."""
    _, book = h.sheet({"Queue": QUEUE, "Log": [["x"]]})
    h.emu.reset_counters()
    got = book.values_batch_get(["Queue!A2:B", "'Log'", "Queue!C1"])
    assert [v.get("values") for v in got["valueRanges"]] == [
        [["https://a"], ["https://b", "done"]],
        [["x"]],
        None,
    ]
    ranges = [v["range"] for v in got["valueRanges"]]
    assert ranges == ["Queue!A2:B1000", "Log!A1:Z1000", "Queue!C1"]
    assert (h.emu.reads(), h.emu.writes(), h.emu.count("values.batchGet")) == (1, 0, 1)


def test_bad_ranges_are_400_unable_to_parse(h: Harness) -> None:
    """An unknown tab or unparsable A1 is a 400 naming the range as sent."""
    _, book = h.sheet()
    for bad in ("Nope!A1", "Queue!A1:B2:C3", "Queue!"):
        with pytest.raises(gspread.exceptions.APIError) as exc:
            book.values_get(bad)
        assert api_error(exc)["message"] == f"Unable to parse range: {bad}"
        assert api_error(exc)["status"] == "INVALID_ARGUMENT"


def test_ranges_past_the_grid_are_400_with_googles_message(h: Harness) -> None:
    """Reads and writes past the grid answer `Range (...) exceeds grid limits`."""
    _, book = h.sheet({"Sheet1": [["a"]]})
    with pytest.raises(gspread.exceptions.APIError) as read:
        book.values_get("Sheet1!A1001:B")
    assert api_error(read)["message"] == (
        "Range (Sheet1!A1001:B) exceeds grid limits. Max rows: 1000, max columns: 26"
    )
    with pytest.raises(gspread.exceptions.APIError) as write:
        book.sheet1.update([["x", "y"]], "Z5")
    assert api_error(write)["message"] == (
        "Range (Sheet1!Z5:AA5) exceeds grid limits. Max rows: 1000, max columns: 26"
    )


# -- writes ---------------------------------------------------------------------------
def test_raw_keeps_text_and_user_entered_parses(h: Harness) -> None:
    """RAW stores `=IMPORTXML(...)` as text; USER_ENTERED makes formulas, numbers, booleans."""
    sid, book = h.sheet({"Sheet1": []})
    ws = book.sheet1
    formula = '=IMPORTXML(A1,"//h1")'
    ws.batch_update([{"range": "A1:C1", "values": [[formula, "=1+2", "007"]]}], raw=True)
    typed = [[formula, "=1+2", "007", "true", 2.5]]
    ws.batch_update([{"range": "A2:E2", "values": typed}], raw=False)
    assert ws.get("A1:E2") == [
        [formula, "=1+2", "007"],
        ["#NAME?", "3", "7", "TRUE", "2.5"],
    ]
    assert ws.get("A1:E2", value_render_option="FORMULA") == [
        [formula, "=1+2", "007"],
        [formula, "=1+2", 7, True, 2.5],
    ]
    assert ws.get("A2:E2", value_render_option="UNFORMATTED_VALUE") == [["#NAME?", 3, 7, True, 2.5]]
    assert h.emu.cell(sid, "Sheet1", 2, 1) == formula
    ws.update([["2024-01-02"]], "A3", raw=False)
    assert ws.get("A3") == [["2024-01-02"]]
    assert ws.get("A3", value_render_option="UNFORMATTED_VALUE") == [[45293]]


def test_value_input_option_is_required(h: Harness) -> None:
    """values.update and values:batchUpdate without valueInputOption are Google's 400."""
    _, book = h.sheet()
    with pytest.raises(gspread.exceptions.APIError) as single:
        book.values_update("Queue!A1", body={"values": [["x"]]})
    with pytest.raises(gspread.exceptions.APIError) as batch:
        book.values_batch_update({"data": [{"range": "Queue!A1", "values": [["x"]]}]})
    message = "'valueInputOption' is required but not specified"
    assert api_error(single)["message"] == api_error(batch)["message"] == message


def test_null_leaves_a_cell_and_empty_string_clears_it(h: Harness) -> None:
    """In written values `None` keeps the cell, `""` empties it; counts only written cells."""
    sid, book = h.sheet({"Sheet1": [["a", "b", "c"]]})
    answer = book.sheet1.update([[None, "", "z"]], "A1")
    assert h.emu.values(sid, "Sheet1") == [["a", "", "z"]]
    assert answer["updatedRange"] == "Sheet1!A1:C1"
    assert (answer["updatedRows"], answer["updatedColumns"], answer["updatedCells"]) == (1, 2, 2)


def test_batch_update_is_all_or_nothing(h: Harness) -> None:
    """One bad range in values:batchUpdate fails the request and writes nothing."""
    sid, book = h.sheet()
    data = [
        {"range": "Queue!B2", "values": [["sent"]]},
        {"range": "Queue!B1001", "values": [["x"]]},
    ]
    with pytest.raises(gspread.exceptions.APIError) as exc:
        book.worksheet("Queue").batch_update(data)
    assert exc.value.code == 400
    assert h.emu.values(sid, "Queue") == [QUEUE[0], ["https://a"], QUEUE[2]]
    answer = book.values_batch_update(
        {
            "valueInputOption": "RAW",
            "data": [
                {"range": "Queue!B2", "values": [["sent"]]},
                {"range": "Queue!B3:C3", "values": [["x", "y"]]},
            ],
            "includeValuesInResponse": True,
        }
    )
    assert answer["totalUpdatedCells"] == 3 and answer["totalUpdatedSheets"] == 1
    assert [r["updatedRange"] for r in answer["responses"]] == ["Queue!B2", "Queue!B3:C3"]
    assert answer["responses"][1]["updatedData"]["values"] == [["x", "y"]]


def test_writes_larger_than_the_range_are_refused(h: Harness) -> None:
    """More values than a multi-cell range holds is a 400, like Google's."""
    _, book = h.sheet()
    with pytest.raises(gspread.exceptions.APIError) as exc:
        book.sheet1.update([["a"], ["b"], ["c"]], "A1:B2")
    assert "but tried writing to row [3]" in api_error(exc)["message"]


def test_cell_character_limit(h: Harness) -> None:
    """50,000 characters fit in a cell; 50,001 are refused with Google's message."""
    sid, book = h.sheet({"Sheet1": []})
    book.sheet1.update([["x" * 50_000]], "A1")
    with pytest.raises(gspread.exceptions.APIError) as exc:
        book.sheet1.update([["y" * 50_001]], "A2")
    assert api_error(exc)["message"].startswith(
        "Your input contains more than the maximum of 50000 characters in a single cell."
    )
    assert len(h.emu.values(sid, "Sheet1")[0][0]) == 50_000
    assert len(h.emu.values(sid, "Sheet1")) == 1


def test_cell_limit_per_spreadsheet(tmp_path: Path) -> None:
    """Growing the grid past the spreadsheet's cell limit is a 400 and changes nothing."""
    limited = GoogleEmulator(max_cells=1000)
    with limited:
        h = Harness(limited, tmp_path)
        sid, book = h.sheet({"Sheet1": []}, rows=10, cols=10)
        with pytest.raises(gspread.exceptions.APIError) as exc:
            book.sheet1.add_rows(91)
        assert "above the limit of 1000 cells" in api_error(exc)["message"]
        book.sheet1.add_rows(90)
        assert limited.grid_size(sid, "Sheet1") == (100, 10)


def test_non_ascii_values_and_titles(h: Harness) -> None:
    """Unicode values and tab titles round-trip through URLs, JSON and A1 quoting."""
    sid, book = h.sheet({"Données €": [["héllo", "日本語", "🙂"]]})
    ws = book.worksheet("Données €")
    assert ws.get() == [["héllo", "日本語", "🙂"]]
    assert ws.get().range == "'Données €'!A1:Z1000"
    ws.update([["ñandú"]], "A2")
    assert h.emu.values(sid, "Données €")[1] == ["ñandú"]


def test_tab_titles_with_spaces_quotes_slashes_and_colons(h: Harness) -> None:
    """Titles needing quotes or URL escapes route and echo correctly (verb split before decode)."""
    titles = ["My tab", "Bob's", "a/b", "D3", "x:clear", "100%"]
    sid, book = h.sheet({t: [[t]] for t in titles})
    echoed = {t: book.worksheet(t).get().range for t in titles}
    assert echoed == {
        "My tab": "'My tab'!A1:Z1000",
        "Bob's": "'Bob''s'!A1:Z1000",
        "a/b": "'a/b'!A1:Z1000",
        "D3": "'D3'!A1:Z1000",
        "x:clear": "'x:clear'!A1:Z1000",
        "100%": "'100%'!A1:Z1000",
    }
    for title in titles:
        book.worksheet(title).update([["v"]], "B1")
        assert h.emu.values(sid, title) == [[title, "v"]]
    book.worksheet("x:clear").clear()
    assert h.emu.values(sid, "x:clear") == []
    assert h.emu.values(sid, "a/b") == [["a/b", "v"]]


def test_clear_and_batch_clear(h: Harness) -> None:
    """values.clear empties a range; values:batchClear several, echoing bounded ranges."""
    sid, book = h.sheet()
    ws = book.worksheet("Queue")
    answer = ws.batch_clear(["B3", "A2:A2", "C2:C"])
    assert answer["clearedRanges"] == ["Queue!B3", "Queue!A2", "Queue!C2:C1000"]
    assert h.emu.values(sid, "Queue") == [["url", "Status"], [], ["https://b"]]
    assert ws.clear()["clearedRange"] == "Queue!A1:Z1000"
    assert h.emu.values(sid, "Queue") == []


def test_append_finds_the_table_and_grows_the_grid(h: Harness) -> None:
    """append_row writes after the last row; INSERT_ROWS pushes rows below; the grid grows."""
    sid, book = h.sheet(rows=3, cols=2)
    ws = book.worksheet("Queue")
    answer = ws.append_row(["https://c", "new"])
    assert answer["tableRange"] == "Queue!A1:B3"
    assert answer["updates"]["updatedRange"] == "Queue!A4:B4"
    assert h.emu.grid_size(sid, "Queue") == (4, 2)
    ws.append_rows([["https://d", "", "wide"]], value_input_option="RAW")
    assert h.emu.values(sid, "Queue")[-1] == ["https://d", "", "wide"]
    assert h.emu.grid_size(sid, "Queue") == (5, 3)
    book.values_append(
        "Queue!A1:C2",
        params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
        body={"values": [["inserted"]]},
    )
    first_column = [r[0] for r in h.emu.values(sid, "Queue")]
    assert first_column == ["url", "https://a", "inserted", "https://b", "https://c", "https://d"]


# -- structure ------------------------------------------------------------------------
def test_insert_delete_sort_resize_through_gspread(h: Harness) -> None:
    """gspread's insert_rows, delete_rows, sort and resize change the grid like Sheets does."""
    sid, book = h.sheet({"Queue": [["k"], ["3"], ["1"], [""], ["2"]]}, rows=10)
    ws = book.worksheet("Queue")
    ws.insert_rows([["9"]], row=2)
    assert h.emu.values(sid, "Queue") == [["k"], ["9"], ["3"], ["1"], [], ["2"]]
    ws.sort((1, "asc"), range="A2:A10")
    assert h.emu.values(sid, "Queue") == [["k"], ["1"], ["2"], ["3"], ["9"]]
    ws.sort((1, "des"), range="A2:A10")
    assert h.emu.values(sid, "Queue") == [["k"], ["9"], ["3"], ["2"], ["1"]]
    ws.delete_rows(2, 3)
    assert h.emu.values(sid, "Queue") == [["k"], ["2"], ["1"]]
    assert h.emu.grid_size(sid, "Queue") == (9, 26)
    ws.resize(rows=4, cols=3)
    assert h.emu.grid_size(sid, "Queue") == (4, 3)
    with pytest.raises(gspread.exceptions.APIError) as exc:
        ws.delete_rows(1, 4)
    assert "You can't delete all the rows on the sheet." in api_error(exc)["message"]


def test_people_edit_between_calls(h: Harness) -> None:
    """emu.insert_rows/delete_rows/sort/set_cell/set_values show up in the next read."""
    sid, book = h.sheet()
    ws = book.worksheet("Queue")
    h.emu.insert_rows(sid, "Queue", 2, values=[["https://new", "x"]])
    h.emu.set_cell(sid, "Queue", 3, 2, "typed")
    assert ws.get("A2:B3") == [["https://new", "x"], ["https://a", "typed"]]
    h.emu.delete_rows(sid, "Queue", 2)
    h.emu.sort(sid, "Queue", 1, ascending=False)
    assert ws.get("A2:A3") == [["https://b"], ["https://a"]]
    h.emu.set_values(sid, "Queue", [["only"]])
    assert ws.get() == [["only"]]
    assert h.emu.grid_size(sid, "Queue") == (1000, 26)


def test_add_and_delete_tabs(h: Harness) -> None:
    """Tabs added or deleted by gspread or by a person appear in spreadsheets.get."""
    sid, book = h.sheet()
    added = book.add_worksheet("New tab", rows=5, cols=2)
    assert (added.title, added.row_count, added.index) == ("New tab", 5, 1)
    h.emu.add_sheet(sid, "Human", [["h"]])
    assert [w.title for w in book.worksheets()] == ["Queue", "New tab", "Human"]
    book.del_worksheet(added)
    h.emu.delete_sheet(sid, "Queue")
    assert [w.title for w in book.worksheets()] == ["Human"]
    with pytest.raises(gspread.exceptions.APIError):
        book.add_worksheet("Human", rows=1, cols=1)
    h.emu.delete_spreadsheet(sid)
    with pytest.raises(gspread.exceptions.APIError) as exc:
        book.sheet1.get()
    assert exc.value.code == 404


def test_developer_metadata_follows_rows_but_not_sorts(h: Harness) -> None:
    """Row metadata moves with inserts/deletes above it, stays put on sort, dies with its row."""
    sid, book = h.sheet({"Queue": [["url"], ["https://b"], ["https://a"]]})
    ws = book.worksheet("Queue")
    reply = book.batch_update(row_metadata(ws.id, 1, "sheetsync.row", "job-b"))
    meta = reply["replies"][0]["createDeveloperMetadata"]["developerMetadata"]
    lookup = {"developerMetadataLookup": {"metadataKey": "sheetsync.row", "metadataValue": "job-b"}}

    def located_row() -> list[list[str]] | None:
        found = book.client.request(
            "post",
            f"https://sheets.googleapis.com/v4/spreadsheets/{sid}/values:batchGetByDataFilter",
            json={"dataFilters": [lookup]},
        ).json()
        ranges = found.get("valueRanges", [])
        return ranges[0]["valueRange"].get("values") if ranges else None

    def start() -> int:
        return int(h.emu.developer_metadata(sid)[0]["location"]["dimensionRange"]["startIndex"])

    assert meta["location"]["locationType"] == "ROW" and start() == 1
    h.emu.insert_rows(sid, "Queue", 2, count=2)
    assert start() == 3 and located_row() == [["https://b"]]
    ws.delete_rows(2)
    assert start() == 2
    h.emu.sort(sid, "Queue", 1, ascending=False)  # "", b, a -> b, a, ""
    assert start() == 2 and located_row() == [["https://a"]]  # the value moved, metadata did not
    search = book.client.request(
        "post",
        f"https://sheets.googleapis.com/v4/spreadsheets/{sid}/developerMetadata:search",
        json={"dataFilters": [lookup]},
    ).json()
    assert (
        search["matchedDeveloperMetadata"][0]["developerMetadata"]["metadataId"]
        == meta["metadataId"]
    )
    ws.delete_rows(3)
    assert h.emu.developer_metadata(sid) == [] and located_row() is None


def test_batch_update_by_data_filter_writes_the_located_row(h: Harness) -> None:
    """values:batchUpdateByDataFilter writes the metadata's row; a miss writes nothing."""
    sid, book = h.sheet()
    book.batch_update(row_metadata(0, 2, "job"))
    url = f"https://sheets.googleapis.com/v4/spreadsheets/{sid}/values:batchUpdateByDataFilter"

    def write(key: str) -> dict[str, Any]:
        lookup = {"developerMetadataLookup": {"metadataKey": key}}
        data = [{"dataFilter": lookup, "values": [[None, "sent"]]}]
        body = {"valueInputOption": "RAW", "data": data}
        answer: dict[str, Any] = book.client.request("post", url, json=body).json()
        return answer

    assert write("job")["totalUpdatedCells"] == 1
    assert h.emu.values(sid, "Queue")[2] == ["https://b", "sent"]
    assert write("missing") == {"spreadsheetId": sid}


# -- counters, faults, quotas ---------------------------------------------------------
def test_counters_split_reads_writes_and_reset(h: Harness) -> None:
    """Per-method counters; reads()/writes() count Sheets calls only; reset_counters zeroes."""
    _, book = h.sheet()
    ws = book.worksheet("Queue")
    ws.get()
    ws.update([["x"]], "C1")
    ws.batch_update([{"range": "D1", "values": [["y"]]}])
    assert (h.emu.count("spreadsheets.get"), h.emu.count("values.get")) == (2, 1)
    assert (h.emu.count("values.update"), h.emu.count("values.batchUpdate")) == (1, 1)
    assert (h.emu.reads(), h.emu.writes(), h.emu.count("token")) == (3, 2, 1)
    h.emu.reset_counters()
    assert (h.emu.reads(), h.emu.writes(), h.emu.count("token")) == (0, 0, 0)


def test_injected_429_has_googles_body_and_retry_after(h: Harness) -> None:
    """A fault answers 429 RESOURCE_EXHAUSTED with Retry-After once, then calls succeed."""
    _, book = h.sheet()
    ws = book.worksheet("Queue")
    fault = h.emu.add_fault(path="/values/", status=429, count=1, retry_after="7")
    with pytest.raises(gspread.exceptions.APIError) as exc:
        ws.get()
    assert exc.value.code == 429
    assert exc.value.response.headers["Retry-After"] == "7"
    assert api_error(exc)["status"] == "RESOURCE_EXHAUSTED"
    assert "'Read requests'" in api_error(exc)["message"]
    assert ws.get("A1") == [["url"]] and fault.hits == 1
    assert [r.status for r in h.emu.requests_matching("/values/")] == [429, 200]


def test_injected_delay_trips_the_client_timeout(h: Harness) -> None:
    """A delayed answer longer than the client's timeout surfaces as a requests timeout."""
    _, book = h.sheet()
    ws = book.worksheet("Queue")
    book.client.set_timeout(0.05)
    h.emu.add_fault(path="/values/", delay=0.5, count=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        ws.get()


def test_held_request_waits_until_released(h: Harness) -> None:
    """A `hold` fault keeps the request open until the test releases it."""
    _, book = h.sheet()
    ws = book.worksheet("Queue")
    gate = threading.Event()
    h.emu.add_fault(path="/values/", hold=gate, count=1)
    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.append(ws.get("A1")))
    worker.start()
    worker.join(0.05)
    assert worker.is_alive() and not result
    gate.set()
    worker.join(5)
    assert result == [[["url"]]]


def test_quotas_use_a_rolling_window_of_the_injected_clock(tmp_path: Path) -> None:
    """Over the per-minute limit is 429; rejected calls don't fill the window; time frees it."""
    now = [0.0]
    with GoogleEmulator(reads_per_minute=2, writes_per_minute=1, clock=lambda: now[0]) as emu:
        h = Harness(emu, tmp_path)
        sid = emu.create_spreadsheet("Book", {"Sheet1": [["a"]]})
        book = h.client().open_by_key(sid)  # read 1 at t=0

        def read_at(t: float) -> int:
            now[0] = t
            try:
                book.values_get("A1")
            except gspread.exceptions.APIError as exc:
                assert "'Read requests per minute per user'" in exc.error["message"]
                return int(exc.code)
            return 200

        assert [read_at(t) for t in (10, 20, 60.5, 65, 70.5)] == [200, 429, 200, 429, 200]
        assert emu.quota_rejections == 2
        now[0] = 200.0
        book.sheet1.update([["w"]], "B1")
        with pytest.raises(gspread.exceptions.APIError) as exc:
            book.sheet1.update([["w"]], "C1")
        assert "'Write requests'" in exc.value.error["message"]
        assert emu.quota_rejections == 3


# -- Drive ----------------------------------------------------------------------------
def test_drive_list_get_and_modified_time(h: Harness) -> None:
    """Drive lists by exact name, gets modifiedTime, and modifiedTime moves on every change."""
    sid = h.emu.create_spreadsheet("Queue 'prod'")
    h.emu.create_spreadsheet("Other")
    client = h.client((SHEETS_SCOPE, DRIVE_SCOPE))
    files = client.list_spreadsheet_files("Queue 'prod'")
    assert [f["id"] for f in files] == [sid]
    assert set(files[0]) == {"id", "name", "createdTime", "modifiedTime"}
    book = client.open("Queue 'prod'")
    before = book.get_lastUpdateTime()
    assert before.endswith("Z") and len(before) == len("2024-01-01T00:00:00.000Z")
    book.sheet1.update([["x"]], "A1")
    after = book.get_lastUpdateTime()
    h.emu.set_cell(sid, "Sheet1", 1, 1, "human")
    assert before < after < book.get_lastUpdateTime()
    plain = client.http_client.request("get", f"https://www.googleapis.com/drive/v3/files/{sid}")
    mime = "application/vnd.google-apps.spreadsheet"
    assert plain.json() == {
        "kind": "drive#file",
        "id": sid,
        "name": "Queue 'prod'",
        "mimeType": mime,
    }
    assert (h.emu.count("drive.files.list"), h.emu.reads()) == (2, 2)


def test_drive_needs_a_drive_scope_and_hides_denied_files(h: Harness) -> None:
    """A spreadsheets-only token gets 403 from Drive; a denied file is Drive's 404."""
    sid = h.emu.create_spreadsheet("Book")
    with pytest.raises(gspread.exceptions.APIError) as exc:
        h.client().list_spreadsheet_files()
    assert api_error(exc)["message"] == "Request had insufficient authentication scopes."
    drive = h.client((DRIVE_SCOPE,))
    h.emu.deny(sid)
    assert drive.list_spreadsheet_files() == []
    with pytest.raises(gspread.exceptions.APIError) as missing:
        drive.get_file_drive_metadata(sid)
    assert api_error(missing)["message"] == f"File not found: {sid}."


# -- standalone -----------------------------------------------------------------------
def test_module_serves_standalone(tmp_path: Path) -> None:
    """`python -m sheetsync.emulator.google --port 0` prints its root URL and serves it."""
    with subprocess.Popen(
        [sys.executable, "-m", "sheetsync.emulator.google", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            root = proc.stdout.readline().strip()
            assert root.startswith("http://127.0.0.1:")
            answer = requests.get(f"{root}/drive/v3/files", timeout=5)
            assert answer.status_code == 401
        finally:
            proc.terminate()
            proc.wait(5)


@pytest.mark.parametrize(
    ("agent", "accept", "gzipped"),
    [
        ("sheetsync (gzip)", "gzip", True),
        ("my program (gzip)", "deflate, gzip;q=0.5", True),
        ("python-requests/2.32", "gzip, deflate", False),  # Google wants both signs
        ("my program (gzip)", "identity", False),
        ("my program (gzip)", "gzip;q=0", False),
    ],
)
def test_answers_are_gzipped_only_when_asked_as_google_documents(
    h: Harness, agent: str, accept: str, gzipped: bool
) -> None:
    """`Accept-Encoding: gzip` plus `gzip` in the User-Agent: a gzip body, the same JSON."""
    sid, book = h.sheet()
    session = book.client.session
    url = f"{h.emu.root_url}/v4/spreadsheets/{sid}/values/Queue"
    answer = session.get(url, headers={"User-Agent": agent, "Accept-Encoding": accept})
    assert answer.status_code == 200
    assert (answer.headers.get("Content-Encoding") == "gzip") is gzipped
    assert answer.json()["values"] == [["url", "Status"], ["https://a"], ["https://b", "done"]]
