"""A local Google Sheets v4 + Drive v3 + OAuth token server for tests and demos.

    emu = GoogleEmulator(reads_per_minute=60, writes_per_minute=60, clock=fake_clock)
    root = emu.start()                    # http://127.0.0.1:PORT
    sid = emu.create_spreadsheet("Queue", {"Queue": [["url", "Status"]]})
    emu.write_service_account_file(tmp / "key.json")   # token_uri -> {root}/token

Point gspread at `root` with an HTTPClient that rewrites `https://sheets.googleapis.com`
and `https://www.googleapis.com`. Every API call needs a bearer token from `/token`
whose scopes cover it; Sheets calls count toward per-minute read/write quotas; people's
edits (`set_cell`, `insert_rows`, `sort`, ...) happen between calls like in a real sheet.
Semantics follow /work/shared/docs/SHEETS_API.md; the modules beside this one hold them:
`google_a1` (ranges), `grid` and `tab` (model), `google_cells`, `google_values` and
`google_value_writes`, `google_spreadsheet` and `google_batch` (spreadsheets.get and
batchUpdate), `google_meta` (developer metadata), `google_drive`, `google_auth`,
`google_quota` (per-user and per-project quotas), `google_api` (routes),
`google_handlers`, `google_people` (fixtures and human edits), `google_controls`
(counters and switches for tests).
"""

from __future__ import annotations

import argparse
import collections
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sheetsync.emulator import google_drive
from sheetsync.emulator._http import (
    EmulatorServer,
    JsonBody,
    Request,
    Response,
    serve_until_interrupted,
)
from sheetsync.emulator.credentials import (
    DEFAULT_CLIENT_EMAIL,
    generate_service_account_info,
    write_key_file,
)
from sheetsync.emulator.google_a1 import ApiError
from sheetsync.emulator.google_api import Route, route
from sheetsync.emulator.google_auth import (
    INVALID_CREDENTIALS,
    MISSING_CREDENTIALS,
    TOKEN_LIFETIME,
    Grant,
    GrantError,
    grant,
    insufficient_scopes,
    unauthenticated,
)
from sheetsync.emulator.google_changes import ChangeLog
from sheetsync.emulator.google_controls import ControlsMixin
from sheetsync.emulator.google_people import PeopleMixin
from sheetsync.emulator.google_quota import Meter, quota_error
from sheetsync.emulator.grid import MAX_CELLS, Book

T = TypeVar("T")

_STATUS = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", INVALID_CREDENTIALS),
    403: ("PERMISSION_DENIED", "The caller does not have permission"),
    404: ("NOT_FOUND", "Requested entity was not found."),
    408: ("DEADLINE_EXCEEDED", "Request timed out."),
    409: ("ABORTED", "The operation was aborted."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    500: ("INTERNAL", "Internal error encountered."),
    502: ("UNAVAILABLE", "Bad Gateway"),
    503: ("UNAVAILABLE", "The service is currently unavailable."),
    504: ("DEADLINE_EXCEEDED", "The service was unable to fulfil the request in time."),
}


