"""Routing of the Google emulator: which method a request is, its scopes and quota bucket.

The range in `/values/{range}:verb` is percent-encoded while `:append`/`:clear` are
literal, so the verb is split off the raw path before the range is decoded (a `%2F`
or `%3A` inside a tab title must not change the route).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from sheetsync.emulator import (
    google_batch,
    google_changes,
    google_drive,
    google_meta,
    google_values,
)
from sheetsync.emulator._http import Request, Response
from sheetsync.emulator.google_a1 import bad_request
from sheetsync.emulator.google_auth import DRIVE_READ, DRIVE_WRITE, SHEETS_READ, SHEETS_WRITE
from sheetsync.emulator.google_values import (
    Options,
    Write,
    check_major,
    check_render,
    input_option,
    truthy,
)

if TYPE_CHECKING:
    from sheetsync.emulator.google import GoogleEmulator

Handler = Callable[["GoogleEmulator", Request], Any]

SHEETS = "sheets.googleapis.com"
DRIVE = "drive.googleapis.com"
SHEETS_PREFIX = "/v4/spreadsheets/"
DRIVE_FILES = "/drive/v3/files"
DRIVE_CHANGES = "/drive/v3/changes"

READ_METHODS = (
    "spreadsheets.get",
    "values.get",
    "values.batchGet",
    "values.batchGetByDataFilter",
    "developerMetadata.get",
    "developerMetadata.search",
)
WRITE_METHODS = (
    "spreadsheets.batchUpdate",
    "values.update",
    "values.append",
    "values.batchUpdate",
    "values.clear",
    "values.batchClear",
    "values.batchUpdateByDataFilter",
)


@dataclass(frozen=True)
class Route:
    """What a request is: counter name, service, scopes that allow it, quota bucket."""

    name: str
    service: str
    scopes: frozenset[str]
    quota: str | None
    run: Handler


def route(request: Request) -> Route | None:
    """The route of a request, or None (404) for anything the emulator does not serve."""
    path, method = request.path, request.method
    if path.startswith(SHEETS_PREFIX):
        return _sheets_route(method, path[len(SHEETS_PREFIX) :])
    if path.startswith(DRIVE_CHANGES):
        return CHANGES.get((method, path))
    return _files_route(method, path)


def _files_route(method: str, path: str) -> Route | None:
    if path == DRIVE_FILES:
        if method == "GET":
            return Route("drive.files.list", DRIVE, DRIVE_READ, None, _drive_list)
        if method == "POST":
            return Route("drive.files.create", DRIVE, DRIVE_WRITE, None, _drive_create)
    elif path.startswith(DRIVE_FILES + "/"):
        file_id = unquote(path[len(DRIVE_FILES) + 1 :])
        if "/" not in file_id and method == "GET":
            run = partial(_drive_get, file_id=file_id)
            return Route("drive.files.get", DRIVE, DRIVE_READ, None, run)
        if "/" not in file_id and method == "DELETE":
            run = partial(_drive_delete, file_id=file_id)
            return Route("drive.files.delete", DRIVE, DRIVE_WRITE, None, run)
    return None


CHANGES = {
    ("GET", DRIVE_CHANGES): Route(
        "drive.changes.list", DRIVE, DRIVE_READ, None, google_changes.list_changes
    ),
    ("GET", DRIVE_CHANGES + "/startPageToken"): Route(
        "drive.changes.getStartPageToken", DRIVE, DRIVE_READ, None, google_changes.start_page_token
    ),
}
"""Drive's changes feed (`google_changes`)."""


def _read(name: str, run: Handler) -> Route:
    return Route(name, SHEETS, SHEETS_READ, "read", run)


def _write(name: str, run: Handler) -> Route:
    return Route(name, SHEETS, SHEETS_WRITE, "write", run)


def _sheets_route(method: str, rest: str) -> Route | None:
    head, slash, tail = rest.partition("/")
    if not slash:
        sid, _, verb = head.partition(":")
        if method == "GET" and not verb:
            return _read("spreadsheets.get", partial(_spreadsheets_get, sid=sid))
        if method == "POST" and verb == "batchUpdate":
            return _write("spreadsheets.batchUpdate", partial(_batch_update, sid=sid))
        return None
    sid = head
    if tail.startswith("values/"):
        return _values_route(method, sid, tail[len("values/") :])
    verbs: dict[tuple[str, str], Route] = {
        ("GET", "values:batchGet"): _read("values.batchGet", partial(_batch_get, sid=sid)),
        ("POST", "values:batchUpdate"): _write(
            "values.batchUpdate",
            partial(_in_place, sid=sid, plan=google_values.plan_batch_update),
        ),
        ("POST", "values:batchClear"): _write("values.batchClear", partial(_batch_clear, sid=sid)),
        ("POST", "values:batchGetByDataFilter"): _read(
            "values.batchGetByDataFilter",
            partial(_on_book, sid=sid, op=google_values.batch_get_by_filter),
        ),
        ("POST", "values:batchUpdateByDataFilter"): _write(
            "values.batchUpdateByDataFilter",
            partial(_in_place, sid=sid, plan=google_values.plan_batch_update_by_filter),
        ),
        ("POST", "developerMetadata:search"): _read(
            "developerMetadata.search", partial(_on_book, sid=sid, op=google_meta.search)
        ),
    }
    if method == "GET" and tail.startswith("developerMetadata/"):
        run = partial(_metadata_get, sid=sid, metadata_id=tail[len("developerMetadata/") :])
        verbs[method, tail] = _read("developerMetadata.get", run)
    return verbs.get((method, tail))


