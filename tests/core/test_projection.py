"""`projection`'s cell decisions: what a row should show, claims, added headers, clipping."""

from __future__ import annotations

from typing import Any

import pytest

from sheetsync.config import Watch
from sheetsync.config.schema import build
from sheetsync.core.layout import Layout
from sheetsync.core.model import Candidate, CellWrite, Entry
from sheetsync.core.plan import CELL_LIMIT
from sheetsync.core.projection import claim_writes, clip, desired_cells, header_writes

RESULTS = {"status": 1, "link": 2, "message": 3, "id": 4}
LAYOUT = Layout(("url", "Status", "Run link", "Message", "sheetsync id"), (0,), RESULTS)


def watch(**kw: Any) -> Watch:
    base: dict[str, Any] = {"name": "w", "spreadsheet": "s", "worksheet": "Q", "automation": "A"}
    return build(Watch, {**base, **kw})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("short", "short"),
        ("a" * CELL_LIMIT, "a" * CELL_LIMIT),  # exactly the limit: kept whole
        ("a" * (CELL_LIMIT + 1), "a" * (CELL_LIMIT - 1) + "…"),  # one more: cut, marked
        ("a" * (3 * CELL_LIMIT), "a" * (CELL_LIMIT - 1) + "…"),
    ],
)
def test_clip(text: str, expected: str) -> None:
    """A cell never passes Google's 50,000 characters (which would refuse the whole batch)."""
    assert clip(text) == expected
    assert len(clip(text)) <= CELL_LIMIT


@pytest.mark.parametrize(
    ("entry", "kw", "status", "run_status"),
    [
        (Entry("r1", "claimed"), {}, "sending", ""),  # a claim shows `sending`
        (Entry("r1", "sending"), {}, "sending", ""),
        (Entry("r1", "triggered"), {}, "triggered", ""),
        (Entry("r1", "waiting"), {}, "waiting", ""),
        (Entry("r1", "unknown"), {}, "unknown", ""),
        (Entry("r1", "foreign"), {}, "", ""),  # a state without a word shows nothing
        (Entry("r1", "abandoned"), {}, "", ""),
        (Entry("r1", "triggered", run_status="running"), {}, "triggered", "running"),
        (Entry("r1", "triggered", run_status="success"), {}, "triggered", "success"),
        (Entry("r1", "triggered", run_status="failure"), {}, "triggered", "failure"),
        (Entry("r1", "triggered", run_status="overlapped"), {}, "triggered", "untracked"),
        (Entry("r1", "triggered", run_status="bogus"), {}, "triggered", ""),
        (Entry("r1", "claimed"), {"statuses": {"sending": "läuft"}}, "läuft", ""),  # own words
        (
            Entry("r1", "triggered", run_status="success"),
            {"statuses": {"success": "done"}},
            "triggered",
            "done",
        ),
    ],
)
def test_desired_status_cells(
    entry: Entry, kw: dict[str, Any], status: str, run_status: str
) -> None:
    """The status and run-status cells show the watch's words for the journal's states."""
    cells = desired_cells(entry, watch(**kw))
    assert (cells["status"], cells["run_status"], cells["id"]) == (status, run_status, "r1")


def test_desired_cells_clip_long_links_and_messages() -> None:
    """A long message is clipped with a mark; a long link is cut (a link has no room)."""
    long = "x" * (CELL_LIMIT + 10)
    cells = desired_cells(Entry("r1", "error", link=long, message=long), watch())
    assert cells["link"] == "x" * CELL_LIMIT
    assert cells["message"] == "x" * (CELL_LIMIT - 1) + "…"


def cand(number: int, *, fresh: bool) -> Candidate:
    return Candidate(number, f"r{number}", ("q",), "A", "f", retry=not fresh, fresh=fresh)


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        ([], []),
        ([cand(2, fresh=True)], [CellWrite(2, 2, "sending"), CellWrite(2, 5, "r2")]),
        (  # a retried row: its old link and message are cleared
            [cand(7, fresh=False)],
            [
                CellWrite(7, 2, "sending"),
                CellWrite(7, 5, "r7"),
                CellWrite(7, 3, ""),
                CellWrite(7, 4, ""),
            ],
        ),
        (
            [cand(2, fresh=True), cand(3, fresh=True)],
            [
                CellWrite(2, 2, "sending"),
                CellWrite(2, 5, "r2"),
                CellWrite(3, 2, "sending"),
                CellWrite(3, 5, "r3"),
            ],
        ),
    ],
)
def test_claim_writes(candidates: list[Candidate], expected: list[CellWrite]) -> None:
    """A claim writes `sending` and the id; only a row of ours loses its stale result."""
    assert claim_writes(candidates, LAYOUT, watch()) == expected


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        (LAYOUT, []),  # nothing added
        (
            Layout(
                ("url", "Status", "sheetsync id"),
                (0,),
                {"status": 1, "id": 2},
                added=("sheetsync id",),
            ),
            [CellWrite(1, 3, "sheetsync id")],
        ),
        (  # added right of unheaded data: the gap stays blank
            Layout(
                ("url", "", "Status", "Run link"), (0,), {"status": 2}, added=("Status", "Run link")
            ),
            [CellWrite(1, 3, "Status"), CellWrite(1, 4, "Run link")],
        ),
    ],
)
def test_header_writes(layout: Layout, expected: list[CellWrite]) -> None:
    """Missing result headers are written into row 1, right of everything else."""
    assert header_writes(layout) == expected