class GoogleEmulator(ControlsMixin, PeopleMixin, EmulatorServer):
    """Google Sheets + Drive + OAuth token endpoint on 127.0.0.1, thread-safe."""

    gzip_when_asked = True

    def __init__(
        self,
        reads_per_minute: int | None = None,
        writes_per_minute: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        project_reads_per_minute: int | None = None,
        project_writes_per_minute: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        enforce_scopes: bool = True,
        max_cells: int = MAX_CELLS,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(host, port)
        self.meter = Meter(
            clock,
            {"read": reads_per_minute, "write": writes_per_minute},
            {"read": project_reads_per_minute, "write": project_writes_per_minute},
        )
        self.clock = clock
        self.wall_clock = wall_clock
        self.enforce_scopes = enforce_scopes
        self.max_cells = max_cells
        self.tokens: dict[str, Grant] = {}
        self._books: dict[str, Book] = {}
        self._denied: set[str] = set()
        self._counts: collections.Counter[str] = collections.Counter()
        self._user_reads: collections.Counter[str] = collections.Counter()
        self._shared: dict[str, frozenset[str]] = {}
        self.changes = ChangeLog(clock)
        self._caller = ""
        """The client_email of the request being answered (requests are served one by one)."""
        self._last_modified = 0.0

    def __enter__(self) -> GoogleEmulator:
        self.start()
        return self

    # -- HTTP ------------------------------------------------------------------------
    def error_body(self, status: int, request: Request) -> JsonBody | str:
        """Google-shaped error JSON (OAuth-shaped on /token, Drive-shaped on Drive)."""
        path = request.path
        if path == "/token":
            error = "internal_failure" if status >= 500 else "invalid_request"
            return {"error": error, "error_description": f"HTTP {status}"}
        if status == 429 and path.startswith("/v4/"):
            kind = "Read" if request.method == "GET" else "Write"
            return quota_error(kind).body()
        name, message = _STATUS.get(status, ("UNKNOWN", f"HTTP {status}"))
        if path.startswith("/drive/"):
            return google_drive.drive_error(status, message, name.lower()).body()
        return ApiError(status, message, name).body()

    def handle(self, request: Request) -> Response:
        """Authenticate, count, apply quotas, then answer the endpoint."""
        if request.path == "/token" and request.method == "POST":
            return self._token(request)
        found = route(request)
        if found is None:
            body = ApiError(404, f"Not found: {request.method} {request.path}", "NOT_FOUND")
            return Response(404, body.body())
        with self.lock:
            try:
                self._authorize(request, found)
                self._counts[found.name] += 1
                self._take_quota(found)
                result = found.run(self, request)
            except ApiError as exc:
                headers = {}
                if exc.code == 401:
                    headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
                return Response(exc.code, exc.body(), headers)
        return result if isinstance(result, Response) else Response(200, result)

    def _token(self, request: Request) -> Response:
        with self.lock:
            self._counts["token"] += 1
            try:
                issued = grant(request.body)
            except GrantError as exc:
                return Response(400, exc.body())
            self.tokens[issued.token] = issued
        body = {"access_token": issued.token, "expires_in": TOKEN_LIFETIME, "token_type": "Bearer"}
        return Response(200, body)

    def _authorize(self, request: Request, found: Route) -> None:
        header = request.headers.get("authorization", "")
        if not header:
            raise unauthenticated(MISSING_CREDENTIALS)
        scheme, _, token = header.partition(" ")
        issued = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if issued is None:
            raise unauthenticated(INVALID_CREDENTIALS)
        if self.enforce_scopes and not issued.scopes & found.scopes:
            raise insufficient_scopes(found.service, found.service.startswith("drive"))
        self._caller = issued.client_email

    def _take_quota(self, found: Route) -> None:
        """Google meters each user (a service account) and each Cloud project per minute."""
        if found.quota is None:
            return
        if found.quota == "read":
            self._user_reads[self._caller] += 1
        self.meter.take(found.quota, self._caller)

    # -- state used by the routes ---------------------------------------------------
    def book(self, spreadsheet_id: str, *, drive: bool = False) -> Book:
        """The spreadsheet a request names: 404 when unknown, 403 (Drive: 404) when denied."""
        found = self._books.get(spreadsheet_id)
        denied = not self._allowed(spreadsheet_id)
        if found is None or (drive and denied):
            if drive:
                raise google_drive.not_found(spreadsheet_id)
            raise ApiError(404, "Requested entity was not found.", "NOT_FOUND")
        if denied:
            raise ApiError(403, "The caller does not have permission", "PERMISSION_DENIED")
        return found

    def visible_books(self) -> list[Book]:
        """Spreadsheets the caller may see in Drive, oldest first."""
        return [b for sid, b in self._books.items() if self._allowed(sid)]

    def visible(self, spreadsheet_id: str) -> bool:
        """Whether the caller may see this file in Drive."""
        return spreadsheet_id in self._books and self._allowed(spreadsheet_id)

    def file_json(self, spreadsheet_id: str) -> dict[str, Any]:
        """Drive's file resource of a spreadsheet, as the caller sees it."""
        return google_drive.file_json(self._books[spreadsheet_id], self._caller)

    @property
    def caller(self) -> str:
        """The service account whose request is being answered."""
        return self._caller

    def _allowed(self, spreadsheet_id: str) -> bool:
        shared = self._shared.get(spreadsheet_id)
        if shared is not None and self._caller not in shared:
            return False
        return spreadsheet_id not in self._denied

    def mutate(self, spreadsheet_id: str, change: Callable[[Book], Any]) -> Any:
        """Run `change` on a copy of the book; keep the copy only if it succeeds."""
        work = self.book(spreadsheet_id).copy()
        result = change(work)
        work.check_cells()
        work.prune_metadata()
        self._touch(work, self._caller)
        self._books[spreadsheet_id] = work
        return result

    def mutate_in_place(
        self, spreadsheet_id: str, plan: Callable[[Book], T], apply: Callable[[Book, T], Any]
    ) -> Any:
        """`mutate` without the copy, for values writes: `plan` checks everything and
        changes nothing, then `apply` writes (undoing itself if it fails). Values writes
        keep the grid's size, rows and metadata, so the checks `mutate` runs after the
        change give the same answers before it, and an already pruned book stays pruned.
        The lock (held by `handle` for the whole request) keeps others from seeing a half
        applied batch, as the copy swap did."""
        with self.lock:
            book = self.book(spreadsheet_id)
            planned = plan(book)
            book.check_cells()
            result = apply(book, planned)
            self._touch(book, self._caller)
            return result

    def write_service_account_file(
        self, path: str | os.PathLike[str], client_email: str = DEFAULT_CLIENT_EMAIL
    ) -> Path:
        """Write a 0600 service-account key file whose token_uri is this emulator's."""
        info = generate_service_account_info(f"{self.root_url}/token", client_email)
        return write_key_file(path, info)


def main(argv: list[str] | None = None) -> None:
    """`python -m sheetsync.emulator.google --port 8085`: serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8085)
    parser.add_argument("--key-file", help="write a service-account key file for this server")
    parser.add_argument("--spreadsheet", help="create a spreadsheet with this title")
    args = parser.parse_args(argv)
    emu = GoogleEmulator(host=args.host, port=args.port)
    root = emu.start()
    print(root, flush=True)
    if args.key_file:
        print(f"key file: {emu.write_service_account_file(args.key_file)}", flush=True)
    if args.spreadsheet:
        print(f"spreadsheet: {emu.create_spreadsheet(args.spreadsheet)}", flush=True)
    serve_until_interrupted(emu)


if __name__ == "__main__":
    main()
