"""The Google Sheets adapter: one batched read of tabs, one batched RAW write of cells.

Built on gspread's low-level `HTTPClient` (not its Worksheet objects, which re-fetch
metadata on every call). Every request passes through `PacedHTTPClient.request`:
the URL is rewritten to the configured base URL, the identity's shared read or write
budget is taken, and reads and absolute grid resizes are retried on 429/5xx/connection
failures a bounded number of times, with jittered backoff honouring `Retry-After`.

Value writes are never retried here, and never wait long for the write budget: they
address rows by position, and positions taken from a read go stale while people edit.
A write that cannot go now fails the cycle; the next cycle reads again and heals it.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import gspread
import requests
from google.auth.exceptions import GoogleAuthError, TransportError
from google.oauth2 import service_account
from gspread.urls import SPREADSHEET_VALUES_BATCH_URL

from sheetsync.adapters.google.lean import AnswerError, value_ranges
from sheetsync.adapters.google.sessions import remember_environment
from sheetsync.adapters.pacing import Pace, fingerprint, limiter_for
from sheetsync.config import read_secret_file
from sheetsync.config.endpoints import url_problem
from sheetsync.config.google_settings import GoogleSettings
from sheetsync.core.a1 import column_letter, quote_title
from sheetsync.core.backoff import Backoff, parse_retry_after
from sheetsync.core.plan import CellWrite
from sheetsync.core.telemetry import current
from sheetsync.errors import ConfigError, QuotaError, RangeError, SheetError, UnsureWriteError

log = logging.getLogger("sheetsync.sheet")
T = TypeVar("T")

SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
"""Only the spreadsheets scope: gspread's default would also grant full Drive access."""
GOOGLE_HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")
DEFAULT_CONNECT_TIMEOUT = 10.0
USER_AGENT = "sheetsync (gzip)"
"""Google sends gzip only to clients whose User-Agent contains `gzip`."""
MAX_BACKOFF_SECONDS = 64.0
RETRY = Backoff(1.0, MAX_BACKOFF_SECONDS, 0.5, 1.0, MAX_BACKOFF_SECONDS * 4)
"""Retries of one Sheets request: 0.5-1.5 s doubling to 32-96 s; Retry-After cut to 256 s."""
MAX_WRITE_WAIT_SECONDS = 2.0
"""A positional write waits at most this long for the write budget, else it is postponed."""
_VALUE_WRITE = re.compile(r"/values:batchUpdate$")
_READ_PATH = re.compile(r"/v4/spreadsheets/[^/:]+(/values(/[^:]*|:batchGet))?$")


class SheetPort(Protocol):
    """What the engine needs from Google Sheets."""

    def read_tabs(self, spreadsheet_id: str, titles: Sequence[str]) -> dict[str, list[list[str]]]:
        """Every tab's values (formatted), in one read."""
        ...

    def read_tabs_reduced(
        self,
        spreadsheet_id: str,
        titles: Sequence[str],
        reduce: Callable[[str, Iterator[list[str]]], T],
    ) -> dict[str, T]:
        """`read_tabs`, each tab's rows handed to `reduce(title, rows)` as they are decoded."""
        ...

    def read_ranges(self, spreadsheet_id: str, ranges: Sequence[str]) -> list[list[list[str]]]:
        """A1 ranges' formatted values, column by column, in one read."""
        ...

    def write_cells(
        self,
        spreadsheet_id: str,
        cells: Mapping[str, Sequence[CellWrite]],
        reach: Mapping[str, int] | None = None,
    ) -> Echo:
        """Write cells of several tabs in one batched RAW write; return every written row
        as it is right after the write (from column A, at least `reach[tab]` wide)."""
        ...

    def ensure_columns(self, spreadsheet_id: str, title: str, count: int) -> None:
        """Grow a tab's grid to at least `count` columns."""
        ...


