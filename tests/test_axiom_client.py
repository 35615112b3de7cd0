"""The axiom adapter against the local emulator over real HTTP: every outcome mapping."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError, ProtocolError

from sheetsync.adapters.axiom.answers import (
    MAX_RETRY_AFTER,
    RETRY,
    Answer,
    TriggerOutcome,
    classify,
)
from sheetsync.adapters.axiom.client import AxiomClient
from sheetsync.adapters.axiom.transport import failed_before_sending
from sheetsync.adapters.pacing import RollingLimiter
from sheetsync.emulator.axiom import NOT_FOUND_MESSAGE, QUEUED_MESSAGE, AxiomEmulator
from sheetsync.errors import AxiomError, ConfigError

KEY = "sk-axiom-7Hq2Zr9WkLm4Xv8c"
SCRAPE = "Scrape product page"
DATA = [["url"], ["https://shop.example/p/1"]]


class FakeClock:
    """One fake monotonic clock for the client's sleeps, the limiter and the emulator."""

    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ax(clock: FakeClock) -> Iterator[AxiomEmulator]:
    emulator = AxiomEmulator(api_key=KEY, automations=[SCRAPE, "Enrich lead"], clock=clock)
    emulator.start()
    yield emulator
    # without waiting out the server's 0.5 s shutdown poll; this also releases held requests
    threading.Thread(target=emulator.stop, daemon=True).start()


def client_for(base: str, clock: FakeClock, **kwargs: Any) -> AxiomClient:
    """A client whose waits land in `clock.waits`, with jitter pinned to its maximum."""
    kwargs.setdefault("limiter", RollingLimiter(1000, clock=clock, sleep=clock.sleep))
    kwargs.setdefault("api_key", KEY)
    return AxiomClient(base, sleep=clock.sleep, random=lambda: 1.0, **kwargs)


@pytest.fixture
def client(ax: AxiomEmulator, clock: FakeClock) -> Iterator[AxiomClient]:
    c = client_for(ax.root_url + "/api/v3", clock)
    yield c
    c.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# -- the documented answers ---------------------------------------------------------


def test_started_run_is_triggered_with_the_viewer_link(
    ax: AxiomEmulator, client: AxiomClient
) -> None:
    """A started run maps to triggered with the exact viewer link, sent once with the data."""
    outcome = client.trigger(SCRAPE, DATA)
    assert outcome == TriggerOutcome("triggered", link=ax.runs[0].link, http_status=200)
    assert [(t.name, t.data) for t in ax.started()] == [(SCRAPE, DATA)]


def test_data_none_sends_no_data(ax: AxiomEmulator, client: AxiomClient) -> None:
    """Without data the body carries only key and name."""
    assert client.trigger(SCRAPE, None).status == "triggered"
    assert ax.triggers[0].data is None


def test_three_dimensional_data_is_accepted(ax: AxiomEmulator, client: AxiomClient) -> None:
    """The "array of tables" shape is sent as is and starts a run."""
    tables = [[["url"], ["https://a"], ["https://b"]]]
    assert client.trigger(SCRAPE, tables).status == "triggered"
    assert ax.started()[0].data == tables


def test_queued_carries_axioms_message(ax: AxiomEmulator, client: AxiomClient) -> None:
    """A queued answer is queued (not an error, not retried) with axiom's own text."""
    ax.script(["queued"])
    assert client.trigger(SCRAPE, DATA) == TriggerOutcome(
        "queued", message=QUEUED_MESSAGE, http_status=200
    )
    assert ax.calls("/trigger") == 1


def test_queued_wins_over_a_server_error_status(
    ax: AxiomEmulator, client: AxiomClient, clock: FakeClock
) -> None:
    """A queued body is never retried, whatever the status: resending would queue a second run."""
    ax.add_fault(path="/trigger$", status=503, body={"status": "queued", "message": "later"})
    assert client.trigger(SCRAPE, DATA).status == "queued"
    assert clock.waits == []


