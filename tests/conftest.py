"""Fixtures: the two local emulators and a config folder, fresh for every test."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sheetsync import redact
from sheetsync.adapters import pacing
from sheetsync.adapters.axiom import outage
from sheetsync.core import narrow

if TYPE_CHECKING:
    from sheetsync.testing import World


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    """Shared limiters, outage gates and registered secrets are process-wide: reset them."""
    pacing.clear_limiters()
    outage.clear_gates()
    signals = _signal_state()
    yield
    pacing.clear_limiters()
    outage.clear_gates()
    redact.clear_secrets()
    assert _signal_state() == signals, "a test left signal handlers or the signal mask changed"


def _signal_state() -> tuple[object, ...]:
    """What child processes inherit of signals: the stop signals' handlers and the mask.

    A handler left at SIG_IGN is inherited by every process a later test starts (Python then
    installs no KeyboardInterrupt for SIGINT), so a leak here hangs tests far from its cause.
    """
    stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    return (*(signal.getsignal(s) for s in stops), signal.pthread_sigmask(signal.SIG_BLOCK, []))


@pytest.fixture(autouse=True)
def _narrow_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """`SHEETSYNC_TEST_NARROW=1`: read every tab narrowly from its second cycle on.

    The narrow read path (see `sheetsync.core.narrow`) serves only big tabs; this runs the
    in-process tests through it too (the daemon subprocesses keep the default).
    """
    if os.environ.get("SHEETSYNC_TEST_NARROW") == "1":
        monkeypatch.setattr(narrow, "NARROW_FROM_ROWS", 0)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """Both emulators on 127.0.0.1 and a folder with a service-account key."""
    from sheetsync.testing import World

    w = World.start(tmp_path)
    try:
        yield w
    finally:
        w.stop()