class PacedHTTPClient(gspread.HTTPClient):
    """gspread's HTTP client, redirected to `base_url`, paced, with bounded retries."""

    base_url = "https://sheets.googleapis.com"
    read_limiter: Pace | None = None
    write_limiter: Pace | None = None
    project_limiters: dict[str, Pace] = {}  # noqa: RUF012 (set per bound class)
    """The Cloud project's budgets ("read", "write"), shared by its identities."""
    retries = 5
    sleep: Callable[[float], None] = staticmethod(time.sleep)
    rand: Callable[[], float] = staticmethod(random.random)

    def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> requests.Response:
        """Send one request, retrying 429/5xx/connection errors a bounded number of times."""
        url = self._url(endpoint)
        attempt = 0
        while True:
            attempt += 1
            self._pace(method, url)
            try:
                response = super().request(method, url, *args, **kwargs)
            except gspread.exceptions.APIError as exc:
                status = exc.response.status_code
                current().request("sheets", request_kind(method, url), str(status))
                if status != 429 and status < 500:
                    raise
                retry_after = parse_retry_after(exc.response.headers.get("Retry-After"))
                wait = RETRY.wait(attempt - 1, retry_after, self.rand())
                limiter = self._limiter(method, url)
                if status == 429 and limiter is not None and wait is not None:
                    limiter.penalize(wait)
                if wait is None or attempt > self.retries or _is_value_write(url):
                    raise
                log.info("Google answered %s; retry %d in %.1fs", status, attempt, wait)
            except (requests.ConnectionError, requests.Timeout) as exc:
                current().request("sheets", request_kind(method, url), "connection")
                if attempt > self.retries or _is_value_write(url):
                    raise
                wait = RETRY.delay(attempt - 1, self.rand())
                log.info(
                    "Google unreachable (%s); retry %d in %.1fs", type(exc).__name__, attempt, wait
                )
            else:
                current().request("sheets", request_kind(method, url), str(response.status_code))
                return response
            self.sleep(wait)

    def once(self, method: str, endpoint: str, **kwargs: Any) -> requests.Response:
        """One request, neither paced nor retried (a Drive look: the next tick retries)."""
        return super().request(method, self._url(endpoint), **kwargs)

    def _url(self, endpoint: str) -> str:
        if self.base_url.rstrip("/") not in GOOGLE_HOSTS:
            for host in GOOGLE_HOSTS:
                if endpoint.startswith(host):
                    return self.base_url.rstrip("/") + endpoint[len(host) :]
        return endpoint

    def _limiter(self, method: str, url: str) -> Pace | None:
        path = url.split("?", 1)[0]
        path = path[path.find("/v4/") :] if "/v4/" in path else ""
        if not path:
            return None
        if method.upper() == "GET" and _READ_PATH.search(path):
            return self.read_limiter
        return self.write_limiter

    def _pace(self, method: str, url: str) -> None:
        limiter = self._limiter(method, url)
        if limiter is not None:
            current().paced("sheets", limiter.acquire())
            shared = self.project_limiters.get("read" if limiter is self.read_limiter else "write")
            if shared is not None:
                current().paced("sheets", shared.acquire())


def request_kind(method: str, url: str) -> str:
    """A Sheets request's kind for metrics: `values.batchGet`, `metadata`, ..."""
    path = url.split("?", 1)[0]
    for suffix, kind in _KINDS:
        if path.endswith(suffix):
            return kind
    return "metadata" if method.upper() == "GET" and "/spreadsheets/" in path else "other"


_KINDS = (
    ("/values:batchGet", "values.batchGet"),
    ("/values:batchUpdate", "values.batchUpdate"),
    (":batchUpdate", "batchUpdate"),
)


def _is_value_write(url: str) -> bool:
    return _VALUE_WRITE.search(url.split("?", 1)[0]) is not None


Echo = dict[str, dict[int, list[str]]]
"""Rows as a write left them: tab -> row number -> cells from column A (trimmed, ragged)."""