def test_unknown_name_is_an_error_with_axioms_message(client: AxiomClient) -> None:
    """404 Task not found is a row-level error carrying axiom's message."""
    outcome = client.trigger("scrape product page", DATA)
    assert outcome == TriggerOutcome("error", message=NOT_FOUND_MESSAGE, http_status=404)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("", DATA, "Missing task name"),
        (SCRAPE, [["n"], [1]], "Data cells must be strings."),
        (SCRAPE, ["flat"], "Data must be sent as an array of arrays."),
    ],
)
def test_bad_requests_are_errors(client: AxiomClient, name: str, data: Any, message: str) -> None:
    """A 400 is a row-level error with axiom's explanation, not retried."""
    outcome = client.trigger(name, data)
    assert (outcome.status, outcome.http_status) == ("error", 400)
    assert message in outcome.message


def test_wrong_key_is_waiting_invalid_key_without_retry(
    ax: AxiomEmulator, clock: FakeClock
) -> None:
    """401 Invalid key parks the row as waiting/invalid_key after a single call."""
    c = client_for(ax.root_url + "/api/v3", clock, api_key="sk-old-regenerated-key")
    outcome = c.trigger(SCRAPE, DATA)
    assert (outcome.status, outcome.reason, outcome.http_status) == ("waiting", "invalid_key", 401)
    assert "Invalid key" in outcome.message
    assert clock.waits == []
    assert ax.calls("/trigger") == 1


def test_quota_exceeded_is_waiting_quota(ax: AxiomEmulator, client: AxiomClient) -> None:
    """403 Quota exceeded parks the row as waiting/quota and starts nothing."""
    ax.set_quota_exceeded(True)
    outcome = client.trigger(SCRAPE, DATA)
    assert (outcome.status, outcome.reason, outcome.http_status) == ("waiting", "quota", 403)
    assert "Quota exceeded" in outcome.message
    assert ax.started() == []


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (200, {"status": "error", "message": "Invalid key"}, "invalid_key"),
        (
            200,
            {
                "status": "error",
                "message": "Unable to authenticate, please check your API key and try again.",
            },
            "invalid_key",
        ),
        (200, {"status": "error", "message": "Quota exceeded"}, "quota"),
        (401, "Invalid key", "invalid_key"),
        (403, "Quota exceeded", "quota"),
        (401, "", "invalid_key"),
        (200, b'"Invalid key"', "invalid_key"),
    ],
    ids=["200-invalid", "200-unable", "200-quota", "401-text", "403-text", "401-empty", "200-str"],
)
def test_account_refusals_in_both_documented_shapes(
    ax: AxiomEmulator, client: AxiomClient, status: int, body: Any, reason: str
) -> None:
    """Account problems are waiting whether axiom signals them by status or by message."""
    ax.add_fault(path="/trigger$", status=status, body=body)
    outcome = client.trigger(SCRAPE, DATA)
    assert (outcome.status, outcome.reason) == ("waiting", reason)


def test_200_error_with_other_message_is_a_row_error(
    ax: AxiomEmulator, client: AxiomClient
) -> None:
    """The documented 200 error shape with a row-level message is an error with that message."""
    ax.add_fault(
        path="/trigger$", status=200, body={"status": "error", "message": NOT_FOUND_MESSAGE}
    )
    assert client.trigger(SCRAPE, DATA) == TriggerOutcome(
        "error", message=NOT_FOUND_MESSAGE, http_status=200
    )


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (
            "html",
            "axiom returned an unexpected answer (HTTP 200, text/html): <!DOCTYPE html> <html",
        ),
        ("empty", "axiom returned an unexpected answer (HTTP 200, text/plain): (empty body)"),
        (
            "bad_json",
            "axiom returned an unexpected answer (HTTP 200, application/json): "
            '{"result": "accepted"}',
        ),
    ],
)
def test_unreadable_200_answers_are_unknown_with_a_snippet(
    ax: AxiomEmulator, client: AxiomClient, script: str, expected: str
) -> None:
    """A 200 with HTML, an empty body or JSON without the documented keys may follow a
    started run: unknown (never `error`, which invites a blind retry), quoting the answer."""
    ax.script([script])
    outcome = client.trigger(SCRAPE, DATA)
    assert (outcome.status, outcome.reason, outcome.http_status) == ("unknown", "unreadable", 200)
    assert outcome.message.startswith(
        f"sheetsync cannot read axiom's answer to the trigger ({expected}"
    )
    assert "may or may not have started the run" in outcome.message
    assert "run history" in outcome.message and "retry" in outcome.message
    assert "\n" not in outcome.message
    assert ax.calls("/trigger") == 1


