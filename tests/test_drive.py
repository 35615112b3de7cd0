"""Issue 14: Drive change detection, so an unchanged spreadsheet costs no Sheets read.

The emulator's changes feed first, as Drive v3 documents it; then the daemon's rota with
`change_detection = "drive"` on a fake clock (`sheetsync.simulation`): an edit arriving
between two looks is read at the next one, unchanged spreadsheets cost nothing,
sheetsync's own writes never start a loop, the safety net reads every spreadsheet every
`max_idle_seconds` even when Drive says nothing, and a Drive that fails falls back to
reading every spreadsheet at its turn. Counted by the emulators, never timed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gspread
import pytest
from google.oauth2.service_account import Credentials

from sheetsync.emulator._http import Request
from sheetsync.emulator.axiom import AxiomEmulator
from sheetsync.emulator.google import GoogleEmulator
from sheetsync.emulator.google_people import PERSON
from sheetsync.service.drive import ChangeFeed, Seen
from sheetsync.simulation import simulate
from sheetsync.testing import AUTOMATION, KEY_ENV, TEST_KEY, Clock, DaemonProcess, World

HEADER = ["url", "product", "Status", "Run link", "Message", "sheetsync id"]
SHEETS = "https://www.googleapis.com/auth/spreadsheets"
METADATA = "https://www.googleapis.com/auth/drive.metadata.readonly"
CHANGES = "https://www.googleapis.com/drive/v3/changes"


class Redirect(gspread.HTTPClient):
    """gspread's client sent to the emulator."""

    root = ""

    def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> Any:
        endpoint = endpoint.replace("https://www.googleapis.com", self.root)
        endpoint = endpoint.replace("https://sheets.googleapis.com", self.root)
        return super().request(method, endpoint, *args, **kwargs)


def client(emu: GoogleEmulator, key: Path, *scopes: str) -> gspread.HTTPClient:
    creds = Credentials.from_service_account_file(str(key), scopes=list(scopes))  # type: ignore[no-untyped-call]
    bound = type("Bound", (Redirect,), {"root": emu.root_url})
    http: gspread.HTTPClient = bound(creds)
    return http


def feed(http: gspread.HTTPClient, **params: Any) -> dict[str, Any]:
    answer: dict[str, Any] = http.request("get", CHANGES, params=params).json()
    return answer


def refused(http: gspread.HTTPClient, url: str, **params: Any) -> dict[str, Any]:
    with pytest.raises(gspread.exceptions.APIError) as info:
        http.request("get", url, params=params)
    return dict(info.value.error)


# -- the emulator's changes feed ----------------------------------------------------------
def test_changes_feed_as_drive_documents_it(tmp_path: Path) -> None:
    """A start token; each changed file once (its latest change, `me` for the caller's
    own), oldest first; pages; removals; the next start token; tokens and sizes checked."""
    with GoogleEmulator() as emu:
        key = emu.write_service_account_file(tmp_path / "key.json")
        http = client(emu, key, SHEETS, METADATA)
        theirs = emu.create_spreadsheet("Theirs", {"Q": [["a"]]})
        ours = emu.create_spreadsheet("Ours", {"Q": [["a"]]})
        gone = emu.create_spreadsheet("Gone")
        start = http.request("get", CHANGES + "/startPageToken").json()
        assert start == {"kind": "drive#startPageToken", "startPageToken": start["startPageToken"]}
        token = start["startPageToken"]
        empty = feed(http, pageToken=token)
        assert empty == {"kind": "drive#changeList", "changes": [], "newStartPageToken": token}

        emu.set_cell(theirs, "Q", 1, 1, "edit 1")
        http.request(
            "post",
            f"https://sheets.googleapis.com/v4/spreadsheets/{ours}/values:batchUpdate",
            json={"valueInputOption": "RAW", "data": [{"range": "Q!A1", "values": [["x"]]}]},
        )
        emu.set_cell(theirs, "Q", 1, 1, "edit 2")
        emu.delete_spreadsheet(gone)
        fields = "newStartPageToken,nextPageToken,changes(fileId,removed,file(lastModifyingUser))"
        answer = feed(http, pageToken=token, fields=fields)
        seen = [(c["fileId"], c["removed"]) for c in answer["changes"]]
        assert seen == [(ours, False), (theirs, False), (gone, True)]
        users = [c.get("file", {}).get("lastModifyingUser", {}) for c in answer["changes"]]
        assert [(u.get("emailAddress"), u.get("me")) for u in users] == [
            ("sheetsync@test.iam.gserviceaccount.com", True),
            (PERSON, False),
            (None, None),
        ]
        assert "file" not in answer["changes"][2]
        following = answer["newStartPageToken"]
        assert int(following) > int(token)
        assert feed(http, pageToken=following)["changes"] == []

        first = feed(http, pageToken=token, pageSize="2", fields="nextPageToken,changes/fileId")
        assert [c["fileId"] for c in first["changes"]] == [ours, theirs]
        rest = feed(http, pageToken=first["nextPageToken"])
        assert [c["fileId"] for c in rest["changes"]] == [gone]
        assert rest["newStartPageToken"] == following

        assert refused(http, CHANGES)["message"] == "Required parameter: pageToken"
        assert refused(http, CHANGES, pageToken="99999")["message"] == "Invalid Value"
        assert (
            "range: [1, 1000]" in refused(http, CHANGES, pageToken=token, pageSize="0")["message"]
        )
        sheets_only = client(emu, key, SHEETS)
        error = refused(sheets_only, CHANGES, pageToken=token)
        assert error["message"] == "Request had insufficient authentication scopes."


