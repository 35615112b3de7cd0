"""The Sheets and Drive handlers of the Google emulator: a routed request answered on
the emulator's books (`google_api` decides which handler a request is for).

Reads take the book as it is; structural writes run on a copy (`GoogleEmulator.mutate`)
and values writes are planned, then applied in place (`mutate_in_place`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sheetsync.emulator import (
    google_batch,
    google_drive,
    google_meta,
    google_spreadsheet,
    google_value_writes,
    google_values,
)
from sheetsync.emulator._http import Request, Response
from sheetsync.emulator.google_a1 import bad_request
from sheetsync.emulator.google_value_writes import Write
from sheetsync.emulator.google_values import (
    Options,
    check_major,
    check_render,
    input_option,
    truthy,
)

if TYPE_CHECKING:
    from sheetsync.emulator.google import GoogleEmulator


def _body(request: Request) -> dict[str, Any]:
    if not request.body:
        return {}
    body = request.json()
    if not isinstance(body, dict):
        raise bad_request("Invalid JSON payload received.")
    return body


def spreadsheets_get(emu: GoogleEmulator, request: Request, sid: str) -> Any:
    return google_spreadsheet.spreadsheet_json(emu.book(sid))


def batch_update(emu: GoogleEmulator, request: Request, sid: str) -> Any:
    body = _body(request)
    return emu.mutate(sid, lambda book: google_batch.batch_update(book, body))


def on_book(emu: GoogleEmulator, request: Request, sid: str, op: Callable[..., Any]) -> Any:
    return op(emu.book(sid), _body(request))


def in_place(
    emu: GoogleEmulator, request: Request, sid: str, plan: Callable[..., list[Write]]
) -> Any:
    """A values batch write: every range checked first, then written without a book copy."""
    body = _body(request)
    return emu.mutate_in_place(sid, lambda book: plan(book, body), google_value_writes.apply_batch)


def values_get(emu: GoogleEmulator, request: Request, sid: str, rng: str) -> Any:
    bounds = emu.book(sid).resolve(rng)
    major = check_major(request.arg("majorDimension"))
    return google_values.read(bounds, major, check_render(request.arg("valueRenderOption")))


def batch_get(emu: GoogleEmulator, request: Request, sid: str) -> Any:
    book = emu.book(sid)
    major = check_major(request.arg("majorDimension"))
    option = check_render(request.arg("valueRenderOption"))
    answer = google_values.batch_get(book, request.query.get("ranges", []), major, option)
    emu.count_cells(answer.get("valueRanges", []))
    return answer


def _write_options(request: Request, body: dict[str, Any]) -> Options:
    return Options(
        major=check_major(body.get("majorDimension")),
        user_entered=input_option(request.arg("valueInputOption")),
        include_values=truthy(request.arg("includeValuesInResponse")),
        response_render=check_render(request.arg("responseValueRenderOption")),
    )


def values_update(emu: GoogleEmulator, request: Request, sid: str, rng: str) -> Any:
    emu.book(sid)
    body = _body(request)
    opts = _write_options(request, body)
    values = body.get("values")
    return emu.mutate_in_place(
        sid,
        lambda book: google_value_writes.plan_update(book, rng, values, opts),
        google_value_writes.apply_update,
    )


def values_append(emu: GoogleEmulator, request: Request, sid: str, rng: str) -> Any:
    emu.book(sid)
    body = _body(request)
    opts = _write_options(request, body)
    mode = request.arg("insertDataOption") or "OVERWRITE"
    if mode not in ("OVERWRITE", "INSERT_ROWS"):
        raise bad_request(f"Invalid value for insertDataOption: {mode}")
    values = body.get("values")
    return emu.mutate(
        sid, lambda book: google_value_writes.append(book, rng, values, opts, mode == "INSERT_ROWS")
    )


def values_clear(emu: GoogleEmulator, request: Request, sid: str, rng: str) -> Any:
    def change(book: Any) -> dict[str, Any]:
        cleared = google_value_writes.clear(book.resolve(rng))
        return {"spreadsheetId": book.spreadsheet_id, "clearedRange": cleared}

    return emu.mutate(sid, change)


def batch_clear(emu: GoogleEmulator, request: Request, sid: str) -> Any:
    ranges = _body(request).get("ranges") or []
    if not isinstance(ranges, list) or not all(isinstance(r, str) for r in ranges):
        raise bad_request("ranges must be a list of A1 ranges.")

    def change(book: Any) -> dict[str, Any]:
        bounds = [book.resolve(r) for r in ranges]  # all parsed before any is cleared
        cleared = [google_value_writes.clear(b) for b in bounds]
        return {"spreadsheetId": book.spreadsheet_id, "clearedRanges": cleared}

    return emu.mutate(sid, change)


def metadata_get(emu: GoogleEmulator, request: Request, sid: str, metadata_id: str) -> Any:
    return google_meta.get(emu.book(sid), metadata_id)


# -- Drive handlers -------------------------------------------------------------------
def drive_list(emu: GoogleEmulator, request: Request) -> Any:
    query = request.arg("q")
    books = [b for b in emu.visible_books() if google_drive.matches(query, b)]
    files = [google_drive.file_json(b, emu.caller) for b in books]
    resource = {"kind": "drive#fileList", "incompleteSearch": False, "files": files}
    fields = google_drive.parse_fields(request.arg("fields") or google_drive.DEFAULT_LIST_FIELDS)
    return google_drive.select(resource, fields)


def drive_get(emu: GoogleEmulator, request: Request, file_id: str) -> Any:
    book = emu.book(file_id, drive=True)
    fields = google_drive.parse_fields(request.arg("fields") or google_drive.DEFAULT_FILE_FIELDS)
    return google_drive.select(google_drive.file_json(book, emu.caller), fields)


def drive_create(emu: GoogleEmulator, request: Request) -> Any:
    body = _body(request)
    if body.get("mimeType") != google_drive.SHEETS_MIME:
        raise google_drive.drive_error(400, "The emulator creates spreadsheets only.", "invalid")
    name = str(body.get("name") or "Untitled spreadsheet")
    book = emu.new_book(name, {}, 1000, 26, emu.caller)
    fields = google_drive.parse_fields(request.arg("fields") or google_drive.DEFAULT_FILE_FIELDS)
    return google_drive.select(google_drive.file_json(book, emu.caller), fields)


def drive_delete(emu: GoogleEmulator, request: Request, file_id: str) -> Any:
    emu.book(file_id, drive=True)
    emu.delete_spreadsheet(file_id)
    return Response(204, None)
