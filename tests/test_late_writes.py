"""A write's positions hold only while the cycle's lease does (FLEET.md: the sheet cannot
check a fencing token). The lease is checked once the write's pace slot is held, right
before the request leaves: on PostgreSQL that slot is a database call, and a network cut
that holds it up past the lease must not let the write land after a peer took over
(a result write landing one row off: a run link on a row that never sent it)."""

from __future__ import annotations

import pytest

from sheetsync.adapters.google.sheet import GoogleSheets
from sheetsync.core.model import CellWrite
from sheetsync.errors import LeaseLostError
from sheetsync.testing import World

HEADER = ["url", "product"]


def adapter(world: World) -> GoogleSheets:
    return next(iter(world.runtime().sheets.identities.values())).sheets


def test_a_write_asks_its_guard_once_its_pace_slot_is_held(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard runs after the slot is taken; when it raises, nothing reaches Google."""
    sid = world.sheet([HEADER, ["https://shop.example/1", "P1"]])
    world.config()
    sheets = adapter(world)
    order: list[str] = []
    limiter = sheets.http.write_limiter
    assert limiter is not None
    original = limiter.acquire

    def acquire() -> float:
        order.append("paced")
        return original()

    def guard() -> None:
        order.append("guard")
        raise LeaseLostError(sid, 3)

    monkeypatch.setattr(limiter, "acquire", acquire)
    with pytest.raises(LeaseLostError):
        sheets.write_cells(sid, {"Queue": [CellWrite(2, 3, "x")]}, guard=guard)
    assert order == ["paced", "guard"]
    assert world.google.requests_matching(r"values:batchUpdate$") == []
    assert sheets.write_cells(sid, {"Queue": [CellWrite(2, 3, "x")]}, guard=lambda: None)
    assert world.values()[1] == ["https://shop.example/1", "P1", "x"]


def test_a_write_refreshes_an_expired_token_before_its_guard(world: World) -> None:
    """An expired access token is renewed before the slot and the guard, not between the
    guard and the write (google-auth would do it inside the write's request)."""
    sid = world.sheet([HEADER, ["https://shop.example/1", "P1"]])
    world.config()
    http = adapter(world).http
    http.auth.token = None  # as an hour after the last one
    valid: list[bool] = []
    adapter(world).write_cells(
        sid, {"Queue": [CellWrite(2, 3, "x")]}, guard=lambda: valid.append(http.auth.valid)
    )
    assert valid == [True]
    assert world.values()[1] == ["https://shop.example/1", "P1", "x"]


def test_a_token_that_ages_while_the_write_waits_for_its_slot_is_renewed_before_the_guard(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wait for the slot took the token past google-auth's renewal threshold (a few
    minutes before it ends): renewed after the slot, still before the guard."""
    sid = world.sheet([HEADER, ["https://shop.example/1", "P1"]])
    world.config()
    http = adapter(world).http
    limiter = http.write_limiter
    assert limiter is not None
    original = limiter.acquire

    def acquire() -> float:
        http.auth.token = None  # aged while waiting
        return original()

    monkeypatch.setattr(limiter, "acquire", acquire)
    valid: list[bool] = []
    adapter(world).write_cells(
        sid, {"Queue": [CellWrite(2, 3, "y")]}, guard=lambda: valid.append(http.auth.valid)
    )
    assert valid == [True]


def test_a_result_write_whose_slot_came_after_the_lease_ended_does_not_go(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Write 2's wait for its slot outlives the lease: the cycle ends as lost, the row
    keeps `sending` (sent once), and the holder's next cycle writes the result."""
    world.sheet([HEADER, ["https://shop.example/1", "P1"]])
    world.config({"mode": "row"})
    runtime = world.runtime()
    store = type(runtime.journal)
    limiter = adapter(world).http.write_limiter
    assert limiter is not None
    original = limiter.acquire

    def acquire() -> float:
        waited = original()
        if world.axiom.triggers:  # write 2: the lease ran out meanwhile
            monkeypatch.setattr(store, "trusted", lambda self, unit: False)
        return waited

    monkeypatch.setattr(limiter, "acquire", acquire)
    [report] = world.once()
    assert report.lost
    assert world.column("Status") == ["sending"]
    monkeypatch.undo()
    world.once()
    assert world.column("Status") == ["triggered"]
    assert len(world.axiom.triggers) == 1
