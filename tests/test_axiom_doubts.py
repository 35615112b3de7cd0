"""Unclear answers to /trigger over real HTTP: unknown, never resent, and the key's outage gate.

A 5xx other than axiom's own JSON 503, a timeout, a reset and an unreadable 200 may follow
a started run: the row is `unknown` and no further trigger goes with the key until a probe
(/list-automations) answers 200. Answers are read up to 1 MiB; links must be sane URLs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sheetsync.adapters.axiom.answers import MAX_BODY_BYTES
from sheetsync.adapters.axiom.client import AxiomClient
from sheetsync.adapters.axiom.outage import PROBE_SECONDS, OutageGate, probe_delay
from sheetsync.adapters.pacing import RollingLimiter
from sheetsync.emulator.axiom import AxiomEmulator
from sheetsync.redact import MASK, mask_secret
from sheetsync.testing import Clock

KEY = "sk-axiom-7Hq2Zr9WkLm4Xv8c"
SCRAPE = "Scrape product page"
DATA = [["url"], ["https://shop.example/p/1"]]


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
    return AxiomClient(base, KEY, sleep=clock.sleep, random=lambda: 1.0, **kwargs)


@pytest.fixture
def client(ax: AxiomEmulator, clock: Clock) -> Iterator[AxiomClient]:
    c = client_for(ax.root_url + "/api/v3", clock)
    yield c
    c.close()


@pytest.mark.parametrize(
    ("status", "body", "phase"),
    [
        (500, None, "before"),
        (502, None, "after"),
        (504, None, "after"),
        (503, "", "before"),
        (503, "<html><body>upstream busy</body></html>", "after"),
        (503, {"message": "no status field: not axiom's envelope"}, "before"),
    ],
    ids=["500", "502-after-run", "504-after-run", "503-empty", "503-html", "503-other-json"],
)
def test_a_gateway_5xx_is_unknown_after_one_post(
    ax: AxiomEmulator,
    client: AxiomClient,
    clock: Clock,
    status: int,
    body: Any,
    phase: str,
) -> None:
    """Any 5xx but axiom's own JSON 503 may come from a proxy that passed the trigger on:
    unknown after exactly one POST, no retry, a message that says what to do."""
    ax.add_fault(path="/trigger$", status=status, body=body, phase=phase)
    outcome = client.trigger(SCRAPE, DATA)
    assert (outcome.status, outcome.reason, outcome.http_status) == ("unknown", "gateway", status)
    assert f"answered HTTP {status} after the trigger was sent" in outcome.message
    assert "may or may not have started the run" in outcome.message
    assert "run history" in outcome.message and "retry" in outcome.message
    assert len(ax.requests_matching("/trigger$")) == 1
    assert clock.sleeps == []


def test_after_an_unclear_answer_no_trigger_goes_until_a_probe_answers(
    ax: AxiomEmulator, client: AxiomClient, clock: Clock
) -> None:
    """One 504, then the gate: triggers wait without a POST; probes are spaced out and
    doubled while axiom still fails; a 200 from /list-automations opens the gate again."""
    down = ax.add_fault(path=".*", status=504)
    assert client.trigger(SCRAPE, DATA).status == "unknown"
    held = client.trigger(SCRAPE, DATA)
    assert (held.status, held.reason) == ("waiting", "outage")
    assert "not sent" in held.message and "HTTP 504" in held.message
    assert client.may_trigger() is False  # no probe before PROBE_SECONDS
    assert ax.requests_matching("/list-automations$") == []
    clock.advance(PROBE_SECONDS)
    assert client.may_trigger() is False  # probed: still 504
    clock.advance(PROBE_SECONDS)
    assert client.may_trigger() is False  # not due: a failed probe doubles the wait
    assert len(ax.requests_matching("/list-automations$")) == 1
    ax.clear_faults()
    clock.advance(PROBE_SECONDS)
    assert client.may_trigger() is True
    assert client.trigger(SCRAPE, DATA).status == "triggered"
    assert len(ax.requests_matching("/trigger$")) == 2
    assert down.hits == 2  # one trigger, one probe during the outage
    assert [t.outcome for t in ax.started()] == ["started"]


def test_probes_back_off_and_an_outage_right_after_a_probe_waits_longer() -> None:
    """The probe schedule: 10 s, doubling per failed probe and per outage in a row, capped."""
    assert probe_delay(1, 0) == PROBE_SECONDS
    assert probe_delay(1, 2) == 4 * PROBE_SECONDS
    assert probe_delay(2, 0) == 2 * PROBE_SECONDS
    assert probe_delay(9, 9) == 300.0


def test_on_probation_only_one_trigger_is_out_at_a_time(ax: AxiomEmulator, clock: Clock) -> None:
    """Four threads trigger at once against a gateway answering 504: one POST reaches it,
    the other three wait for its answer and then stay home (waiting, reason outage)."""
    ax.add_fault(path="/trigger$", status=504, delay=0.2)
    client = client_for(ax.root_url + "/api/v3", clock)
    outcomes: list[Any] = []
    threads = [
        threading.Thread(target=lambda: outcomes.append(client.trigger(SCRAPE, DATA)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted((o.status, o.reason) for o in outcomes) == [
        ("unknown", "gateway"),
        *[("waiting", "outage")] * 3,
    ]
    assert len(ax.requests_matching("/trigger$")) == 1


def test_a_clear_answer_ends_probation(ax: AxiomEmulator, client: AxiomClient) -> None:
    """After one clear answer the gate is open: triggers may go side by side again."""
    assert client.trigger(SCRAPE, DATA).status == "triggered"
    assert repr(client.gate) == "OutageGate(state='open')"


def test_reads_are_retried_after_a_gateway_5xx(
    ax: AxiomEmulator, client: AxiomClient, clock: Clock
) -> None:
    """A read starts nothing: 502 and 504 are retried like any transient failure."""
    ax.add_fault(path="/list-automations$", status=502, count=1)
    ax.add_fault(path="/list-automations$", status=504, count=1)
    assert client.list_automations() == [SCRAPE]
    assert clock.sleeps == [1.0, 2.0]


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "ftp://lar-1.axiom.ai/vnc.html",
        "https://",
        "https://lar-1.axiom.ai/" + "a" * 3000,
        "https://lar-1.axiom.ai/vnc.html?\npassword=x",
        "",
        42,
    ],
    ids=["javascript", "ftp", "no-host", "too-long", "newline", "empty", "number"],
)
def test_a_200_whose_link_is_not_a_sane_url_is_unknown(
    ax: AxiomEmulator, client: AxiomClient, link: Any
) -> None:
    """A link that is no http(s) URL of sane length is an unreadable answer: unknown, and
    the link is stored nowhere."""
    ax.add_fault(path="/trigger$", status=200, body={"OPEN LINK IN BROWSER": link})
    outcome = client.trigger(SCRAPE, DATA)
    assert (outcome.status, outcome.reason, outcome.link) == ("unknown", "unreadable", "")
    assert len(outcome.message) <= 1000


class EndlessAnswer(BaseHTTPRequestHandler):
    """Answers 200 with a JSON-looking body of 64 MiB, counting what it managed to send."""

    sent: int = 0
    finished: threading.Event

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunk = b'{"OPEN LINK IN BROWSER": "' + b"x" * (64 * 1024 - 27)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(1024 * len(chunk)))
        self.end_headers()
        try:
            for _ in range(1024):
                self.wfile.write(chunk)
                type(self).sent += len(chunk)
        except OSError:
            pass  # the client hung up: it read what it wanted
        finally:
            type(self).finished.set()


def test_an_answer_is_read_up_to_one_mebibyte_then_dropped(clock: Clock) -> None:
    """A 64 MiB answer: the client stops reading after 1 MiB (the server cannot send the
    rest), and the trigger is unknown with a short message saying the answer was too big."""
    EndlessAnswer.sent, EndlessAnswer.finished = 0, threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), EndlessAnswer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = client_for(f"http://127.0.0.1:{server.server_address[1]}/api/v3", clock)
        outcome = client.trigger(SCRAPE, DATA)
        assert EndlessAnswer.finished.wait(10)
    finally:
        server.shutdown()
        server.server_close()
    assert (outcome.status, outcome.reason) == ("unknown", "unreadable")
    assert f"more than {MAX_BODY_BYTES // 1024} KiB" in outcome.message
    assert len(outcome.message) <= 1000
    assert EndlessAnswer.sent < 32 * 1024 * 1024


def test_a_key_cut_in_half_at_the_end_of_a_message_is_masked() -> None:
    """Messages are cut before redaction: a start of the key left at the cut is masked."""
    assert mask_secret(f"echo {KEY} and {KEY[:9]}", KEY) == f"echo {MASK} and {MASK}"
    assert mask_secret("nothing secret here", KEY) == "nothing secret here"
