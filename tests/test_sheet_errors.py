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