def test_a_long_unexpected_answer_is_cut_to_one_short_line(
    ax: AxiomEmulator, client: AxiomClient
) -> None:
    """The snippet of an unexpected answer is at most 200 characters on a single line."""
    ax.add_fault(path="/trigger$", status=200, body="<p>\n" + "x" * 5000)
    message = client.trigger(SCRAPE, DATA).message
    snippet = message.split("text/html): ", 1)[1].split("), so axiom", 1)[0]
    assert 0 < len(snippet) <= 200
    assert "\n" not in message


# -- retries: 429, 5xx, connections that never opened ------------------------------


def test_429_is_retried_with_backoff_then_waiting_rate_limit(
    ax: AxiomEmulator, client: AxiomClient, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Persistent 429s are retried 3 times with exponential waits, then waiting/rate_limit."""
    ax.add_fault(path="/trigger$", status=429)
    with caplog.at_level(logging.INFO, logger="sheetsync.axiom"):
        outcome = client.trigger(SCRAPE, DATA)
    assert (outcome.status, outcome.reason, outcome.http_status) == ("waiting", "rate_limit", 429)
    assert "4 attempts" in outcome.message
    assert clock.waits == [1.0, 2.0, 4.0]
    assert len(ax.requests_matching("/trigger$")) == 4
    assert ax.triggers == []
    retries = [r for r in caplog.records if r.name == "sheetsync.axiom"]
    # retried by itself: INFO; the rows left waiting are the problem a person sees
    assert [r.levelno for r in retries] == [logging.INFO] * 3


def test_retry_after_is_honoured(ax: AxiomEmulator, client: AxiomClient, clock: FakeClock) -> None:
    """A 429 with Retry-After: 7 waits exactly 7 s, then the retry starts the run once."""
    ax.add_fault(path="/trigger$", status=429, count=1, retry_after="7")
    assert client.trigger(SCRAPE, DATA).status == "triggered"
    assert clock.waits == [7.0]
    assert len(ax.started()) == 1


def test_a_very_long_retry_after_parks_the_row_instead_of_blocking(
    ax: AxiomEmulator, client: AxiomClient, clock: FakeClock
) -> None:
    """Retry-After beyond the cap ends retries at once and reports how long axiom asked for."""
    ax.add_fault(path="/trigger$", status=429, retry_after="3600")
    outcome = client.trigger(SCRAPE, DATA)
    assert (outcome.status, outcome.reason, outcome.retry_after) == ("waiting", "rate_limit", 3600)
    assert clock.waits == []
    assert ax.requests_matching("/trigger$")[0].status == 429


def test_a_429_penalizes_the_shared_limiter(ax: AxiomEmulator, clock: FakeClock) -> None:
    """After a 429 every client sharing the limiter holds back, capped so the daemon never hangs."""
    shared = RollingLimiter(1000, clock=clock, sleep=clock.sleep)
    ax.add_fault(path="/trigger$", status=429, retry_after="3600", count=1)
    first = client_for(ax.root_url + "/api/v3", clock, limiter=shared)
    other = client_for(ax.root_url + "/api/v3", clock, limiter=shared)
    assert first.trigger(SCRAPE, DATA).reason == "rate_limit"
    assert shared.delay() == pytest.approx(MAX_RETRY_AFTER)
    assert other.list_automations() == [SCRAPE, "Enrich lead"]
    assert clock.waits == [pytest.approx(MAX_RETRY_AFTER)]


def test_a_429_asking_for_no_wait_holds_the_key_back_no_longer(
    ax: AxiomEmulator, clock: FakeClock
) -> None:
    """Retry-After: 0 means "now": the shared limiter is not held back the whole cap."""
    shared = RollingLimiter(1000, clock=clock, sleep=clock.sleep)
    ax.add_fault(path="/trigger$", status=429, retry_after="0", count=1)
    client = client_for(ax.root_url + "/api/v3", clock, limiter=shared)
    assert client.trigger(SCRAPE, DATA).status == "triggered"
    assert clock.waits == [0.0]
    assert shared.delay() == 0.0


def test_axioms_own_json_503_is_retried_and_the_run_starts_once(
    ax: AxiomEmulator, client: AxiomClient, clock: FakeClock
) -> None:
    """Two 503s with axiom's JSON error envelope (busy: nothing started), then success:
    waits 1 s and 2 s, one run in the end."""
    ax.add_fault(path="/trigger$", status=503, count=2, body={"status": "error", "message": "busy"})
    assert client.trigger(SCRAPE, DATA).status == "triggered"
    assert clock.waits == [1.0, 2.0]
    assert len(ax.started()) == 1


def test_persistent_json_503_is_waiting_server(
    ax: AxiomEmulator, client: AxiomClient, clock: FakeClock
) -> None:
    """axiom busy for good parks the row as waiting/server after bounded retries."""
    ax.script(["busy"] * 4)
    outcome = client.trigger(SCRAPE, DATA)
    assert (outcome.status, outcome.reason, outcome.http_status) == ("waiting", "server", 503)
    assert clock.waits == [1.0, 2.0, 4.0]
    assert ax.started() == []


def test_connection_refused_is_retried_then_waiting_connection(clock: FakeClock) -> None:
    """Nothing listening: the request never left, so it is retried, then waiting/connection."""
    base = f"http://127.0.0.1:{closed_port()}/api/v3"
    c = client_for(base, clock, retries=2)
    outcome = c.trigger(SCRAPE, DATA)
    assert (outcome.status, outcome.reason) == ("waiting", "connection")
    assert base in outcome.message
    assert "connection refused" in outcome.message
    assert clock.waits == [1.0, 2.0]


def test_jitter_is_bounded() -> None:
    """Backoff grows exponentially within [half, full] of its step and never beyond the cap."""
    assert RETRY.wait(0, None, 0.0) == 0.5
    assert RETRY.wait(2, None, 1.0) == 4.0
    assert RETRY.wait(10, None, 1.0) == 30.0
    assert RETRY.wait(0, 12.0, 0.3) == 12.0
    assert RETRY.wait(0, MAX_RETRY_AFTER + 1, 0.3) is None


# -- the ambiguous failures: never retried ---------------------------------------------


def test_drop_before_handling_is_unknown_and_not_retried(
    ax: AxiomEmulator, client: AxiomClient, clock: FakeClock
) -> None:
    """A connection closed after the request was sent is unknown even if axiom did nothing."""
    ax.add_fault(path="/trigger$", drop=True, phase="before")
    outcome = client.trigger(SCRAPE, DATA)
    assert outcome.status == "unknown"
    assert "may or may not have started the run" in outcome.message
    assert "run history" in outcome.message and "retry" in outcome.message
    assert len(ax.requests_matching("/trigger$")) == 1
    assert ax.triggers == []
    assert clock.waits == []


def test_drop_after_handling_is_unknown_and_the_trigger_arrived_once(
    ax: AxiomEmulator, client: AxiomClient
) -> None:
    """axiom started the run but the answer was lost: unknown, and exactly one trigger arrived."""
    ax.add_fault(path="/trigger$", drop=True, phase="after", count=1)
    assert client.trigger(SCRAPE, DATA).status == "unknown"
    assert [t.outcome for t in ax.triggers] == ["started"]
    assert len(ax.requests_matching("/trigger$")) == 1


def test_read_timeout_is_unknown_and_not_retried(ax: AxiomEmulator, clock: FakeClock) -> None:
    """No answer within the read timeout after axiom took the trigger: unknown, one call only."""
    release = threading.Event()
    ax.add_fault(path="/trigger$", hold=release, phase="after")
    c = client_for(ax.root_url + "/api/v3", clock, read_timeout=0.2)
    try:
        outcome = c.trigger(SCRAPE, DATA)
    finally:
        release.set()
    assert outcome.status == "unknown"
    assert "no answer within 0.2 s" in outcome.message
    assert [t.outcome for t in ax.triggers] == ["started"]
    assert ax.calls("/trigger") == 1
    assert clock.waits == []


def test_reads_are_retried_after_a_read_timeout(ax: AxiomEmulator, clock: FakeClock) -> None:
    """/list-automations is safe to repeat, so a timed-out read is retried."""
    release = threading.Event()
    ax.add_fault(path="/list-automations$", hold=release, count=1)
    c = client_for(ax.root_url + "/api/v3", clock, read_timeout=0.2)
    try:
        assert c.list_automations() == [SCRAPE, "Enrich lead"]
    finally:
        release.set()
    assert clock.waits == [1.0]


NO_CONN: Any = None  # urllib3 only uses the pool/connection for its message


def wrapped(reason: Exception) -> requests.ConnectionError:
    """A connection error as requests raises it after urllib3 gave up on `reason`."""
    return requests.ConnectionError(MaxRetryError(NO_CONN, "/api/v3/trigger", reason))


@pytest.mark.parametrize(
    ("exc", "before"),
    [
        (requests.exceptions.ConnectTimeout(), True),
        (
            wrapped(NameResolutionError("lar.axiom.ai", NO_CONN, socket.gaierror("no such host"))),
            True,
        ),
        (wrapped(NewConnectionError(NO_CONN, "Connection refused")), True),
        (requests.exceptions.ReadTimeout(), False),
        (
            requests.ConnectionError(
                ProtocolError("Connection aborted.", http.client.RemoteDisconnected("closed"))
            ),
            False,
        ),
        (requests.exceptions.ChunkedEncodingError(), False),
        (requests.ConnectionError("something else"), False),
    ],
    ids=[
        "connect-timeout",
        "dns",
        "refused",
        "read-timeout",
        "remote-disconnected",
        "chunked",
        "other",
    ],
)
def test_only_failures_before_sending_are_safe_to_resend(
    exc: requests.RequestException, before: bool
) -> None:
    """DNS, refused and connect timeouts happened before sending; everything else may have sent."""
    assert failed_before_sending(exc) is before


def test_urllib3_never_retries_on_its_own() -> None:
    """The mounted adapter (also on an injected session) has retries disabled."""
    session = requests.Session()
    AxiomClient("https://lar.axiom.ai/api/v3", KEY, session=session)
    adapter = session.get_adapter("https://lar.axiom.ai/api/v3/trigger")
    assert isinstance(adapter, requests.adapters.HTTPAdapter)
    retries = adapter.max_retries
    assert (retries.total, retries.connect, retries.read) == (0, 0, False)


# -- redirects ---------------------------------------------------------------------------


def test_redirect_is_not_followed_and_the_key_stays_home(
    ax: AxiomEmulator, client: AxiomClient, clock: FakeClock
) -> None:
    """A 308 to another host is an error naming the redirect; the other host sees nothing."""
    elsewhere = AxiomEmulator(api_key=KEY, automations=[SCRAPE])
    target = elsewhere.start()
    try:
        ax.redirect_location = target + "/trigger"
        ax.script(["redirect"])
        outcome = client.trigger(SCRAPE, DATA)
        assert (outcome.status, outcome.http_status) == ("error", 308)
        assert "redirect" in outcome.message and target in outcome.message
        assert elsewhere.log == []
        assert clock.waits == []
    finally:
        threading.Thread(target=elsewhere.stop, daemon=True).start()


def test_a_redirect_on_a_read_raises(ax: AxiomEmulator, client: AxiomClient) -> None:
    """Reads raise AxiomError mentioning the redirect instead of following it."""
    ax.add_fault(path="/list-automations$", status=301)
    with pytest.raises(AxiomError, match="redirect"):
        client.list_automations()


# -- pacing ------------------------------------------------------------------------------


def test_the_limiter_paces_calls_under_a_fake_clock(clock: FakeClock) -> None:
    """With a 2-per-minute budget, 5 calls wait twice and the emulator never rate-limits."""
    emulator = AxiomEmulator(api_key=KEY, automations=[SCRAPE], rate_limit=2, clock=clock)
    base = emulator.start()
    try:
        c = client_for(base, clock, limiter=RollingLimiter(2, 60, clock=clock, sleep=clock.sleep))
        outcomes = [c.trigger(SCRAPE, DATA).status for _ in range(5)]
        assert outcomes == ["triggered"] * 5
        assert clock.waits == [pytest.approx(60.0)] * 2
        assert emulator.calls_per_rolling_minute_max() == 2
    finally:
        threading.Thread(target=emulator.stop, daemon=True).start()


def test_without_enough_pacing_axiom_refuses_and_nothing_runs(clock: FakeClock) -> None:
    """Beyond axiom's budget a trigger ends waiting/rate_limit and that run never starts."""
    emulator = AxiomEmulator(api_key=KEY, automations=[SCRAPE], rate_limit=2, clock=clock)
    base = emulator.start()
    try:
        c = client_for(base, clock)
        statuses = [c.trigger(SCRAPE, DATA).status for _ in range(3)]
        assert statuses == ["triggered", "triggered", "waiting"]
        assert len(emulator.started()) == 2
    finally:
        threading.Thread(target=emulator.stop, daemon=True).start()


def test_clients_sharing_a_limiter_share_the_budget(ax: AxiomEmulator, clock: FakeClock) -> None:
    """Two watches on one key draw from one budget: the third call of either waits."""
    shared = RollingLimiter(2, 60, clock=clock, sleep=clock.sleep)
    a = client_for(ax.root_url + "/api/v3", clock, limiter=shared)
    b = client_for(ax.root_url + "/api/v3", clock, limiter=shared)
    a.list_automations()
    b.remaining_runtime()
    assert clock.waits == []
    b.list_automations()
    assert clock.waits == [pytest.approx(60.0)]


# -- the other endpoints ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("Running", "running"),
        ("Success", "success"),
        ("Finished", "success"),
        ("Failure", "failure"),
    ],
)
def test_run_data_maps_statuses(
    ax: AxiomEmulator, client: AxiomClient, raw: str, state: str
) -> None:
    """Running/Success/Finished/Failure map to running/success/success/failure."""
    client.trigger(SCRAPE, DATA)
    ax.set_run_statuses(SCRAPE, [raw])
    status = client.run_data(SCRAPE)
    assert (status.state, status.raw_status) == (state, raw)


