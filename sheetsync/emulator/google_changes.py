"""Drive v3's changes feed as the Google emulator serves it: getStartPageToken and list.

Every change to a spreadsheet (a Sheets API write, a person's edit, a new or deleted
file) gets the next change number. `changes.getStartPageToken` answers the number the
next change will have; `changes.list?pageToken=N` lists the changes from N on that the
caller can see, each file once (its latest change, with the file as it is now), oldest
first, at most `pageSize` (1-1000, default 100) per page. A page that is not the last
carries `nextPageToken`; the last carries `newStartPageToken`, where the next poll
starts. `pageToken` is required; a token Google never issued is refused (400).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sheetsync.emulator import google_drive
from sheetsync.emulator.google_drive import drive_error

if TYPE_CHECKING:
    from sheetsync.emulator._http import Request
    from sheetsync.emulator.google import GoogleEmulator

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
DEFAULT_CHANGE_FIELDS = (
    "kind,nextPageToken,newStartPageToken,"
    f"changes(kind,changeType,time,removed,fileId,file({google_drive.DEFAULT_FILE_FIELDS}))"
)


@dataclass(frozen=True)
class Change:
    """One entry of the feed; `shown_at` (emulator clock): when the feed lists it."""

    number: int
    file_id: str
    time: float
    removed: bool = False
    shown_at: float = 0.0


class ChangeLog:
    """Every change, numbered from 1 (not thread-safe: the emulator holds its lock).

    `lag` seconds of the `clock` pass before the feed lists a change: Drive may report a
    change late, and tests make it so.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self.entries: list[Change] = []
        self.clock = clock
        self.lag = 0.0

    def record(self, file_id: str, time: float, *, removed: bool = False) -> None:
        """A file changed (or was removed) at `time`."""
        shown = self.clock() + self.lag
        self.entries.append(Change(len(self.entries) + 1, file_id, time, removed, shown))

    def start_token(self) -> str:
        """The number the next change will have."""
        return str(len(self.entries) + 1)

    def page(
        self, token: int, size: int, visible: Callable[[str], bool]
    ) -> tuple[list[Change], str | None, str | None]:
        """The latest change of each visible file from `token` on, oldest first, at most
        `size`; then the next page's token, or (on the last page) the new start token.
        A change the feed does not show yet ends it: the next poll starts there."""
        latest: dict[str, Change] = {}
        resume = len(self.entries) + 1
        now = self.clock()
        for change in self.entries[token - 1 :]:
            if change.shown_at > now:
                resume = change.number
                break
            if change.removed or visible(change.file_id):
                latest.pop(change.file_id, None)  # keep the order of the latest change
                latest[change.file_id] = change
        found = list(latest.values())
        if len(found) > size:
            return found[:size], str(found[size - 1].number + 1), None
        return found, None, str(resume)


def start_page_token(emu: GoogleEmulator, request: Request) -> Any:
    """GET /drive/v3/changes/startPageToken."""
    del request
    return {"kind": "drive#startPageToken", "startPageToken": emu.changes.start_token()}


def list_changes(emu: GoogleEmulator, request: Request) -> Any:
    """GET /drive/v3/changes?pageToken=N[&pageSize=&fields=&includeRemoved=]."""
    token = _token(request.arg("pageToken"), emu.changes.start_token())
    size = _page_size(request.arg("pageSize"))
    include_removed = (request.arg("includeRemoved") or "true").lower() != "false"
    changes, following, start = emu.changes.page(token, size, emu.visible)
    items = []
    for change in changes:
        if change.removed and not include_removed:
            continue
        item: dict[str, Any] = {
            "kind": "drive#change",
            "changeType": "file",
            "time": google_drive.rfc3339(change.time),
            "removed": change.removed or not emu.visible(change.file_id),
            "fileId": change.file_id,
        }
        if not item["removed"]:
            item["file"] = emu.file_json(change.file_id)
        items.append(item)
    answer: dict[str, Any] = {"kind": "drive#changeList", "changes": items}
    if following is not None:
        answer["nextPageToken"] = following
    if start is not None:
        answer["newStartPageToken"] = start
    fields = google_drive.parse_fields(request.arg("fields") or DEFAULT_CHANGE_FIELDS)
    return google_drive.select(answer, fields)


def _token(raw: str | None, newest: str) -> int:
    if raw is None or not raw.strip():
        raise drive_error(400, "Required parameter: pageToken", "required", "pageToken")
    if not raw.isdigit() or not 1 <= int(raw) <= int(newest):
        raise drive_error(400, "Invalid Value", "invalid", "pageToken")
    return int(raw)


def _page_size(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.lstrip("-").isdigit():
        raise drive_error(400, "Invalid Value", "invalid", "pageSize")
    size = int(raw)
    if not 1 <= size <= MAX_PAGE_SIZE:
        message = f"Invalid value '{size}'. Values must be within the range: [1, {MAX_PAGE_SIZE}]"
        raise drive_error(400, message, "invalid", "pageSize")
    return size
