"""`budget`: what an identity's schedules ask of its read budget, and the lag that follows."""

from __future__ import annotations

import pytest

from sheetsync.core.budget import Budget, lag_for


@pytest.mark.parametrize(
    ("periods", "available", "lag"),
    [
        ([], 10.0, 0.0),  # no spreadsheets
        ([60.0], 0.0, 0.0),  # no budget: no answer rather than infinity
        ([60.0], 1.0, 0.0),  # one read a minute, exactly what is asked
        ([60.0], 2.0, 0.0),  # room to spare
        ([60.0, 60.0], 1.0, 60.0),  # two spreadsheets, one read: each every 2 minutes
        ([10.0] * 6, 6.0, 50.0),  # 6 spreadsheets at 6 reads/min: each every 60 s
        ([30.0, 60.0], 1.0, 15 + 3825**0.5),  # L² - 30 L - 3600 = 0: about 76.8 s
    ],
)
def test_lag_for(periods: list[float], available: float, lag: float) -> None:
    """The common lag L solves sum(60 / (p + L)) = available, and is never negative."""
    assert lag_for(periods, available) == pytest.approx(lag, abs=1e-6)


@pytest.mark.parametrize(
    ("periods", "available", "needed", "over"),
    [
        ((), 10.0, 0.0, False),
        ((60.0,), 1.0, 1.0, False),  # exactly the budget holds
        ((30.0, 60.0), 3.0, 3.0, False),
        ((30.0, 60.0), 2.9, 3.0, True),
        ((1.0,), 59.0, 60.0, True),  # every second is 60 reads a minute
    ],
)
def test_needed_and_over(
    periods: tuple[float, ...], available: float, needed: float, over: bool
) -> None:
    """An idle cycle costs one read: a schedule every p seconds asks 60 / p reads a minute."""
    budget = Budget("id", periods, available)
    assert budget.needed == pytest.approx(needed)
    assert budget.over is over


@pytest.mark.parametrize(
    ("periods", "available", "period", "effective"),
    [
        ((60.0,), 1.0, 60.0, 60.0),  # fits: as scheduled
        ((60.0, 60.0), 1.0, 60.0, 120.0),  # over: every spreadsheet the same lag late
        ((10.0,) * 6, 6.0, 10.0, 60.0),
    ],
)
def test_effective(
    periods: tuple[float, ...], available: float, period: float, effective: float
) -> None:
    """The interval a schedule gets: its own period plus the common lag."""
    assert Budget("id", periods, available).effective(period) == pytest.approx(effective)


def test_describe_says_every_schedule_holds_when_it_fits() -> None:
    """Within budget the line says so and lists no intervals."""
    assert Budget("bot@x", (60.0, 30.0), 10.0).describe() == (
        "Google identity bot@x: 2 spreadsheet(s) need 3.0 Sheets reads/min of the 10 it may "
        "spend; every schedule holds"
    )
