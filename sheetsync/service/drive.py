"""Drive change detection: which spreadsheets someone else changed since the last look.

With `change_detection = "drive"` each identity asks Drive's changes feed once a tick
(`changes.list` from a saved page token: one request for every file it can see, under
Drive's quota, not Sheets'), and the rota reads only the spreadsheets that changed. A
change whose `lastModifyingUser` is the identity itself is sheetsync's own write: it is
not a reason to read again (the cycle that wrote re-reads once anyway, see
`needs_another_look`), so own writes never start a loop of reads.

Needs the `drive.metadata.readonly` scope (asked only in this mode) and the Google Drive
API enabled in the Cloud project.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import gspread
import requests
from google.auth.exceptions import GoogleAuthError

from sheetsync.adapters.google.identities import SheetRouter
from sheetsync.adapters.google.sheet import GoogleSheets
from sheetsync.adapters.store.protocol import Store
from sheetsync.config import Watch
from sheetsync.core.report import CycleReport
from sheetsync.core.text import mended
from sheetsync.errors import DriveError
from sheetsync.service.rota import Rota
from sheetsync.service.schedules import Team, group_key

log = logging.getLogger("sheetsync.drive")

SCOPE = "https://www.googleapis.com/auth/drive.metadata.readonly"
CHANGES_URL = "https://www.googleapis.com/drive/v3/changes"
PAGE_SIZE = 1000
MAX_PAGES = 10
"""Pages read per tick; a longer feed goes on at the next tick."""
FIELDS = "nextPageToken,newStartPageToken,changes(fileId,removed,file(lastModifyingUser/me))"


@dataclass(frozen=True)
class Seen:
    """What one look at the feed found."""

    changed: frozenset[str]
    """Spreadsheets (file ids) someone else changed, or that were removed."""
    everything: bool = False
    """The feed cannot tell (Drive refused the saved token): treat all as changed."""


class ChangeFeed:
    """One identity's position in Drive's changes feed."""

    def __init__(self, sheets: GoogleSheets) -> None:
        self.sheets = sheets
        self.token: str | None = None

    def look(self) -> Seen:
        """The changes since the last look (one request, more for a long feed).

        Raises `DriveError` when Drive cannot be asked (the caller reads everything due).
        """
        if self.token is None:  # the first look: every spreadsheet's first read is due anyway
            self.token = self._start()
            return Seen(frozenset())
        changed: set[str] = set()
        for _ in range(MAX_PAGES):
            page = self._list(self.token)
            if page is None:  # Drive refused the token: what changed since is unknown
                self.token = self._start()
                return Seen(frozenset(), everything=True)
            changed |= _by_others(page.get("changes", []))
            following = page.get("nextPageToken")
            self.token = str(following or page.get("newStartPageToken") or self.token)
            if not following:
                break
        return Seen(frozenset(changed))

    def _start(self) -> str:
        return str(self._get(f"{CHANGES_URL}/startPageToken", {})["startPageToken"])

    def _list(self, token: str) -> dict[str, Any] | None:
        params = {
            "pageToken": token,
            "pageSize": str(PAGE_SIZE),
            "fields": FIELDS,
            "spaces": "drive",
            "includeItemsFromAllDrives": "true",
            "supportsAllDrives": "true",
        }
        try:
            return self._get(CHANGES_URL, params)
        except DriveError as exc:
            if exc.status == 400:
                log.warning("Drive refused the saved changes page token; starting over")
                return None
            raise

    def _get(self, url: str, params: dict[str, str]) -> dict[str, Any]:
        """One Drive GET, not retried (the next tick is the retry), as JSON."""
        try:
            answer = mended(self.sheets.http.once("get", url, params=params).json())
        except gspread.exceptions.APIError as exc:
            status = exc.response.status_code
            message = str(exc.error.get("message", "")).strip().splitlines()[:1]
            raise DriveError(
                status, f"Drive changes feed: Google answered {status}: {''.join(message)[:200]}"
            ) from None  # gspread's error holds the response, request and its bearer token
        except (GoogleAuthError, requests.RequestException, ValueError) as exc:
            # not `from exc`: a requests error holds the request and its bearer token
            raise DriveError(0, f"Drive changes feed unreachable ({type(exc).__name__})") from None
        if not isinstance(answer, dict):
            raise DriveError(0, "Drive changes feed: an answer that is not a JSON object")
        return answer


def _by_others(changes: Sequence[dict[str, Any]]) -> set[str]:
    """File ids of the changes someone else made (or removals)."""
    found = set()
    for change in changes:
        user = (change.get("file") or {}).get("lastModifyingUser") or {}
        if change.get("removed") or not user.get("me", False):
            found.add(str(change.get("fileId", "")))
    return found


def needs_another_look(
    journal: Store, watches: Sequence[Watch], reports: Sequence[CycleReport], now: datetime
) -> bool:
    """Whether a group must be read at its next turn whatever Drive says.

    So it must after a cycle that failed, wrote to the sheet (its own write hides the
    edits people made while it ran: one more read covers them), held rows back
    (settling, `max_in_flight`), or left rows claimed, waiting, unshown or unchecked, or
    runs being tracked.
    """
    if any(r.error or r.written or r.settling or r.held for r in reports):
        return True
    return any(
        journal.entries_needed(w.name, now, ()) or (w.track_runs and journal.in_flight(w.name))
        for w in watches
    )


def end_turn(
    rota: Rota,
    router: SheetRouter,
    journal: Store,
    watches: Sequence[Watch],
    reports: Sequence[CycleReport] | None,
    started: datetime,
) -> None:
    """Tell the rota a group's cycle ended: the reads it took, whether work is left
    (with Drive detection only; `reports` None: the cycle broke)."""
    key = group_key(watches)
    reads = router.take_reads(watches[0].spreadsheet_id)
    pending = True
    if rota.max_idle is not None and reports is not None:
        pending = needs_another_look(journal, watches, reports, started)
    rota.finished(key, started, reads=reads, pending=pending)


class Lookout:
    """One identity's look at Drive each tick: tells its rota which spreadsheets changed.

    A look that fails counts every spreadsheet as changed (they are read at their turn,
    as without Drive), logged once at WARNING when Drive stops answering and once at
    INFO when it answers again. Looks never overlap: a tick that finds the previous one
    still waiting for Drive passes.
    """

    def __init__(self, team: Team, rota: Rota, feed: ChangeFeed) -> None:
        self.team = team
        self.rota = rota
        self.feed = feed
        self._busy = threading.Lock()
        self._failing = False

    def look(self, now: datetime) -> None:
        """Ask Drive once and mark the changed spreadsheets."""
        if not self._busy.acquire(blocking=False):
            return
        try:
            seen = self.feed.look()
        except DriveError as exc:
            if not self._failing:
                log.warning(
                    "Drive change detection of %s failed (%s); every spreadsheet it reads is "
                    "read at its turn until Drive answers",
                    self.team.identity.label,
                    exc,
                )
            self._failing = True
            seen = Seen(frozenset(), everything=True)
        else:
            if self._failing:
                log.info("Drive change detection of %s works again", self.team.identity.label)
            self._failing = False
        finally:
            self._busy.release()
        self.rota.changed(
            [
                key
                for key, group in self.team.groups.items()
                if seen.everything or group[0].spreadsheet_id in seen.changed
            ],
            now,
        )