def test_the_feed_shows_only_what_the_caller_may_see(tmp_path: Path) -> None:
    """A spreadsheet shared with another account never appears; a lagging Drive lists a
    change only once its lag is over, and the next poll starts with it."""
    now = [0.0]
    with GoogleEmulator(clock=lambda: now[0]) as emu:
        key = emu.write_service_account_file(tmp_path / "key.json")
        http = client(emu, key, METADATA)
        hidden = emu.create_spreadsheet("Hidden")
        emu.share(hidden, "someone@else.iam.gserviceaccount.com")
        token = http.request("get", CHANGES + "/startPageToken").json()["startPageToken"]
        mine = emu.create_spreadsheet("Mine")
        emu.set_cell(hidden, "Sheet1", 1, 1, "x")
        emu.changes.lag = 30.0
        late = emu.create_spreadsheet("Late")
        answer = feed(http, pageToken=token)
        assert [c["fileId"] for c in answer["changes"]] == [mine]
        now[0] = 31.0
        again = feed(http, pageToken=answer["newStartPageToken"])
        assert [c["fileId"] for c in again["changes"]] == [late]


def test_the_feed_reports_what_others_changed_not_our_own_writes(world: World) -> None:
    """One look after a person's edit and sheetsync's own write reports only the edit."""
    world.sheet([HEADER, ["https://a", "A"]])
    theirs = world.google.create_spreadsheet("Theirs", {"Q": [HEADER]})
    world.config(google={"change_detection": "drive"})
    runtime = world.runtime()
    lookout = ChangeFeed(runtime.sheets.identity(world.spreadsheet_id).sheets)
    assert lookout.look() == Seen(frozenset())  # the first look only takes a start token
    assert world.once()[0].triggered == 1  # sheetsync writes its own spreadsheet
    world.google.set_cell(theirs, "Q", 2, 1, "typed")
    assert lookout.look() == Seen(frozenset({theirs}))
    assert lookout.look() == Seen(frozenset())


# -- the daemon's rota with Drive change detection -----------------------------------------
@pytest.fixture
def paced(tmp_path: Path) -> Iterator[World]:
    """Google meters 60 reads and writes a minute; both emulators on the fake clock."""
    clock = Clock()
    google = GoogleEmulator(reads_per_minute=60, writes_per_minute=60, clock=clock.monotonic)
    axiom = AxiomEmulator(api_key=TEST_KEY, automations=[AUTOMATION], clock=clock.monotonic)
    google.start()
    axiom.start()
    world = World(tmp_path, google, axiom, clock=clock, environ={KEY_ENV: TEST_KEY})
    google.write_service_account_file(tmp_path / "service-account.json")
    try:
        yield world
    finally:
        world.stop()


