"""Results land on the row that was sent while people insert, delete and sort rows."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from sheetsync.core.report import CycleReport
from sheetsync.testing import World

HEADER = ["url", "product"]
WAIT = 20.0


def in_flight(world: World, edit: Callable[[], None]) -> CycleReport:
    """Run a cycle, hold axiom's answer, let `edit` change the sheet, then release it."""
    return world.once_while_held(edit, WAIT)


def by_url(world: World) -> dict[str, dict[str, str]]:
    values = world.values()
    header = values[0]
    return {
        row[0]: {h: (row[i] if i < len(row) else "") for i, h in enumerate(header)}
        for row in values[1:]
        if row
    }


def test_rows_inserted_above_while_in_flight(world: World) -> None:
    """Two rows inserted above the sent rows do not receive their results."""
    world.sheet([HEADER, ["https://a", "A"], ["https://b", "B"]])
    world.config({"mode": "batch"})
    sid = world.spreadsheet_id
    report = in_flight(
        world,
        lambda: world.google.insert_rows(
            sid, "Queue", 2, count=2, values=[["human 1"], ["human 2"]]
        ),
    )
    assert report.error is None
    rows = by_url(world)
    assert rows["human 1"]["Status"] == "" and rows["human 2"]["Status"] == ""
    assert rows["https://a"]["Status"] == "triggered"
    assert rows["https://b"]["Status"] == "triggered"
    assert world.values()[1][0] == "human 1"


def test_row_deleted_while_in_flight_is_not_written_elsewhere(world: World) -> None:
    """A row deleted meanwhile is skipped and its neighbour keeps its own content."""
    world.sheet([HEADER, ["https://a", "A"], ["https://b", "B"], ["https://c", "C"]])
    world.config({"mode": "batch"})
    sid = world.spreadsheet_id
    report = in_flight(world, lambda: world.google.delete_rows(sid, "Queue", 3))
    assert report.missing == 1
    rows = by_url(world)
    assert "https://b" not in rows
    assert rows["https://a"]["Status"] == "triggered"
    assert rows["https://c"]["Status"] == "triggered"
    assert len(world.values()) == 3  # header + two rows: nothing written past the end
    events = world.runtime().journal.latest("w0", 50)
    assert any(e.state == "deleted" for e in events)


def test_sort_while_in_flight_keeps_results_with_their_rows(world: World) -> None:
    """Sorting the tab descending moves every result along with its row."""
    world.sheet([HEADER, ["https://a", "A"], ["https://b", "B"], ["https://c", "C"]])
    world.axiom.script(["started", "queued", "error"])
    world.config({"mode": "row"})
    sid = world.spreadsheet_id
    hold = threading.Event()
    fault = world.axiom.add_fault(path="/trigger", hold=hold, phase="after", count=1)
    thread = threading.Thread(target=world.once)
    thread.start()
    assert fault.arrived.wait(WAIT)
    world.google.sort(sid, "Queue", 1, ascending=False)
    world.google.insert_rows(sid, "Queue", 2, values=[["https://z-human", "Z"]])
    hold.set()
    thread.join(WAIT)
    rows = by_url(world)
    assert rows["https://a"]["Status"] == "triggered"
    assert rows["https://b"]["Status"] == "queued"
    assert rows["https://c"]["Status"] == "error"
    assert rows["https://z-human"]["Status"] == ""
    assert [r[0] for r in world.values()[1:]] == [
        "https://z-human",
        "https://c",
        "https://b",
        "https://a",
    ]
    assert len(world.axiom.triggers) == 3


def test_all_three_edits_at_once(world: World) -> None:
    """Insert above, delete one and sort, all during one in-flight batch trigger."""
    world.sheet([HEADER, *[[f"https://{c}", c.upper()] for c in "abcdef"]])
    world.config({"mode": "batch"})
    sid = world.spreadsheet_id

    def edits() -> None:
        world.google.insert_rows(sid, "Queue", 2, values=[["https://new-1"]])
        world.google.delete_rows(sid, "Queue", 4)  # https://b
        world.google.sort(sid, "Queue", 2, ascending=False)

    in_flight(world, edits)
    rows = by_url(world)
    assert "https://b" not in rows
    assert rows["https://new-1"]["Status"] == ""
    for c in "acdef":
        assert rows[f"https://{c}"]["Status"] == "triggered", c
    assert world.payloads() == [[HEADER, *[[f"https://{c}", c.upper()] for c in "abcdef"]]]


