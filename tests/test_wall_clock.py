"""The runtime's wall clock and its test-only offset (`SHEETSYNC_TEST_CLOCK_OFFSET`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sheetsync.service.wall_clock import CLOCK_OFFSET_ENV, wall_clock
from sheetsync.testing import World


def test_unset_is_utc_now() -> None:
    before = datetime.now(UTC)
    assert before <= wall_clock({})() <= datetime.now(UTC)


@pytest.mark.parametrize("offset", [600, -600, 0.5])
def test_an_offset_shifts_the_clock(offset: float) -> None:
    shifted = wall_clock({CLOCK_OFFSET_ENV: str(offset)})()
    gap = (shifted - datetime.now(UTC)).total_seconds()
    assert abs(gap - offset) < 5


def test_a_bad_offset_names_the_variable() -> None:
    with pytest.raises(ValueError, match=CLOCK_OFFSET_ENV):
        wall_clock({CLOCK_OFFSET_ENV: "ten minutes"})


def test_the_offset_reaches_the_runtime(monkeypatch: pytest.MonkeyPatch, world: World) -> None:
    """`open_runtime` without a `now` counts in the (shifted) wall clock."""
    world.sheet([["url"], ["https://a.example"]])
    world.config()
    monkeypatch.setenv(CLOCK_OFFSET_ENV, "-600")
    from sheetsync.service.wiring import open_runtime

    runtime = open_runtime(world.load())
    try:
        gap = runtime.engine.now() - datetime.now(UTC)
        assert abs(gap + timedelta(seconds=600)) < timedelta(seconds=5)
    finally:
        runtime.close()