def test_run_data_carries_the_result_data(ax: AxiomEmulator, client: AxiomClient) -> None:
    """A finished run's data dict is returned as is."""
    client.trigger(SCRAPE, DATA)
    ax.finish_run(SCRAPE, "Success", result={"rows": [["ok"]]})
    assert client.run_data(SCRAPE).data == {"rows": [["ok"]]}


def test_run_data_errors_raise(ax: AxiomEmulator, client: AxiomClient) -> None:
    """An unknown name or an unknown run status raises AxiomError naming it."""
    with pytest.raises(AxiomError, match="Task not found"):
        client.run_data("nope")
    ax.add_fault(path="/run-data$", status=200, body={"status": "Teleporting", "data": {}})
    with pytest.raises(AxiomError, match="unknown run status 'Teleporting'"):
        client.run_data(SCRAPE)


def test_list_automations_and_remaining_runtime(ax: AxiomEmulator, client: AxiomClient) -> None:
    """The account endpoints return names and runtime minutes as floats."""
    assert client.list_automations() == [SCRAPE, "Enrich lead"]
    assert client.remaining_runtime() == {"used": 120.0, "allowance": 600.0, "remaining": 480.0}


def test_read_errors_name_the_problem(ax: AxiomEmulator, clock: FakeClock) -> None:
    """Invalid key, quota, unreachable URL and a malformed answer each raise a clear AxiomError."""
    wrong = client_for(ax.root_url + "/api/v3", clock, api_key="sk-wrong-key-123")
    with pytest.raises(AxiomError, match=r"rejected the API key: Invalid key \(HTTP 401\)"):
        wrong.list_automations()
    ax.set_quota_exceeded(True)
    with pytest.raises(AxiomError, match="quota exceeded"):
        client_for(ax.root_url + "/api/v3", clock).remaining_runtime()
    ax.set_quota_exceeded(False)
    gone = client_for(f"http://127.0.0.1:{closed_port()}/api/v3", clock, retries=0)
    with pytest.raises(
        AxiomError,
        match=r"cannot reach axiom at http://127\.0\.0\.1:\d+/api/v3: connection refused",
    ):
        gone.list_automations()
    ax.add_fault(path="/list-automations$", status=200, body="<html>login</html>")
    with pytest.raises(AxiomError, match=r"unexpected answer \(HTTP 200, text/html\)"):
        client_for(ax.root_url + "/api/v3", clock).list_automations()