def spreadsheets(world: World, count: int, **google: Any) -> list[str]:
    """`count` empty queues (header only), one watch each, every 10 s, Drive detection."""
    ids = [world.google.create_spreadsheet(f"B{i}", {"Q": [HEADER]}) for i in range(count)]
    world.config(
        *(
            {"name": f"w{i}", "spreadsheet": sid, "worksheet": "Q", "interval_seconds": 10}
            for i, sid in enumerate(ids)
        ),
        google={"change_detection": "drive", **google},
    )
    return ids


def add_row(world: World, sid: str, url: str) -> None:
    end = len(world.google.values(sid, "Q")) + 1
    world.google.insert_rows(sid, "Q", end, values=[[url, "P"]])


def test_an_edit_between_two_looks_is_read_at_the_next_one(paced: World) -> None:
    """20 quiet spreadsheets cost one Drive call a tick and no Sheets read; a row typed
    between two looks is triggered after the next look; sheetsync's own writes cost one
    more read of that spreadsheet, then nothing (no loop)."""
    world = paced
    ids = spreadsheets(world, 20)

    def person(now: float) -> None:
        if now >= 95.0 and not world.axiom.triggers and len(world.google.values(ids[7], "Q")) == 1:
            add_row(world, ids[7], "https://shop.example/late")

    sim = simulate(world.clock, world.runtime(), duration=200.0, before=person)
    assert world.google.quota_rejections == 0 and sim.errors == []
    after_first_round = {k: [t for t in ts if t > 30.0] for k, ts in sim.starts.items()}
    assert {k: len(ts) for k, ts in after_first_round.items() if ts} == {"w7": 2}
    work, confirm = after_first_round["w7"]
    assert 100.0 <= work <= 100.0 + sim.team.spacing  # the look at 100 s saw the edit
    assert world.axiom.triggers[0].at - 95.0 <= 2 * 10.0
    assert confirm - work >= 10.0 - sim.team.spacing
    assert sum(n for t, n in sim.reads if t > 30.0) == 3  # 2 for the work, 1 to confirm
    assert world.google.count("drive.changes.getStartPageToken") == 1
    assert world.google.count("drive.changes.list") == sim.looks - 1 == 19
    grants = world.google.tokens.values()
    assert grants and all(g.scopes == {SHEETS, METADATA} for g in grants)  # asked only in this mode


def test_poll_mode_asks_no_drive_scope(world: World) -> None:
    """Without change detection sheetsync asks Google for the spreadsheets scope alone."""
    world.sheet([HEADER, ["https://a", "A"]])
    world.config()
    assert world.once()[0].triggered == 1
    assert {frozenset(g.scopes) for g in world.google.tokens.values()} == {frozenset({SHEETS})}


def test_the_safety_net_reads_what_drive_does_not_report(paced: World) -> None:
    """When Drive reports nothing, every spreadsheet is still read whole every
    max_idle_seconds, and a row typed meanwhile is triggered at that read."""
    world = paced
    ids = spreadsheets(world, 10, max_idle_seconds=60)
    world.google.changes.lag = 10_000.0  # Drive reports every change far too late

    def person(now: float) -> None:
        if now >= 20.0 and len(world.google.values(ids[3], "Q")) == 1:
            add_row(world, ids[3], "https://shop.example/unreported")

    sim = simulate(world.clock, world.runtime(), duration=200.0, before=person)
    assert world.google.quota_rejections == 0 and sim.errors == []
    for key in sim.team.groups:
        gaps = sim.intervals(key)
        assert gaps and all(gap <= 60.0 + 2 * sim.team.spacing for gap in gaps), (key, gaps)
    [trigger] = world.axiom.triggers
    assert trigger.at <= 20.0 + 60.0 + 10 * sim.team.spacing


