"""A store that fails around a POST while the process goes on serving its spreadsheet
(fleet soak, seed 2929488582: a database restart mid-POST left a row `sending` for good).

No takeover or restart follows, so nothing turns such rows `unknown`: the sender keeps
what it knows and the next cycle of the spreadsheet records it (`cycle.unsettled`).
Each case fails one journal call the way a restart of the database or a full disk does,
then runs the next cycle on the same runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sheetsync.adapters.axiom.client import AxiomClient
from sheetsync.core import telemetry
from sheetsync.cycle.unsettled import LOST_ANSWER_MESSAGE
from sheetsync.errors import LeaseLostError, StoreError, StoreReason
from sheetsync.invariants import sent_urls
from sheetsync.service.daemon import Daemon
from sheetsync.testing import World

HEADER = ["url", "product"]
URLS = ["https://shop.example/p/1", "https://shop.example/p/2"]


def fail_once(
    monkeypatch: pytest.MonkeyPatch,
    owner: type,
    name: str,
    *,
    reason: StoreReason = StoreReason.UNAVAILABLE,
    after: bool = False,
) -> list[int]:
    """Make `owner.name` fail at its first call (`after`: once it has done its work, as a
    commit whose answer was lost); return the list of calls made."""
    original: Callable[..., Any] = getattr(owner, name)
    calls: list[int] = []

    def failing(self: object, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) > 1:
            return original(self, *args, **kwargs)
        if after:
            original(self, *args, **kwargs)
        raise StoreError("connection lost: server closed the connection", reason)

    monkeypatch.setattr(owner, name, failing)
    return calls


def start(world: World) -> type:
    world.sheet([HEADER, *[[u, u[-1]] for u in URLS]])
    world.config({"mode": "row"})
    return type(world.runtime().journal)


def statuses(world: World) -> list[str]:
    return world.column("Status")


def test_an_answer_the_store_failed_to_record_lands_at_the_next_cycle(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The POST went and axiom answered; recording the answer failed: the first row shows
    `sending` after the failed cycle, then `triggered` with its own link, never re-sent."""
    store = start(world)
    calls = fail_once(monkeypatch, store, "record")
    counted = Counted()
    previous = telemetry.install(counted)
    try:
        [report] = world.once()
        assert report.error is not None and len(calls) == 1
        assert statuses(world)[0] == "sending"
        world.once()
        world.once()
    finally:
        telemetry.install(previous)
    assert sent_urls(world.axiom) == {u: 1 for u in URLS}
    assert statuses(world) == ["triggered", "triggered"]
    assert world.column("Run link") == [r.link for r in world.axiom.runs]
    assert counted.triggers == [("w0", "triggered")] * 2  # the settled one counted too


class Counted(telemetry.Telemetry):
    """Telemetry that keeps the triggers it was told of."""

    def __init__(self) -> None:
        self.triggers: list[tuple[str, str]] = []

    def trigger(self, watch: str, result: str) -> None:
        self.triggers.append((watch, result))


def test_an_answer_recorded_before_its_commit_failed_is_recorded_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer's commit happened but its acknowledgement was lost (UNCERTAIN): the
    next cycle finds the row no longer `sending` and leaves it."""
    store = start(world)
    fail_once(monkeypatch, store, "record", reason=StoreReason.UNCERTAIN, after=True)
    world.once()
    world.once()
    assert sent_urls(world.axiom) == {u: 1 for u in URLS}
    assert statuses(world) == ["triggered", "triggered"]
    history = [e.state for e in world.runtime().journal.latest("w0", 50)]
    assert history.count("triggered") == 2, history


def test_a_sending_commit_in_doubt_and_not_undone_sends_the_row_at_the_next_cycle(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sending` committed but its acknowledgement was lost, and putting the row back to
    claimed failed too: no POST left, so the next cycle makes the row claimed again and it
    goes once."""
    store = start(world)
    fail_once(monkeypatch, store, "mark_sending", reason=StoreReason.UNCERTAIN, after=True)
    fail_once(monkeypatch, store, "mark_unsent")
    [report] = world.once()
    assert report.error is not None
    assert world.axiom.triggers == []
    for _ in range(3):
        world.once()
    assert sent_urls(world.axiom) == {u: 1 for u in URLS}
    assert statuses(world) == ["triggered", "triggered"]


def test_a_store_failure_after_the_post_without_an_answer_makes_the_row_unknown(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store failed inside the trigger call once the POST had left (the outage gate's
    or a pace's record): the answer is lost, so the row becomes `unknown`, never re-sent."""
    start(world)
    original = AxiomClient.trigger
    calls: list[int] = []

    def trigger(self: AxiomClient, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 1:
            raise StoreError("connection lost", StoreReason.UNAVAILABLE)
        return result

    monkeypatch.setattr(AxiomClient, "trigger", trigger)
    world.once()
    world.once()
    world.once()
    assert sent_urls(world.axiom) == {u: 1 for u in URLS}
    assert statuses(world) == ["unknown", "triggered"]
    assert world.column("Message")[0] == LOST_ANSWER_MESSAGE


def test_a_reload_keeps_the_sends_still_to_record(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon's reload builds a new engine on the same journal: what the old one still
    had to record goes with it, and the reloaded daemon's next cycle records it."""
    store = start(world)
    world.close_runtime()
    fail_once(monkeypatch, store, "record")
    daemon = Daemon(world.folder / "sheetsync.toml", world.environ)
    try:
        daemon.dispatcher.run_cycle(daemon.runtime, daemon.config.watches)
        assert statuses(world)[0] == "sending"
        daemon.reload()
        for _ in range(2):
            daemon.dispatcher.run_cycle(daemon.runtime, daemon.config.watches)
    finally:
        daemon.runtime.close()
    assert sent_urls(world.axiom) == {u: 1 for u in URLS}
    assert statuses(world) == ["triggered", "triggered"]


def test_a_waiting_answer_lands_when_reading_the_waits_fails(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """axiom said the account is out of runtime; the journal failed to say how often the
    rows waited already (a read after the POST): the answer lands anyway, with a shorter
    wait, and the rows show `waiting`, not `sending` for good."""
    store = start(world)
    world.axiom.set_quota_exceeded(True)
    calls = fail_once(monkeypatch, store, "waits")
    [report] = world.once()
    assert calls == [1] and report.error is None
    assert statuses(world) == ["waiting", "waiting"]
    assert len(world.axiom.triggers) == 1


def test_a_lease_lost_while_settling_stops_the_cycle(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The spreadsheet changed hands before an unrecorded answer could be recorded: the
    answer goes to the new holder, and this cycle stops there, sending nothing more."""
    store = start(world)
    original: Callable[..., Any] = store.record  # type: ignore[attr-defined]
    calls: list[int] = []

    def record(self: object, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise StoreError("connection lost", StoreReason.UNAVAILABLE)
        if len(calls) == 2:
            raise LeaseLostError(world.spreadsheet_id, 1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(store, "record", record)
    world.once()
    [report] = world.once()
    assert report.lost and len(calls) == 2
    assert len(world.axiom.triggers) == 1  # the second row waits for the holder


def test_an_answer_kept_at_close_is_recorded_before_the_journal_closes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sheetsync stops (or `once` ends) with an answer still to record: closing records
    it, so the next start shows the run, not `unknown`."""
    store = start(world)
    fail_once(monkeypatch, store, "record")
    world.once()
    world.close_runtime()
    world.once()
    assert statuses(world)[0] == "triggered"
    assert world.column("Run link")[0] == world.axiom.runs[0].link
    assert len(world.axiom.triggers) == 2
