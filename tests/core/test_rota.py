"""`rota.every`: an interval schedule that keeps to its grid unless served late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sheetsync.service.rota import every

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "spacing", "due", "started", "next_due"),
    [
        (10.0, 1.0, 0.0, 0.0, 10.0),  # on time: on the grid
        (10.0, 1.0, 0.0, 0.5, 10.0),  # within a slot: still on the grid
        (10.0, 1.0, 0.0, 1.0, 10.0),  # exactly a slot late: the grid still holds
        (10.0, 1.0, 0.0, 5.0, 14.0),  # late: a period after the start, less one slot
        (10.0, 1.0, 0.0, 30.0, 39.0),  # lateness is not carried forward
        (60.0, 0.0, 0.0, 7.0, 67.0),  # no slot: a period after the start
        (10.0, 1.0, 20.0, 20.0, 30.0),
    ],
)
def test_every(period: float, spacing: float, due: float, started: float, next_due: float) -> None:
    """Next due: max(due + period, started + period - slot)."""
    schedule = every(period, spacing)
    at = schedule(T0 + timedelta(seconds=due), T0 + timedelta(seconds=started))
    assert at == T0 + timedelta(seconds=next_due)
