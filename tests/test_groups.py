"""Watches sharing a spreadsheet share requests; long backlogs show progress as they go."""

from __future__ import annotations

from collections import Counter

from sheetsync.cycle.sending import STOPPED_MESSAGE
from sheetsync.testing import World

HEADER = ["url", "product"]


def rows(n: int, prefix: str = "p") -> list[list[str]]:
    return [[f"https://shop.example/{prefix}{i}", f"P{i}"] for i in range(1, n + 1)]


def test_tabs_of_one_spreadsheet_share_reads_and_writes(world: World) -> None:
    """Three watches on three tabs: two batchGets and two batchUpdates in all."""
    sid = world.sheet([HEADER, *rows(2, "a")], tab="A")
    world.google.add_sheet(sid, "B", [HEADER, *rows(3, "b")])
    world.google.add_sheet(sid, "C", [HEADER])
    world.config({"worksheet": "A"}, {"worksheet": "B"}, {"worksheet": "C"})
    world.google.reset_counters()
    reports = world.once()
    assert [r.error for r in reports] == [None, None, None]
    assert [r.triggered for r in reports] == [2, 3, 0]
    assert world.google.count("values.batchGet") == 2
    assert world.google.count("values.batchUpdate") == 2
    assert world.column("Status", "B") == ["triggered"] * 3
    world.google.reset_counters()
    world.once()
    assert world.google.reads() == 1 and world.google.writes() == 0


def test_a_missing_tab_fails_only_its_own_watch(world: World) -> None:
    """A watch naming an absent tab reports it; its neighbour on the same sheet runs."""
    world.sheet([HEADER, *rows(2)])
    world.config({"name": "good"}, {"name": "typo", "worksheet": "Queu"})
    good, typo = world.once()
    assert good.error is None and good.triggered == 2
    assert typo.error is not None and "'Queu'" in typo.error and "\n" not in typo.error


def test_a_deleted_spreadsheet_fails_only_its_watches(world: World) -> None:
    """A spreadsheet that is gone gives one clear line; another spreadsheet's watch runs."""
    world.sheet([HEADER, *rows(1)])
    other = world.google.create_spreadsheet("Other", {"Queue": [HEADER, *rows(1, "o")]})
    world.config({"name": "gone"}, {"name": "fine", "spreadsheet": other})
    world.google.delete_spreadsheet(world.spreadsheet_id)
    gone, fine = world.once()
    assert gone.error is not None and "not found" in gone.error
    assert fine.error is None and fine.triggered == 1


def test_a_paced_backlog_writes_progress_and_sends_each_row_once(world: World) -> None:
    """At 12 calls a minute, 30 rows take minutes: results are flushed as they come."""
    world.sheet([HEADER, *rows(30)])
    world.config({"mode": "row"}, axiom={"calls_per_minute": 12})
    seen: list[int] = []
    runtime = world.runtime()
    runtime.engine.progress = lambda _watch, done, _total: seen.append(done)
    [report] = world.once()
    assert report.triggered == 30
    assert Counter(t.data[1][0] for t in world.axiom.triggers) == Counter(r[0] for r in rows(30))
    assert seen == sorted(seen) and seen[-1] == 30 and len(seen) == 30
    assert world.google.count("values.batchUpdate") >= 3  # claim, progress flush(es), final
    assert world.column("Status") == ["triggered"] * 30
    assert 60 * 2 <= world.clock.elapsed <= 60 * 3  # 30 calls at 12/min, paced, not failed


def test_a_stop_request_ends_a_backlog_early_and_the_rest_goes_next_time(world: World) -> None:
    """Asked to stop mid-backlog, the cycle sends no more; unsent rows show `waiting` with
    a message saying so (not `sending`: they are not being sent) and go at the next start."""
    world.sheet([HEADER, *rows(20)])
    world.config({"mode": "row"})
    runtime = world.runtime()
    runtime.engine.stopping = lambda: len(world.axiom.triggers) >= 3
    [report] = world.once()
    first = len(world.axiom.triggers)
    assert 3 <= first < 20
    assert report.outcomes.get("waiting", 0) == 20 - first
    assert world.column("Status").count("waiting") == 20 - first
    assert world.column("Message").count(STOPPED_MESSAGE) == 20 - first
    assert "sending" not in world.column("Status")
    world.close_runtime()  # a restart
    world.once()
    assert Counter(t.data[1][0] for t in world.axiom.triggers) == Counter(r[0] for r in rows(20))
    assert world.column("Status") == ["triggered"] * 20


def test_two_watches_on_one_tab_each_write_their_own_columns(world: World) -> None:
    """Both watches' claims reach the tab in the shared first write, before any trigger
    is answered (none overwrites the other's), and both get their results."""
    own = {"status": "Status 2", "link": "Link 2", "message": "Message 2", "id": "id 2"}
    results = ["Status", "Run link", "Message", "sheetsync id", *own.values()]
    world.sheet([[*HEADER, *results], *rows(2)])
    inputs = {"input_columns": HEADER}  # each watch's results are not the other's inputs
    world.config(inputs, {**inputs, "columns": own})
    claimed: dict[str, list[str]] = {}
    world.once_while_held(
        lambda: claimed.update({name: world.column(name) for name in ("Status", "Status 2")})
    )
    assert claimed == {"Status": ["sending"] * 2, "Status 2": ["sending"] * 2}
    assert world.column("Status") == ["triggered"] * 2
    assert world.column("Status 2") == ["triggered"] * 2
    assert all(world.column(name) for name in ("sheetsync id", "id 2", "Run link", "Link 2"))
    assert [(r.error, r.triggered) for r in world.once()] == [(None, 0), (None, 0)]
    assert len(world.axiom.triggers) == 4