def row_ranges(title: str, cells: Iterable[CellWrite], reach: int = 0) -> list[dict[str, Any]]:
    """Group cell writes into one range per row, from column A to the last written column
    (or `reach`, if further); `None` keeps the cells in between as they are.

    The whole width comes back in the write's answer, so the row it landed on is known.
    """
    by_row: dict[int, dict[int, str]] = {}
    for cell in cells:
        by_row.setdefault(cell.row, {})[cell.col] = cell.value
    data = []
    tab, letters = quote_title(title), {}
    for row, cols in sorted(by_row.items()):
        last = max(*cols, reach)
        if last not in letters:
            letters[last] = column_letter(last)
        values = [cols.get(c) for c in range(1, last + 1)]
        a1 = f"{tab}!A{row}:{letters[last]}{row}"
        data.append({"range": a1, "majorDimension": "ROWS", "values": [values]})
    return data


def _echo(where: Sequence[tuple[str, int]], answer: Mapping[str, Any]) -> Echo:
    """Each written row's cells from a batchUpdate answer (`includeValuesInResponse`):
    `where` names the tab and row of each range written, in order."""
    responses = answer.get("responses", [])
    if len(responses) != len(where):
        raise UnsureWriteError("Google's answer to a write does not list every written range")
    echo: Echo = {}
    for (title, number), response in zip(where, responses, strict=True):
        values = response.get("updatedData", {}).get("values", [[]])
        echo.setdefault(title, {})[number] = _strings(values[0] if values else [])
    return echo


@dataclass
class _Grid:
    sheet_id: int
    rows: int
    cols: int