def test_a_failing_drive_means_reading_at_every_turn(
    paced: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Drive answering 500 at four looks in a row is one WARNING (a look is not retried:
    the next tick is); meanwhile every spreadsheet is read at its turn, as without Drive;
    one INFO when it answers again."""
    world = paced
    spreadsheets(world, 3)
    fault = world.google.add_fault(path=r"/drive/v3/changes$", status=500, count=4)
    with caplog.at_level(logging.INFO, logger="sheetsync.drive"):
        sim = simulate(world.clock, world.runtime(), duration=120.0)
    assert fault.hits == 4 and sim.errors == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "Drive change detection of default" in warnings[0].message
    assert sum("works again" in r.message for r in caplog.records) == 1
    early = [t for ts in sim.starts.values() for t in ts if 10.0 < t < 50.0]
    assert len(early) >= 3 * 3  # every spreadsheet, every 10 s, while Drive failed


def test_many_spreadsheets_few_edits_cost_little(paced: World) -> None:
    """100 spreadsheets at 10 s with 5 edits a minute for 10 minutes: no 429, every edited
    row triggered within two intervals, and Sheets reads a minute about the edits (two
    reads and one to confirm each) plus the safety net (100 spreadsheets / 300 s)."""
    world = paced
    ids = spreadsheets(world, 100)
    typed: dict[str, float] = {}

    def people(now: float) -> None:
        while len(typed) < 50 and 12.0 * len(typed) + 60.0 <= now:
            url = f"https://shop.example/edit{len(typed)}"
            add_row(world, ids[(len(typed) * 37) % 100], url)
            typed[url] = now

    sim = simulate(world.clock, world.runtime(), duration=660.0, before=people)
    assert world.google.quota_rejections == 0 and sim.errors == []
    triggered = {t.data[1][0]: t.at for t in world.axiom.triggers}
    assert set(triggered) == set(typed)
    assert max(triggered[u] - typed[u] for u in typed) <= 2 * 10.0
    steady = sum(n for t, n in sim.reads if 60.0 <= t < 660.0) / 10.0  # reads a minute
    edits, safety = 5.0, 100 * 60 / 300
    assert 2 * edits + safety * 0.8 <= steady <= 3 * edits + safety * 1.2, steady


def test_the_daemon_reads_only_what_drive_reports(world: World) -> None:
    """`sheetsync run` with Drive detection: after each spreadsheet's first read, looks at
    Drive alone, until a person adds a row; then that row is triggered at the next look,
    with two reads and one to confirm, and quiet again."""
    ids = [world.google.create_spreadsheet(f"B{i}", {"Q": [HEADER]}) for i in range(6)]
    config = world.config(
        *(
            {"name": f"w{i}", "spreadsheet": sid, "worksheet": "Q", "interval_seconds": 0.5}
            for i, sid in enumerate(ids)
        ),
        google={"change_detection": "drive", "reads_per_minute": 600},
    )
    reads: list[str] = []
    looks: list[int] = []
    reached = threading.Event()
    goal: list[Callable[[], bool]] = [lambda: False]

    def count(request: Request) -> None:
        if request.path.endswith("values:batchGet"):
            reads.append(request.path.split("/")[3])
        elif request.path == "/drive/v3/changes":
            looks.append(len(reads))
        if goal[0]():
            reached.set()

    def wait_for(done: Callable[[], bool]) -> None:
        reached.clear()
        goal[0] = done
        assert reached.wait(30) or done(), (looks, reads)

    world.google.on_request = count
    daemon = DaemonProcess.for_world(world, config)
    try:
        wait_for(lambda: len(reads) >= 6)
        assert sorted(reads) == sorted(ids), reads  # one first read each
        quiet = len(looks)
        wait_for(lambda: len(looks) >= quiet + 2)  # a look a second (the shortest interval)
        assert len(reads) == 6  # quiet spreadsheets: Drive looks only
        add_row(world, ids[2], "https://shop.example/typed")
        wait_for(lambda: len(reads) >= 9)
        edited = len(looks)
        wait_for(lambda: len(looks) >= edited + 2)
        assert [t.data[1][0] for t in world.axiom.triggers] == ["https://shop.example/typed"]
        assert reads[6:] == [ids[2]] * 3, reads  # the work (two reads) and one to confirm
        assert daemon.stop() == 0
    finally:
        world.google.on_request = None
        if daemon.proc.poll() is None:
            daemon.kill()
    assert " WARNING " not in daemon.log() and " ERROR " not in daemon.log()
