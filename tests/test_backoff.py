"""The one backoff and Retry-After parser, case by case, and every caller's caps."""

from __future__ import annotations

import pytest

from sheetsync.adapters.axiom import answers as axiom_answers
from sheetsync.adapters.axiom import outage
from sheetsync.adapters.google import transport
from sheetsync.core import plan
from sheetsync.core.backoff import Backoff, parse_retry_after

AXIOM = axiom_answers.RETRY
SHEETS = transport.RETRY
WAITING = plan.WAITING
PROBES = outage.PROBES
PLAIN = Backoff(2.0, 10.0)
JITTERED = Backoff(1.0, 8.0, 0.5, 1.0)
CUT = Backoff(1.0, 8.0, retry_after_cap=20.0)
GIVE_UP = Backoff(1.0, 8.0, retry_after_cap=20.0, give_up=True)


@pytest.mark.parametrize(
    ("policy", "attempt", "rand", "expected"),
    [
        (PLAIN, 0, 0.0, 2.0),
        (PLAIN, 1, 0.0, 4.0),
        (PLAIN, 2, 0.9, 8.0),  # no span: the draw changes nothing
        (PLAIN, 3, 0.0, 10.0),  # capped
        (PLAIN, 60, 0.0, 10.0),
        (JITTERED, 0, 0.0, 0.5),
        (JITTERED, 0, 0.5, 1.0),
        (JITTERED, 3, 0.0, 4.0),
        (JITTERED, 4, 0.5, 8.0),  # the cap applies before the jitter
        (JITTERED, 9, 1.0, 12.0),
        (AXIOM, 0, 0.0, 0.5),
        (AXIOM, 2, 1.0, 4.0),
        (AXIOM, 10, 1.0, 30.0),
        (AXIOM, 4, 0.5, 12.0),
        (SHEETS, 0, 0.0, 0.5),
        (SHEETS, 0, 0.5, 1.0),
        (SHEETS, 5, 0.25, 24.0),
        (SHEETS, 6, 1.0, 96.0),
        (SHEETS, 40, 0.0, 32.0),
        (WAITING, 0, 0.5, 60.0),
        (WAITING, 1, 0.0, 96.0),
        (WAITING, 4, 0.5, 900.0),
        (WAITING, 9, 1.0, 1080.0),
        (PROBES, 0, 0.0, 10.0),
        (PROBES, 2, 0.0, 40.0),
        (PROBES, 5, 0.0, 300.0),
    ],
)
def test_delay(policy: Backoff, attempt: int, rand: float, expected: float) -> None:
    """`delay` doubles from `base`, stops at `cap`, then applies the jitter factor."""
    assert policy.delay(attempt, rand) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("policy", "attempt", "retry_after", "rand", "expected"),
    [
        (CUT, 0, None, 0.0, 1.0),
        (CUT, 2, None, 0.0, 4.0),
        (CUT, 2, 0.0, 0.0, 0.0),  # "retry now" is followed
        (CUT, 2, 7.5, 0.0, 7.5),
        (CUT, 0, 20.0, 0.0, 20.0),
        (CUT, 0, 21.0, 0.0, 20.0),
        (GIVE_UP, 0, 20.0, 0.0, 20.0),
        (GIVE_UP, 0, 21.0, 0.0, None),
        (GIVE_UP, 3, None, 0.0, 8.0),
        (AXIOM, 0, 12.0, 0.3, 12.0),
        (AXIOM, 0, 60.0, 0.3, 60.0),
        (AXIOM, 0, 61.0, 0.3, None),
        (SHEETS, 0, 30.0, 0.3, 30.0),
        (SHEETS, 0, 256.0, 0.3, 256.0),
        (SHEETS, 0, 3600.0, 0.3, 256.0),
    ],
)
def test_wait(
    policy: Backoff, attempt: int, retry_after: float | None, rand: float, expected: float | None
) -> None:
    """A Retry-After wins over the doubling up to the caller's cap; past it, cut or give up."""
    assert policy.wait(attempt, retry_after, rand) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("0", 0.0),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("-3", None),
        ("nan", None),
        ("inf", None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),  # HTTP-date: the caller's backoff applies
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    """Seconds are taken; a date, a negative, a non-finite number or garbage is no header."""
    assert parse_retry_after(header) == expected


def test_no_jitter_factor_leaves_the_range() -> None:
    """Over many draws a jittered delay stays within `[low, low + span]` of its step."""
    for i in range(100):
        rand = i / 100
        assert 0.5 * 4.0 <= JITTERED.delay(2, rand) <= 1.5 * 4.0
