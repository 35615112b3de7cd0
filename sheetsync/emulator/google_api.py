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
    google_changes,
    google_handlers,
    google_meta,
    google_value_writes,
    google_values,
)
from sheetsync.emulator._http import Request
from sheetsync.emulator.google_auth import DRIVE_READ, DRIVE_WRITE, SHEETS_READ, SHEETS_WRITE

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
            return Route("drive.files.list", DRIVE, DRIVE_READ, None, google_handlers.drive_list)
        if method == "POST":
            return Route(
                "drive.files.create", DRIVE, DRIVE_WRITE, None, google_handlers.drive_create
            )
    elif path.startswith(DRIVE_FILES + "/"):
        file_id = unquote(path[len(DRIVE_FILES) + 1 :])
        if "/" not in file_id and method == "GET":
            run = partial(google_handlers.drive_get, file_id=file_id)
            return Route("drive.files.get", DRIVE, DRIVE_READ, None, run)
        if "/" not in file_id and method == "DELETE":
            run = partial(google_handlers.drive_delete, file_id=file_id)
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
            return _read("spreadsheets.get", partial(google_handlers.spreadsheets_get, sid=sid))
        if method == "POST" and verb == "batchUpdate":
            return _write(
                "spreadsheets.batchUpdate", partial(google_handlers.batch_update, sid=sid)
            )
        return None
    sid = head
    if tail.startswith("values/"):
        return _values_route(method, sid, tail[len("values/") :])
    verbs: dict[tuple[str, str], Route] = {
        ("GET", "values:batchGet"): _read(
            "values.batchGet", partial(google_handlers.batch_get, sid=sid)
        ),
        ("POST", "values:batchUpdate"): _write(
            "values.batchUpdate",
            partial(google_handlers.in_place, sid=sid, plan=google_value_writes.plan_batch_update),
        ),
        ("POST", "values:batchClear"): _write(
            "values.batchClear", partial(google_handlers.batch_clear, sid=sid)
        ),
        ("POST", "values:batchGetByDataFilter"): _read(
            "values.batchGetByDataFilter",
            partial(google_handlers.on_book, sid=sid, op=google_values.batch_get_by_filter),
        ),
        ("POST", "values:batchUpdateByDataFilter"): _write(
            "values.batchUpdateByDataFilter",
            partial(
                google_handlers.in_place,
                sid=sid,
                plan=google_value_writes.plan_batch_update_by_filter,
            ),
        ),
        ("POST", "developerMetadata:search"): _read(
            "developerMetadata.search",
            partial(google_handlers.on_book, sid=sid, op=google_meta.search),
        ),
    }
    if method == "GET" and tail.startswith("developerMetadata/"):
        run = partial(
            google_handlers.metadata_get, sid=sid, metadata_id=tail[len("developerMetadata/") :]
        )
        verbs[method, tail] = _read("developerMetadata.get", run)
    return verbs.get((method, tail))


def _values_route(method: str, sid: str, encoded: str) -> Route | None:
    verb = ""
    for candidate in ("append", "clear"):
        if encoded.endswith(":" + candidate):
            encoded, verb = encoded[: -len(candidate) - 1], candidate
    rng = unquote(encoded)
    if method == "GET" and not verb:
        return _read("values.get", partial(google_handlers.values_get, sid=sid, rng=rng))
    if method == "PUT" and not verb:
        return _write("values.update", partial(google_handlers.values_update, sid=sid, rng=rng))
    if method == "POST" and verb == "append":
        return _write("values.append", partial(google_handlers.values_append, sid=sid, rng=rng))
    if method == "POST" and verb == "clear":
        return _write("values.clear", partial(google_handlers.values_clear, sid=sid, rng=rng))
    return None