class GoogleSheets:
    """One Google identity: its credentials, its shared pace, its cached sheet metadata."""

    def __init__(
        self,
        settings: GoogleSettings,
        key_path: Path,
        source: Path,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        key_label: str = "google.service_account_file",
        scopes: Sequence[str] = SCOPES,
    ) -> None:
        info = _load_key(key_path, source, key_label, allow_insecure=settings.allow_insecure_http)
        self.client_email = str(info.get("client_email", "the service account"))
        self.project_id = str(info.get("project_id", "")) or self.client_email
        """The Cloud project whose per-project budget this identity shares."""
        from sheetsync.redact import register_secret

        register_secret(str(info.get("private_key", "")))
        try:
            credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=list(scopes)
            )
        except (ValueError, KeyError) as exc:
            raise ConfigError(
                f"{source}: {key_label}: {key_path} is not a service-account key "
                f"({type(exc).__name__})"
            ) from None  # the parser's error may quote the private key it could not read
        identity = fingerprint(self.client_email)
        project = fingerprint(self.project_id)
        client_class = type(
            "BoundPacedHTTPClient",
            (PacedHTTPClient,),
            {
                "base_url": settings.api_base_url,
                "read_limiter": limiter_for(
                    f"google-read-{identity}", settings.reads_per_minute, clock=clock, sleep=sleep
                ),
                "write_limiter": limiter_for(
                    f"google-write-{identity}", settings.writes_per_minute, clock=clock, sleep=sleep
                ),
                "project_limiters": {
                    kind: limiter_for(
                        f"google-project-{kind}-{project}", limit, clock=clock, sleep=sleep
                    )
                    for kind, limit in (
                        ("read", settings.project_reads_per_minute),
                        ("write", settings.project_writes_per_minute),
                    )
                },
                "retries": settings.max_retries,
                "sleep": staticmethod(sleep),
            },
        )
        self.http: PacedHTTPClient = client_class(credentials)
        # Google compresses an answer only when asked like this: a big tab's columns are
        # 3 MB of JSON per 100,000 rows, about 250 KB gzipped
        self.http.session.headers.update({"User-Agent": USER_AGENT, "Accept-Encoding": "gzip"})
        remember_environment(self.http.session)
        self.http.set_timeout((DEFAULT_CONNECT_TIMEOUT, settings.timeout_seconds))
        self._grids: dict[tuple[str, str], _Grid] = {}

    # -- metadata -------------------------------------------------------------
    def grid(self, spreadsheet_id: str, title: str, *, refresh: bool = False) -> _Grid:
        """A tab's id and grid size (cached; one metadata read the first time).

        Titles match as Google matches them in ranges, ignoring case: the tab `queue`
        a cycle reads is the tab `Queue`, so `check` and the column resize find it too.
        """
        if refresh or self._find(spreadsheet_id, title) is None:
            meta = self._call(spreadsheet_id, title, self.http.fetch_sheet_metadata, spreadsheet_id)
            for sheet in meta.get("sheets", []):
                props = sheet.get("properties", {})
                grid = props.get("gridProperties", {})
                self._grids[(spreadsheet_id, props.get("title", ""))] = _Grid(
                    int(props.get("sheetId", 0)),
                    int(grid.get("rowCount", 0)),
                    int(grid.get("columnCount", 0)),
                )
        found = self._find(spreadsheet_id, title)
        if found is None:
            raise SheetError(
                f"spreadsheet {spreadsheet_id}: worksheet {title!r} does not exist"
                + self._tabs_hint(spreadsheet_id),
                "missing_tab",
                spreadsheet=spreadsheet_id,
                tab=title,
            )
        return found

    def _find(self, spreadsheet_id: str, title: str) -> _Grid | None:
        exact = self._grids.get((spreadsheet_id, title))
        if exact is not None:
            return exact
        folded = title.casefold()
        return next(
            (
                g
                for (sid, t), g in self._grids.items()
                if sid == spreadsheet_id and t.casefold() == folded
            ),
            None,
        )

    def _tabs_hint(self, spreadsheet_id: str) -> str:
        """`; its tabs: 'A', 'B'` from the cached metadata (no extra request), or ""."""
        titles = [t for sid, t in self._grids if sid == spreadsheet_id]
        return f"; its tabs: {', '.join(map(repr, titles))}" if titles else ""

    # -- SheetPort ------------------------------------------------------------
    def read_tabs(self, spreadsheet_id: str, titles: Sequence[str]) -> dict[str, list[list[str]]]:
        """Every tab's formatted values in one `values:batchGet`."""
        ranges = [quote_title(t) for t in titles]
        value_ranges = self._batch_get(spreadsheet_id, titles[0], ranges, "ROWS")
        return {
            title: [_strings(row) for row in vr.get("values", [])]
            for title, vr in zip(titles, value_ranges, strict=True)
        }

    def read_tabs_reduced(
        self,
        spreadsheet_id: str,
        titles: Sequence[str],
        reduce: Callable[[str, Iterator[list[str]]], T],
    ) -> dict[str, T]:
        """Every tab's formatted values in one `values:batchGet`, each tab's rows handed to
        `reduce(title, rows)` as they are decoded (`lean`): no big tab is whole in memory."""
        ranges = [quote_title(t) for t in titles]
        params = {"valueRenderOption": "FORMATTED_VALUE", "majorDimension": "ROWS"}
        url = SPREADSHEET_VALUES_BATCH_URL % spreadsheet_id
        response = self._call(
            spreadsheet_id,
            titles[0],
            self.http.request,
            "get",
            url,
            params={**params, "ranges": ranges},
        )
        try:
            text = response.content.decode("utf-8")
            del response
            made = value_ranges(text, len(titles), lambda i, rows: reduce(titles[i], rows))
        except (AnswerError, UnicodeDecodeError):  # not JSON, or not UTF-8: a proxy's page
            message = f"spreadsheet {spreadsheet_id}: Google answered something that is not JSON"
            raise SheetError(message, spreadsheet=spreadsheet_id, tab=titles[0]) from None
        return dict(zip(titles, made, strict=True))

    def read_ranges(self, spreadsheet_id: str, ranges: Sequence[str]) -> list[list[list[str]]]:
        """A1 ranges' formatted values in one `values:batchGet`, column-major.

        Column-major keeps a narrow read of a big tab small: one list per column
        instead of one single-cell list per row.
        """
        title = ranges[0].split("!", 1)[0].strip("'").replace("''", "'")
        value_ranges = self._batch_get(spreadsheet_id, title, ranges, "COLUMNS")
        return [[_strings(col) for col in vr.get("values", [])] for vr in value_ranges]

    def _batch_get(
        self, spreadsheet_id: str, title: str, ranges: Sequence[str], major: str
    ) -> list[dict[str, Any]]:
        """One `values:batchGet` of formatted values; its value ranges, one per range."""
        answer = self._call(
            spreadsheet_id,
            title,
            self.http.values_batch_get,
            spreadsheet_id,
            list(ranges),
            params={"valueRenderOption": "FORMATTED_VALUE", "majorDimension": major},
        )
        value_ranges: list[dict[str, Any]] = answer.get("valueRanges", [])
        if len(value_ranges) != len(ranges):
            message = f"spreadsheet {spreadsheet_id}: unexpected batchGet answer"
            raise SheetError(message, spreadsheet=spreadsheet_id, tab=title)
        return value_ranges

    def write_cells(
        self,
        spreadsheet_id: str,
        cells: Mapping[str, Sequence[CellWrite]],
        reach: Mapping[str, int] | None = None,
    ) -> Echo:
        """All cells of several tabs in one `values:batchUpdate` with RAW input; the answer
        carries every written row as the write left it (`includeValuesInResponse`)."""
        reach = reach or {}
        data: list[dict[str, Any]] = []
        where: list[tuple[str, int]] = []
        for title, tab_cells in cells.items():
            data += row_ranges(title, tab_cells, reach.get(title, 0))
            where += [(title, row) for row in sorted({c.row for c in tab_cells})]
        if not data:
            return {}
        limiters = [self.http.write_limiter, self.http.project_limiters.get("write")]
        delay = max((limiter.delay() for limiter in limiters if limiter is not None), default=0.0)
        if delay > MAX_WRITE_WAIT_SECONDS:
            raise SheetError(
                f"spreadsheet {spreadsheet_id}: the Google write budget is used up for "
                f"{delay:.0f}s; writing on the next cycle",
                spreadsheet=spreadsheet_id,
            )
        body = {
            "valueInputOption": "RAW",
            "data": data,
            "includeValuesInResponse": True,
            "responseValueRenderOption": "FORMATTED_VALUE",
        }
        title = next(iter(cells))
        answer = self._call(
            spreadsheet_id, title, self.http.values_batch_update, spreadsheet_id, body, write=True
        )
        return _echo(where, answer)

    def ensure_columns(self, spreadsheet_id: str, title: str, count: int) -> None:
        """Grow a tab to `count` columns (an absolute resize, safe to retry)."""
        grid = self.grid(spreadsheet_id, title, refresh=True)  # people delete columns too
        if grid.cols >= count:
            return
        body = {
            "requests": [
                {
                    "updateSheetProperties": {
                        "properties": {
                            "sheetId": grid.sheet_id,
                            "gridProperties": {"columnCount": count},
                        },
                        "fields": "gridProperties.columnCount",
                    }
                }
            ]
        }
        self._call(spreadsheet_id, title, self.http.batch_update, spreadsheet_id, body)
        grid.cols = count

    def _call(
        self,
        spreadsheet_id: str,
        title: str,
        func: Callable[..., Any],
        *args: Any,
        write: bool = False,
        **kwargs: Any,
    ) -> Any:
        """`func(*args, **kwargs)` with its failures as `SheetError`s; with `write`, a failure
        that leaves it open whether Google applied the write is an `UnsureWriteError`."""
        where: dict[str, Any] = {"spreadsheet": spreadsheet_id, "tab": title}
        # gspread's and requests' errors hold the request, whose headers carry the bearer
        # token (google-auth's TransportError: the signed key assertion), so they are not
        # kept as causes; the fields of the error raised instead say what happened
        try:
            return func(*args, **kwargs)
        except gspread.exceptions.APIError as exc:
            raise self._refusal(exc, spreadsheet_id, title, write=write) from None
        except TransportError as exc:
            raise SheetError(
                f"Google's token endpoint is unreachable ({_first_line(str(exc))[:120]})",
                "unreachable",
                **where,
            ) from None
        except GoogleAuthError as exc:  # the token endpoint's refusal: no secret in it
            raise SheetError(
                f"Google rejected the service-account credentials ({type(exc).__name__}: "
                f"{_first_line(str(exc))})",
                "auth",
                **where,
            ) from exc
        except requests.RequestException as exc:
            what = type(exc).__name__
            if write:
                raise UnsureWriteError(
                    f"spreadsheet {spreadsheet_id}: no answer to a write "
                    f"({what}); it may or may not have been applied",
                    **where,
                ) from None
            raise SheetError(
                f"spreadsheet {spreadsheet_id}: Google unreachable ({what})", "unreachable", **where
            ) from None
        except ValueError as exc:  # a 200 that is not JSON: a captive portal or a proxy page
            raise SheetError(
                f"spreadsheet {spreadsheet_id}: Google answered something that is not JSON",
                **where,
            ) from exc

    def _refusal(
        self, exc: gspread.exceptions.APIError, spreadsheet_id: str, title: str, *, write: bool
    ) -> SheetError:
        """Google's refusal as a `SheetError`; a 5xx to a write may have been applied."""
        status = exc.response.status_code
        if write and status >= 500:  # a gateway may answer after Google applied it
            return UnsureWriteError(
                f"spreadsheet {spreadsheet_id}: Google answered {status} to a write; "
                "it may or may not have been applied",
                status=status,
                spreadsheet=spreadsheet_id,
                tab=title,
            )
        hint = self._tabs_hint(spreadsheet_id)
        return _translate(exc, spreadsheet_id, title, self.client_email, hint)