def _values_route(method: str, sid: str, encoded: str) -> Route | None:
    verb = ""
    for candidate in ("append", "clear"):
        if encoded.endswith(":" + candidate):
            encoded, verb = encoded[: -len(candidate) - 1], candidate
    rng = unquote(encoded)
    if method == "GET" and not verb:
        return _read("values.get", partial(_values_get, sid=sid, rng=rng))
    if method == "PUT" and not verb:
        return _write("values.update", partial(_values_update, sid=sid, rng=rng))
    if method == "POST" and verb == "append":
        return _write("values.append", partial(_values_append, sid=sid, rng=rng))
    if method == "POST" and verb == "clear":
        return _write("values.clear", partial(_values_clear, sid=sid, rng=rng))
    return None


# -- Sheets handlers ------------------------------------------------------------------
def _body(request: Request) -> dict[str, Any]:
    if not request.body:
        return {}
    body = request.json()
    if not isinstance(body, dict):
        raise bad_request("Invalid JSON payload received.")
    return body


def _spreadsheets_get(emu: GoogleEmulator, request: Request, sid: str) -> Any:
    return google_batch.spreadsheet_json(emu.book(sid))


def _batch_update(emu: GoogleEmulator, request: Request, sid: str) -> Any:
    body = _body(request)
    return emu.mutate(sid, lambda book: google_batch.batch_update(book, body))


def _on_book(emu: GoogleEmulator, request: Request, sid: str, op: Callable[..., Any]) -> Any:
    return op(emu.book(sid), _body(request))


def _in_place(
    emu: GoogleEmulator, request: Request, sid: str, plan: Callable[..., list[Write]]
) -> Any:
    """A values batch write: every range checked first, then written without a book copy."""
    body = _body(request)
    return emu.mutate_in_place(sid, lambda book: plan(book, body), google_values.apply_batch)


def _values_get(emu: GoogleEmulator, request: Request, sid: str, rng: str) -> Any:
    bounds = emu.book(sid).resolve(rng)
    major = check_major(request.arg("majorDimension"))
    return google_values.read(bounds, major, check_render(request.arg("valueRenderOption")))


def _batch_get(emu: GoogleEmulator, request: Request, sid: str) -> Any:
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


def _values_update(emu: GoogleEmulator, request: Request, sid: str, rng: str) -> Any:
    emu.book(sid)
    body = _body(request)
    opts = _write_options(request, body)
    values = body.get("values")
    return emu.mutate_in_place(
        sid,
        lambda book: google_values.plan_update(book, rng, values, opts),
        google_values.apply_update,
    )


def _values_append(emu: GoogleEmulator, request: Request, sid: str, rng: str) -> Any:
    emu.book(sid)
    body = _body(request)
    opts = _write_options(request, body)
    mode = request.arg("insertDataOption") or "OVERWRITE"
    if mode not in ("OVERWRITE", "INSERT_ROWS"):
        raise bad_request(f"Invalid value for insertDataOption: {mode}")
    values = body.get("values")
    return emu.mutate(
        sid, lambda book: google_values.append(book, rng, values, opts, mode == "INSERT_ROWS")
    )


def _values_clear(emu: GoogleEmulator, request: Request, sid: str, rng: str) -> Any:
    def change(book: Any) -> dict[str, Any]:
        cleared = google_values.clear(book.resolve(rng))
        return {"spreadsheetId": book.spreadsheet_id, "clearedRange": cleared}

    return emu.mutate(sid, change)


def _batch_clear(emu: GoogleEmulator, request: Request, sid: str) -> Any:
    ranges = _body(request).get("ranges") or []
    if not isinstance(ranges, list) or not all(isinstance(r, str) for r in ranges):
        raise bad_request("ranges must be a list of A1 ranges.")

    def change(book: Any) -> dict[str, Any]:
        bounds = [book.resolve(r) for r in ranges]  # all parsed before any is cleared
        cleared = [google_values.clear(b) for b in bounds]
        return {"spreadsheetId": book.spreadsheet_id, "clearedRanges": cleared}

    return emu.mutate(sid, change)


def _metadata_get(emu: GoogleEmulator, request: Request, sid: str, metadata_id: str) -> Any:
    return google_meta.get(emu.book(sid), metadata_id)


# -- Drive handlers -------------------------------------------------------------------
def _drive_list(emu: GoogleEmulator, request: Request) -> Any:
    query = request.arg("q")
    books = [b for b in emu.visible_books() if google_drive.matches(query, b)]
    files = [google_drive.file_json(b, emu.caller) for b in books]
    resource = {"kind": "drive#fileList", "incompleteSearch": False, "files": files}
    fields = google_drive.parse_fields(request.arg("fields") or google_drive.DEFAULT_LIST_FIELDS)
    return google_drive.select(resource, fields)


def _drive_get(emu: GoogleEmulator, request: Request, file_id: str) -> Any:
    book = emu.book(file_id, drive=True)
    fields = google_drive.parse_fields(request.arg("fields") or google_drive.DEFAULT_FILE_FIELDS)
    return google_drive.select(google_drive.file_json(book, emu.caller), fields)


def _drive_create(emu: GoogleEmulator, request: Request) -> Any:
    body = _body(request)
    if body.get("mimeType") != google_drive.SHEETS_MIME:
        raise google_drive.drive_error(400, "The emulator creates spreadsheets only.", "invalid")
    name = str(body.get("name") or "Untitled spreadsheet")
    book = emu.new_book(name, {}, 1000, 26, emu.caller)
    fields = google_drive.parse_fields(request.arg("fields") or google_drive.DEFAULT_FILE_FIELDS)
    return google_drive.select(google_drive.file_json(book, emu.caller), fields)


def _drive_delete(emu: GoogleEmulator, request: Request, file_id: str) -> Any:
    emu.book(file_id, drive=True)
    emu.delete_spreadsheet(file_id)
    return Response(204, None)