def test_a_base_url_that_is_not_http_is_a_config_error() -> None:
    """A malformed base URL fails at construction, naming the setting."""
    with pytest.raises(ConfigError, match=r"axiom\.base_url"):
        AxiomClient("lar.axiom.ai/api/v3", KEY)


# -- the key stays secret ------------------------------------------------------------------


def test_the_key_never_appears_in_logs_messages_errors_or_reprs(
    ax: AxiomEmulator, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Across retries, echoes, refusals and failures, the key shows up nowhere we write."""
    caplog.set_level(logging.DEBUG)
    c = client_for(ax.root_url + "/api/v3", clock)
    texts: list[str] = [repr(c), str(c)]
    ax.add_fault(path="/trigger$", status=429, count=2)
    busy = {"status": "error", "message": f"upstream said key={KEY}"}
    ax.add_fault(path="/trigger$", status=503, count=1, body=busy)
    echo = {"status": "error", "message": f'Bad request: {{"key": "{KEY}", "name": "x"}}'}
    ax.add_fault(path="/trigger$", status=400, count=1, body=echo)
    outcome = c.trigger(SCRAPE, DATA)
    assert outcome.status == "error"
    assert "Bad request" in outcome.message
    texts.append(repr(outcome))
    ax.add_fault(path="/trigger$", status=401, count=1, body=f"Invalid key {KEY}")
    texts.append(repr(c.trigger(SCRAPE, DATA)))
    ax.add_fault(path="/list-automations$", status=404, count=1, body=f"no such key {KEY}")
    with pytest.raises(AxiomError) as raised:
        c.list_automations()
    texts.append(str(raised.value))
    texts.append(repr(c.trigger(SCRAPE, [["k"], ["v"]])))
    texts.append(caplog.text)
    assert len([r for r in caplog.records if r.name == "sheetsync.axiom"]) == 3
    for text in texts:
        assert KEY not in text


def test_pure_classification_keeps_task_not_found_a_row_error() -> None:
    """A 404 saying the task is not found is this row's error, not an account problem."""
    body = '{"status":"error","message":"Task not found, please check the name and try again."}'
    verdict = classify(Answer(404, "application/json", body))
    assert verdict.kind == "refused"


@pytest.mark.parametrize(
    ("status", "message", "reason"),
    [
        (400, "Invalid key", "invalid_key"),
        (404, "Unable to authenticate, please check your API key and try again.", "invalid_key"),
        (403, "Invalid key", "invalid_key"),
        (401, "Quota exceeded", "quota"),
        (400, "Quota exceeded", "quota"),
    ],
)
def test_account_words_win_over_an_unexpected_status(
    status: int, message: str, reason: str
) -> None:
    """An account-level message under another status still means `waiting`, never `error`."""
    body = json.dumps({"status": "error", "message": message})
    verdict = classify(Answer(status, "application/json", body))
    assert verdict.reason == reason
