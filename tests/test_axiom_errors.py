"""AxiomError carries why a read failed as data, and never the key, over real HTTP."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from sheetsync.adapters.axiom.client import AxiomClient
from sheetsync.adapters.axiom.outage import OutageGate
from sheetsync.adapters.pacing import RollingLimiter
from sheetsync.emulator.axiom import AxiomEmulator
from sheetsync.errors import AxiomError, AxiomReason
from sheetsync.testing import Clock

KEY = "sk-axiom-7Hq2Zr9WkLm4Xv8c"
SCRAPE = "Scrape product page"


@pytest.fixture
def clock() -> Clock:
    """One fake clock for the client's sleeps, the limiter, the gate and axiom."""
    return Clock()


@pytest.fixture
def ax(clock: Clock) -> Iterator[AxiomEmulator]:
    emulator = AxiomEmulator(api_key=KEY, automations=[SCRAPE], clock=clock.monotonic)
    emulator.start()
    yield emulator
    threading.Thread(target=emulator.stop, daemon=True).start()


def client_for(base: str, clock: Clock, **kwargs: Any) -> AxiomClient:
    kwargs.setdefault("limiter", RollingLimiter(1000, clock=clock.monotonic, sleep=clock.sleep))
    kwargs.setdefault("gate", OutageGate(clock=clock.monotonic))
    return AxiomClient(base, KEY, sleep=clock.sleep, random=lambda: 1.0, retries=0, **kwargs)


ERROR = "error"
R = AxiomReason


def said(message: str) -> dict[str, str]:
    """axiom's JSON error answer carrying `message`."""
    return {"status": ERROR, "message": message}


@pytest.mark.parametrize(
    ("fault", "reason", "status", "retry_after"),
    [
        ({"status": 401, "body": "Invalid key"}, R.INVALID_KEY, 401, None),
        ({"status": 403, "body": said("Quota exceeded")}, R.QUOTA, 403, None),
        ({"status": 200, "body": said("Quota exceeded")}, R.QUOTA, 200, None),
        ({"status": 429, "retry_after": "2"}, R.RATE_LIMIT, 429, 2.0),
        ({"status": 503, "body": said("busy")}, R.SERVER, 503, None),
        ({"status": 502}, R.GATEWAY, 502, None),
        ({"status": 503, "body": {"message": "Quota exceeded"}}, R.GATEWAY, 503, None),
        ({"status": 404, "body": said("Task not found")}, R.REFUSED, 404, None),
        ({"status": 301}, R.REDIRECT, 301, None),
        ({"status": 200, "body": "<html>login</html>"}, R.UNEXPECTED, 200, None),
        ({"status": 200, "body": {"data": 3}}, R.UNEXPECTED, 200, None),
    ],
)  # fmt: skip
def test_a_failed_read_says_why_as_data(
    ax: AxiomEmulator,
    clock: Clock,
    fault: dict[str, Any],
    reason: AxiomReason,
    status: int,
    retry_after: float | None,
) -> None:
    """The reason, HTTP status, request and Retry-After are fields, not words to search for."""
    ax.add_fault(path="/list-automations$", **fault)
    with pytest.raises(AxiomError) as raised:
        client_for(ax.root_url + "/api/v3", clock).list_automations()
    error = raised.value
    assert (error.reason, error.status, error.request) == (reason, status, "list-automations")
    assert error.retry_after == retry_after


def test_no_answer_is_unreachable_with_status_0(clock: Clock) -> None:
    """A refused connection is `unreachable`, with no HTTP status."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(AxiomError) as raised:
        client_for(f"http://127.0.0.1:{port}/api/v3", clock).remaining_runtime()
    error = raised.value
    assert (error.reason, error.status, error.request) == (
        AxiomReason.UNREACHABLE,
        0,
        "remaining-runtime",
    )


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and every exception it links to, shown or not."""
    seen: BaseException | None = error
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/list-automations$", 401, f"Invalid key {KEY}"),
        ("/list-automations$", 404, said(f'echo {{"key": "{KEY}"}}')),
        ("/list-automations$", 503, said(f"busy, key={KEY}")),
        ("/list-automations$", 502, f"<html>{KEY}</html>"),
        ("/list-automations$", 200, {"data": {"names": KEY}}),
        ("/run-data$", 200, {"status": KEY, "data": {}}),
        ("/run-data$", 200, f"{KEY}" * 50),
        ("/remaining-runtime$", 200, {"data": {"note": KEY}}),
    ],
)
def test_hostile_answers_never_put_the_key_in_an_error(
    ax: AxiomEmulator, clock: Clock, path: str, status: int, body: Any
) -> None:
    """Whatever axiom echoes, the key is in no str, repr or linked cause of the error."""
    ax.add_fault(path=path, status=status, body=body)
    client = client_for(ax.root_url + "/api/v3", clock)
    calls = {
        "/list-automations$": client.list_automations,
        "/run-data$": lambda: client.run_data(SCRAPE),
        "/remaining-runtime$": client.remaining_runtime,
    }
    with pytest.raises(AxiomError) as raised:
        calls[path]()
    for linked in _chain(raised.value):
        assert KEY not in str(linked)
        assert KEY not in repr(linked)
        assert KEY not in repr(vars(linked))