def test_a_row_deleted_between_the_read_and_the_claim_write(world: World) -> None:
    """Claims written to shifted rows are undone and moved: nothing sticks, nothing repeats."""
    world.sheet([HEADER, ["https://p", "P"], ["https://q", "Q"]])
    world.config({"mode": "row"})
    world.once()
    world.past_grace()  # PostgreSQL: this process's lost claims are not kept as a zombie's
    q_link = by_url(world)["https://q"]["Run link"]
    sid = world.spreadsheet_id
    world.google.insert_rows(sid, "Queue", 4, values=[["https://a", "A"], ["https://b", "B"]])
    hold = threading.Event()
    fault = world.google.add_fault(path=r"values:batchUpdate$", method="POST", hold=hold, count=1)
    thread = threading.Thread(target=world.once)
    thread.start()
    assert fault.arrived.wait(WAIT)
    world.google.delete_rows(sid, "Queue", 2)  # P goes: every row below moves up one
    hold.set()
    thread.join(WAIT)
    world.once()
    world.once()
    sent = Counter(t.data[1][0] for t in world.axiom.triggers)
    assert sent == Counter({"https://p": 1, "https://q": 1, "https://a": 1, "https://b": 1})
    rows = by_url(world)
    assert set(rows) == {"https://q", "https://a", "https://b"}
    assert rows["https://q"]["Status"] == "triggered"
    assert rows["https://q"]["Run link"] == q_link
    assert rows["https://a"]["Status"] == rows["https://b"]["Status"] == "triggered"
    assert len({r["sheetsync id"] for r in rows.values()}) == 3
    assert len(world.values()) == 4  # nothing left behind below the last row


def hold_claim_then(world: World, edit: Callable[[], None]) -> None:
    """Run a cycle whose claim write waits until `edit` has moved rows."""
    hold = threading.Event()
    fault = world.google.add_fault(path=r"values:batchUpdate$", method="POST", hold=hold, count=1)
    thread = threading.Thread(target=world.once)
    thread.start()
    assert fault.arrived.wait(WAIT)
    edit()
    hold.set()
    thread.join(WAIT)


def test_a_claim_landing_far_away_on_a_handled_row_restores_it(world: World) -> None:
    """100 rows deleted in the instant before the claim: the handled row hit gets its id back."""
    world.sheet([HEADER, *[[f"https://r{i}", f"R{i}"] for i in range(300)]])
    world.config({"mode": "batch", "max_rows_per_trigger": 500})
    world.once()
    world.past_grace()  # PostgreSQL: this process's lost claims are not kept as a zombie's
    sid = world.spreadsheet_id
    world.google.insert_rows(sid, "Queue", 150, values=[["https://new", "N"]])
    hold_claim_then(world, lambda: world.google.delete_rows(sid, "Queue", 2, count=100))
    world.once()
    world.once()
    sent = Counter(url for t in world.axiom.triggers for url, _ in t.data[1:])
    assert max(sent.values()) == 1, [u for u, n in sent.items() if n > 1]
    rows = by_url(world)
    assert rows["https://new"]["Status"] == "triggered"
    assert all(r["Status"] == "triggered" for r in rows.values())
    assert len({r["sheetsync id"] for r in rows.values()}) == len(rows) == 201


def test_a_failed_final_write_after_a_misplaced_claim_heals_without_resending(
    world: World,
) -> None:
    """The next cycle still checks the claim against its row: no duplicate, no wrong row."""
    world.sheet([HEADER, ["https://p", "P"], ["https://q", "Q"]])
    world.config({"mode": "row"})
    world.once()
    world.past_grace()  # PostgreSQL: this process's lost claims are not kept as a zombie's
    sid = world.spreadsheet_id
    world.google.insert_rows(sid, "Queue", 4, values=[["https://a", "A"], ["https://b", "B"]])
    world.google.add_fault(path=r"values:batchUpdate$", method="POST", status=500, count=1, skip=1)
    hold_claim_then(world, lambda: world.google.delete_rows(sid, "Queue", 2))
    for _ in range(3):
        world.once()
    sent = Counter(t.data[1][0] for t in world.axiom.triggers)
    assert sent == Counter({"https://p": 1, "https://q": 1, "https://a": 1, "https://b": 1})
    rows = by_url(world)
    assert set(rows) == {"https://q", "https://a", "https://b"}
    links = [r["Run link"] for r in rows.values()]
    assert all(r["Status"] == "triggered" for r in rows.values())
    assert len(set(links)) == 3 and all(links)
    assert len(world.values()) == 4