def _strings(row: list[Any]) -> list[str]:
    """A row of cells as text; formatted values already are, so usually the row itself."""
    if set(map(type, row)) <= {str}:
        return row
    return [str(c) for c in row]


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:200] if text.strip() else ""


def _translate(
    exc: gspread.exceptions.APIError, spreadsheet_id: str, title: str, email: str, hint: str
) -> SheetError:
    """Google's refusal as a `SheetError` naming it; `hint` follows a missing tab's message."""
    status = exc.response.status_code
    message = _first_line(str(exc.error.get("message", "")))
    where = f"spreadsheet {spreadsheet_id}"
    fields: dict[str, Any] = {"status": status, "spreadsheet": spreadsheet_id, "tab": title}
    if status == 404:
        text = f"{where}: not found (deleted, or the id is wrong)"
        return SheetError(text, "not_found", **fields)
    if status == 403:
        text = f"{where}: permission denied; share it with {email} as Editor"
        return SheetError(text, "permission", **fields)
    if status == 429:
        retry_after = parse_retry_after(exc.response.headers.get("Retry-After"))
        text = f"{where}: Google quota exceeded ({message})"
        return QuotaError(text, retry_after=retry_after, **fields)
    # Google's answer body says which 400 it is: reading it is classification, as for axiom
    if status == 400 and "exceeds grid limits" in message:
        return RangeError(f"{where}: {message}", **fields)
    if status == 400 and "Unable to parse range" in message:
        text = f"{where}: worksheet {title!r} does not exist{hint}"
        return SheetError(text, "missing_tab", **fields)
    return SheetError(f"{where}: Google answered {status}: {message}", **fields)


def _load_key(key_path: Path, source: Path, label: str, *, allow_insecure: bool) -> dict[str, Any]:
    text = read_secret_file(key_path, label, source)
    try:
        info = json.loads(text)
    except ValueError:
        # not `from exc`: a JSONDecodeError keeps the whole key file in its `doc`
        raise ConfigError(f"{source}: {label}: {key_path} is not JSON") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise ConfigError(f"{source}: {label}: {key_path} is not a service-account key")
    token_uri = str(info.get("token_uri", ""))
    carries = "the signed key assertion"
    problem = url_problem(token_uri, carries, "google", allow_insecure=allow_insecure)
    if problem is not None:
        raise ConfigError(f"{source}: {label}: {key_path}: token_uri: {problem}")
    return info
