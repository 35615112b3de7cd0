"""The Google Sheets adapter: one batched read of tabs, one batched RAW write of cells.

Built on gspread's low-level `HTTPClient` (not its Worksheet objects, which re-fetch
metadata on every call). This module holds one identity behind the engine's port
(`port.SheetPort`): its tabs' metadata, its reads and its writes. Every request passes through
`transport.PacedHTTPClient` (base URL, pace, bounded retries with jittered backoff
honouring `Retry-After`; reads streamed into `lean`); `credentials` reads the
service-account key; `failures` translates Google's refusals into the project's errors;
`writes` shapes a write's ranges and reads back its answer.

Value writes are never retried here, and never wait long for the write budget: they
address rows by position, and positions taken from a read go stale while people edit.
A write that cannot go now fails the cycle; the next cycle reads again and heals it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from gspread.urls import SPREADSHEET_VALUES_BATCH_URL

from sheetsync.adapters.google import failures
from sheetsync.adapters.google.credentials import SCOPES, load_account
from sheetsync.adapters.google.lean import one_string_each, value_ranges
from sheetsync.adapters.google.source_text import AnswerError
from sheetsync.adapters.google.transport import PacedHTTPClient, bound_client, departing
from sheetsync.adapters.google.writes import (
    Echo,
    echo,
    resize_body,
    row_ranges,
    write_body,
)
from sheetsync.config.google_settings import GoogleSettings
from sheetsync.core.a1 import quote_title
from sheetsync.core.plan import CellWrite
from sheetsync.errors import SheetError

T = TypeVar("T")

MAX_WRITE_WAIT_SECONDS = 2.0
"""A positional write waits at most this long for the write budget, else it is postponed."""


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
        account = load_account(settings, key_path, source, key_label, scopes)
        self.client_email = account.client_email
        self.project_id = account.project_id
        """The Cloud project whose per-project budget this identity shares."""
        self.http: PacedHTTPClient = bound_client(
            settings,
            account.credentials,
            self.client_email,
            self.project_id,
            sleep=sleep,
            clock=clock,
        )
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
        tables = self._reduced(spreadsheet_id, titles[0], ranges, "ROWS", lambda _i, r: list(r))
        return dict(zip(titles, tables, strict=True))

    def read_tab_columns(
        self,
        spreadsheet_id: str,
        titles: Sequence[str],
        reduce: Callable[[str, Iterator[list[str]]], T],
    ) -> dict[str, T]:
        """Every tab's formatted values in one `values:batchGet`, column-major, each tab's
        columns handed to `reduce(title, columns)` as they are decoded (`lean`, streamed:
        the text of one column at a time; a column of repeated values one string per
        value), so that no big tab is whole in memory as text, nor as a list per row."""
        ranges = [quote_title(t) for t in titles]

        def columns(i: int, found: Iterator[list[str]]) -> T:
            return reduce(titles[i], map(one_string_each, found))

        made = self._reduced(spreadsheet_id, titles[0], ranges, "COLUMNS", columns, whole=False)
        return dict(zip(titles, made, strict=True))

    def read_ranges(self, spreadsheet_id: str, ranges: Sequence[str]) -> list[list[list[str]]]:
        """A1 ranges' formatted values in one `values:batchGet`, column-major.

        Column-major keeps a narrow read of a big tab small: one list per column instead
        of one single-cell list per row. Walked a column at a time (`lean`): a column of
        repeated values is a few strings before the next column is decoded.
        """
        title = ranges[0].split("!", 1)[0].strip("'").replace("''", "'")
        return self._reduced(
            spreadsheet_id,
            title,
            ranges,
            "COLUMNS",
            lambda _i, columns: [one_string_each(col) for col in columns],
            whole=True,
        )

    def _reduced(
        self,
        spreadsheet_id: str,
        title: str,
        ranges: Sequence[str],
        major: str,
        reduce: Callable[[int, Iterator[list[str]]], T],
        *,
        whole: bool = False,
    ) -> list[T]:
        """One `values:batchGet` of formatted values, each range's rows (or columns) handed
        to `reduce(index of the range, them)` as they are decoded (`lean`); with `whole`,
        the answer is taken in one piece (a narrow read's few columns), else as it comes."""
        url = SPREADSHEET_VALUES_BATCH_URL % spreadsheet_id
        params = {
            "valueRenderOption": "FORMATTED_VALUE",
            "majorDimension": major,
            "ranges": list(ranges),
        }

        def consume(text: Iterator[str]) -> list[T]:
            try:
                return value_ranges(text, len(ranges), reduce)
            except UnicodeDecodeError:  # not UTF-8: a proxy's page
                message = (
                    f"spreadsheet {spreadsheet_id}: Google answered something that is not JSON"
                )
                raise SheetError(message, spreadsheet=spreadsheet_id, tab=title) from None
            except AnswerError as exc:  # its text names places in the answer, never cells
                message = (
                    f"spreadsheet {spreadsheet_id}: Google's answer is not a batchGet one ({exc})"
                )
                raise SheetError(message, spreadsheet=spreadsheet_id, tab=title) from None

        made: list[T] = self._call(
            spreadsheet_id, title, self.http.read_streamed, url, params, consume, whole=whole
        )
        return made

    def write_cells(
        self,
        spreadsheet_id: str,
        cells: Mapping[str, Sequence[CellWrite]],
        reach: Mapping[str, int] | None = None,
        guard: Callable[[], None] | None = None,
    ) -> Echo:
        """All cells of several tabs in one `values:batchUpdate` with RAW input; the answer
        carries every written row as the write left it (`includeValuesInResponse`);
        `guard` runs once the pace slot is held (`transport.departing`)."""
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
        title = next(iter(cells))
        body = write_body(data)
        with departing(guard):
            answer = self._call(
                spreadsheet_id,
                title,
                self.http.values_batch_update,
                spreadsheet_id,
                body,
                write=True,
            )
        return echo(where, answer)

    def ensure_columns(self, spreadsheet_id: str, title: str, count: int) -> None:
        """Grow a tab to `count` columns (an absolute resize, safe to retry)."""
        grid = self.grid(spreadsheet_id, title, refresh=True)  # people delete columns too
        if grid.cols >= count:
            return
        body = resize_body(grid.sheet_id, count)
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
        """`func(*args, **kwargs)` with its failures as `SheetError`s (`failures.call`)."""
        return failures.call(
            (spreadsheet_id, title),
            self.client_email,
            lambda: self._tabs_hint(spreadsheet_id),
            func,
            *args,
            write=write,
            **kwargs,
        )
