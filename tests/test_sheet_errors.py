"""Sheets errors carry what happened as data (reason, HTTP status, spreadsheet, tab)."""

from __future__ import annotations

import pytest

from sheetsync.adapters.google.sheet import GoogleSheets
from sheetsync.core.model import CellWrite
from sheetsync.errors import QuotaError, SheetError, UnsureWriteError
from sheetsync.testing import World

HEADER = ["url", "product"]


def adapter(world: World) -> GoogleSheets:
    """The Sheets adapter of the world's only identity (fake clock, recorded sleeps)."""
    world.config()
    return next(iter(world.runtime().sheets.identities.values())).sheets


def test_a_429_beyond_the_retries_is_a_quota_error_with_its_retry_after(world: World) -> None:
    """Google's last 429 comes back as fields: status, Retry-After, spreadsheet and tab."""
    sid = world.sheet([HEADER])
    world.google.add_fault(path=r"values:batchGet$", status=429, retry_after="7")
    with pytest.raises(QuotaError) as raised:
        adapter(world).read_tabs(sid, ["Queue"])
    error = raised.value
    assert (error.reason, error.status, error.retry_after) == ("quota", 429, 7.0)
    assert (error.spreadsheet, error.tab) == (sid, "Queue")


@pytest.mark.parametrize(
    ("status", "reason"),
    [(404, "not_found"), (403, "permission"), (400, "sheet"), (502, "sheet")],
)
def test_a_refused_read_names_its_reason_and_status(world: World, status: int, reason: str) -> None:
    """Each refusal of a read is a `SheetError` whose fields say which."""
    sid = world.sheet([HEADER])
    world.google.add_fault(path=r"values:batchGet$", status=status)
    with pytest.raises(SheetError) as raised:
        adapter(world).read_tabs(sid, ["Queue"])
    error = raised.value
    assert (type(error), error.reason, error.status, error.spreadsheet) == (
        SheetError,
        reason,
        status,
        sid,
    )


def test_a_5xx_to_a_write_is_unsure_with_its_status(world: World) -> None:
    """A write answered 500 may have been applied: `UnsureWriteError` with status 500."""
    sid = world.sheet([HEADER, ["https://shop.example/1", "P1"]])
    world.google.add_fault(path=r"values:batchUpdate$", status=500)
    with pytest.raises(UnsureWriteError) as raised:
        adapter(world).write_cells(sid, {"Queue": [CellWrite(2, 3, "x")]})
    assert (raised.value.status, raised.value.spreadsheet, raised.value.tab) == (500, sid, "Queue")


def test_an_answer_cut_off_midway_is_read_again(world: World) -> None:
    """A big read's answer arrives a piece at a time: a connection lost in its middle is
    retried as a lost connection is, and the rows read are those of the whole answer."""
    rows = [[f"https://shop.example/{i}", f"P{i}" * 50] for i in range(3000)]
    sid = world.sheet([HEADER, *rows])
    cut = world.google.add_fault(path=r"values:batchGet$", phase="after", cut=True, count=2)
    assert adapter(world).read_tabs(sid, ["Queue"]) == {"Queue": [HEADER, *rows]}
    assert cut.hits == 2
    assert len(world.google.requests_matching(r"values:batchGet$")) == 3


def test_an_answer_cut_off_every_time_is_an_unreachable_google(world: World) -> None:
    """Past the retries: a `SheetError` saying Google is unreachable, no traceback, no
    cell of the half answer in it."""
    rows = [[f"https://shop.example/{i}", "secret-ish cell"] for i in range(3000)]
    sid = world.sheet([HEADER, *rows])
    world.google.add_fault(path=r"values:batchGet$", phase="after", cut=True)
    with pytest.raises(SheetError) as raised:
        adapter(world).read_ranges(sid, ["'Queue'!B1:B3001"])
    assert raised.value.reason == "unreachable" and "cell" not in str(raised.value)
