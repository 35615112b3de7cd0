"""The local axiom emulator answers with the documented bodies and records what it received."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sheetsync.emulator.axiom import (
    BAD_DATA_MESSAGE,
    BUSY_MESSAGE,
    INVALID_KEY_MESSAGE,
    MISSING_NAME_MESSAGE,
    NOT_FOUND_MESSAGE,
    QUEUED_MESSAGE,
    QUOTA_MESSAGE,
    RATE_LIMIT_MESSAGE,
    AxiomEmulator,
    build,
)
from sheetsync.testing import signal_thread

KEY = "emu-key-5f2c9a"
AUTOMATIONS = ["Scrape product page", "Enrich lead"]
SCRAPE = AUTOMATIONS[0]


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ax(clock: FakeClock) -> Iterator[AxiomEmulator]:
    emulator = AxiomEmulator(api_key=KEY, automations=AUTOMATIONS, clock=clock)
    emulator.start()
    yield emulator
    stop_soon(emulator)


def stop_soon(emulator: AxiomEmulator) -> None:
    """Stop without waiting out the server's 0.5 s shutdown poll (each test has its own port)."""
    threading.Thread(target=emulator.stop, daemon=True).start()


def post(ax: AxiomEmulator, endpoint: str, **body: Any) -> requests.Response:
    body.setdefault("key", KEY)
    return requests.post(f"{ax.root_url}/api/v3/{endpoint}", json=body, timeout=5)


def trigger(ax: AxiomEmulator, name: str = SCRAPE, **body: Any) -> requests.Response:
    return post(ax, "trigger", name=name, **body)


def test_start_returns_the_api_base_url() -> None:
    """`start()` gives the /api/v3 base while `root_url` stays the bare host."""
    emulator = AxiomEmulator()
    try:
        base = emulator.start()
        assert base == emulator.root_url + "/api/v3"
        assert base.startswith("http://127.0.0.1:")
    finally:
        stop_soon(emulator)


def test_a_known_name_starts_a_run_with_a_viewer_link(ax: AxiomEmulator, clock: FakeClock) -> None:
    """A trigger of an existing automation answers 200 with only the viewer link, and records it."""
    data = [["url"], ["https://a.example/1"]]
    response = trigger(ax, data=data)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["OPEN LINK IN BROWSER"]
    assert body["OPEN LINK IN BROWSER"].startswith("https://lar-")
    assert ".axiom.ai/vnc.html?password=" in body["OPEN LINK IN BROWSER"]
    [record] = ax.triggers
    assert (record.name, record.data, record.at, record.outcome) == (
        SCRAPE,
        data,
        5000.0,
        "started",
    )
    assert record.run_id == ax.runs[0].run_id
    assert ax.runs[0].link == body["OPEN LINK IN BROWSER"]


def test_the_key_is_never_recorded(ax: AxiomEmulator) -> None:
    """Trigger records carry name, data and outcome but never the key."""
    trigger(ax, data=[["k"], [KEY + "-not"]])
    assert KEY not in repr(ax.triggers).replace(KEY + "-not", "")


def test_names_match_exactly(ax: AxiomEmulator) -> None:
    """Case or whitespace differences are a 404 with the documented body and create no run."""
    for name in ["scrape product page", "Scrape  product page", " Scrape product page"]:
        response = trigger(ax, name=name)
        assert response.status_code == 404
        assert response.json() == {"status": "error", "message": NOT_FOUND_MESSAGE}
    assert [t.outcome for t in ax.triggers] == ["error"] * 3
    assert ax.started() == []


@pytest.mark.parametrize(
    "key", [None, "wrong", KEY.upper()], ids=["missing", "wrong", "case-changed"]
)
def test_a_wrong_or_missing_key_is_401(ax: AxiomEmulator, key: str | None) -> None:
    """Any key but the exact one is refused with Invalid key and nothing runs."""
    body = {"name": SCRAPE} if key is None else {"name": SCRAPE, "key": key}
    response = requests.post(f"{ax.root_url}/api/v3/trigger", json=body, timeout=5)
    assert response.status_code == 401
    assert response.json()["message"] == INVALID_KEY_MESSAGE
    assert [t.outcome for t in ax.triggers] == ["invalid_key"]
    assert ax.runs == []


def test_an_invalidated_key_refuses_every_endpoint_until_reset(ax: AxiomEmulator) -> None:
    """`set_key_valid(False)` makes every keyed endpoint answer 401 until it is undone."""
    ax.set_key_valid(False)
    for endpoint in ["trigger", "run-data", "list-automations", "remaining-runtime"]:
        assert post(ax, endpoint, name=SCRAPE).status_code == 401
    ax.set_key_valid(True)
    assert post(ax, "list-automations").status_code == 200


def test_quota_exceeded_refuses_every_endpoint_until_reset(ax: AxiomEmulator) -> None:
    """`set_quota_exceeded(True)` answers 403 Quota exceeded everywhere, /list-automations too."""
    ax.set_quota_exceeded(True)
    response = post(ax, "list-automations")
    assert (response.status_code, response.json()["message"]) == (403, QUOTA_MESSAGE)
    assert trigger(ax).status_code == 403
    assert ax.started() == []
    ax.set_quota_exceeded(False)
    assert trigger(ax).status_code == 200


def test_a_missing_name_is_400(ax: AxiomEmulator) -> None:
    """A trigger without a name is a 400 naming the problem."""
    response = post(ax, "trigger", data=[["a"]])
    assert response.status_code == 400
    assert response.json()["message"] == MISSING_NAME_MESSAGE
    assert ax.triggers[0].outcome == "bad_request"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("url,https://a", BAD_DATA_MESSAGE),
        ({"url": "https://a"}, BAD_DATA_MESSAGE),
        (["url", "https://a"], BAD_DATA_MESSAGE),
        ([["n"], [1]], "Data cells must be strings."),
        ([["n"], [None]], "Data cells must be strings."),
        ([["a", "b"], ["1"]], "All rows must have the same number of cells."),
        ([["a"], []], "Rows must not be empty."),
    ],
    ids=["string", "object", "flat-list", "number", "null", "ragged", "empty-row"],
)
def test_malformed_data_is_400(ax: AxiomEmulator, data: Any, message: str) -> None:
    """Data that is not a rectangular array of arrays of strings is refused and starts nothing."""
    response = trigger(ax, data=data)
    assert (response.status_code, response.json()["message"]) == (400, message)
    assert ax.started() == []


def test_three_dimensional_data_is_accepted(ax: AxiomEmulator) -> None:
    """The newer "array of tables" shape starts a run with the tables as sent."""
    data = [[["url"], ["https://a"]], [["id", "name"], ["1", "Ann"], ["2", "Bo"]]]
    assert trigger(ax, data=data).status_code == 200
    assert ax.started()[0].data == data


def test_unicode_and_empty_cells_pass_as_is(ax: AxiomEmulator) -> None:
    """UTF-8 text and empty-string cells are valid data."""
    data = [["name", "note"], ["Zoë ✓", ""]]
    assert trigger(ax, data=data).status_code == 200
    assert ax.started()[0].data == data


def test_queued_answer_is_documented_and_creates_a_run(ax: AxiomEmulator) -> None:
    """A scripted queue answers the documented queued body and counts as a run that exists."""
    ax.script(["queued"])
    response = trigger(ax)
    assert response.json() == {"status": "queued", "message": QUEUED_MESSAGE}
    assert [t.outcome for t in ax.started()] == ["queued"]
    assert ax.runs[0].queued


@pytest.mark.parametrize(
    ("outcome", "status", "check"),
    [
        ("error", 404, lambda r: r.json()["message"] == NOT_FOUND_MESSAGE),
        ("invalid_key", 401, lambda r: r.json()["message"] == INVALID_KEY_MESSAGE),
        ("quota", 403, lambda r: r.json()["message"] == QUOTA_MESSAGE),
        ("rate_limit", 429, lambda r: r.json()["message"] == RATE_LIMIT_MESSAGE),
        ("busy", 503, lambda r: r.json() == {"status": "error", "message": BUSY_MESSAGE}),
        ("server_error", 503, lambda r: "Service Unavailable" in r.text),
        ("html", 200, lambda r: r.headers["Content-Type"].startswith("text/html")),
        ("empty", 200, lambda r: r.content == b""),
        ("bad_json", 200, lambda r: "status" not in r.json() and r.json()),
        ("redirect", 308, lambda r: r.headers["Location"].startswith("https://")),
    ],
)
def test_scripted_failures_answer_as_documented_and_start_nothing(
    ax: AxiomEmulator, outcome: str, status: int, check: Any
) -> None:
    """Each scripted failure outcome has its HTTP status and body, and no run is created."""
    ax.script([outcome])
    response = requests.post(
        f"{ax.root_url}/api/v3/trigger",
        json={"key": KEY, "name": SCRAPE},
        timeout=5,
        allow_redirects=False,
    )
    assert response.status_code == status
    assert check(response)
    assert [t.outcome for t in ax.triggers] == [outcome]
    assert ax.started() == []
    assert trigger(ax).status_code == 200  # the script is used up: back to the default


def test_scripts_for_a_name_only_apply_to_that_name(ax: AxiomEmulator) -> None:
    """A named script waits for its name; an unnamed one applies to whichever comes first."""
    ax.script(["quota"], name="Enrich lead")
    ax.script(["queued"])
    assert trigger(ax, name=SCRAPE).json()["status"] == "queued"
    assert trigger(ax, name=SCRAPE).status_code == 200
    assert trigger(ax, name="Enrich lead").status_code == 403


def test_unknown_script_outcomes_are_refused(ax: AxiomEmulator) -> None:
    """A typo in a script fails the test at once rather than serving a default."""
    with pytest.raises(ValueError, match="unknown outcome"):
        ax.script(["strated"])


def test_a_scripted_delay_records_the_run_before_answering(ax: AxiomEmulator) -> None:
    """With `(outcome, delay)` the run exists before the late answer: a read timeout's ambiguity."""
    ax.script([("started", 2.0)])
    with pytest.raises(requests.ReadTimeout):
        requests.post(
            f"{ax.root_url}/api/v3/trigger", json={"key": KEY, "name": SCRAPE}, timeout=(2, 0.2)
        )
    assert [t.outcome for t in ax.started()] == ["started"]


def test_rate_limit_refuses_calls_beyond_the_rolling_window(clock: FakeClock) -> None:
    """With rate_limit=N the (N+1)th call in 60 s is a 429 that starts nothing, on any endpoint."""
    emulator = AxiomEmulator(KEY, AUTOMATIONS, rate_limit=3, clock=clock)
    emulator.start()
    try:
        assert post(emulator, "list-automations").status_code == 200
        assert trigger(emulator).status_code == 200
        clock.now += 30
        assert post(emulator, "remaining-runtime").status_code == 200
        limited = trigger(emulator)
        assert (limited.status_code, limited.json()["message"]) == (429, RATE_LIMIT_MESSAGE)
        assert [t.outcome for t in emulator.triggers] == ["started", "rate_limit"]
        clock.now += 30  # the first two calls have left the window
        assert trigger(emulator).status_code == 200
        assert len(emulator.started()) == 2
        assert emulator.calls_per_rolling_minute_max() == 4
    finally:
        stop_soon(emulator)


def test_calls_are_counted_per_endpoint(ax: AxiomEmulator) -> None:
    """`calls()` counts every request per endpoint, refused ones included."""
    trigger(ax)
    trigger(ax, name="nope")
    post(ax, "run-data", name=SCRAPE)
    post(ax, "list-automations", key="wrong")
    assert ax.calls("/trigger") == 2
    assert ax.calls("run-data") == 1
    assert ax.calls("/list-automations") == 1
    assert ax.calls("/remaining-runtime") == 0


def test_run_data_reports_running_until_the_run_is_finished(
    ax: AxiomEmulator, clock: FakeClock
) -> None:
    """After a start /run-data says Running; `finish_run` makes it Success with result data."""
    trigger(ax)
    assert post(ax, "run-data", name=SCRAPE).json() == {"status": "Running", "data": {}}
    clock.now += 42
    run = ax.finish_run(SCRAPE, "Success", result={"rows": 3})
    assert run.finished_at == 5042.0
    assert post(ax, "run-data", name=SCRAPE).json() == {"status": "Success", "data": {"rows": 3}}


def test_run_data_follows_scripted_statuses(ax: AxiomEmulator) -> None:
    """`set_run_statuses` gives successive answers and a final one finishes the latest run."""
    trigger(ax)
    ax.set_run_statuses(SCRAPE, ["Running", "Running", "Finished"])
    answers = [post(ax, "run-data", name=SCRAPE).json()["status"] for _ in range(4)]
    assert answers == ["Running", "Running", "Finished", "Finished"]
    assert not ax.runs[0].running


def test_run_data_without_a_run_or_name_is_an_error(ax: AxiomEmulator) -> None:
    """/run-data for an unknown name is Task not found; for a name never run, a 404 too."""
    assert post(ax, "run-data", name="nope").json()["message"] == NOT_FOUND_MESSAGE
    assert post(ax, "run-data", name=SCRAPE).status_code == 404
    assert post(ax, "run-data").status_code == 400


def test_max_concurrent_runs_measures_overlap(ax: AxiomEmulator, clock: FakeClock) -> None:
    """Back-to-back runs count as one at a time; overlapping ones as two."""
    trigger(ax)
    clock.now += 10
    ax.finish_run(SCRAPE)
    trigger(ax)
    clock.now += 10
    trigger(ax)
    trigger(ax, name="Enrich lead")
    assert ax.max_concurrent_runs(SCRAPE) == 2
    assert ax.max_concurrent_runs() == 3
    assert ax.max_concurrent_runs("Enrich lead") == 1


def test_list_automations_and_remaining_runtime_bodies(ax: AxiomEmulator) -> None:
    """The account endpoints answer the documented success envelopes."""
    names = post(ax, "list-automations").json()
    assert names == {"status": "success", "data": {"names": AUTOMATIONS}}
    ax.remaining = {"used": 600, "allowance": 600, "remaining": 0}
    runtime = post(ax, "remaining-runtime").json()
    assert runtime == {"status": "success", "data": {"used": 600, "allowance": 600, "remaining": 0}}


def test_run_reports_list_runs_newest_first(ax: AxiomEmulator) -> None:
    """/run-reports gives the documented fields for the latest `count` runs."""
    trigger(ax)
    trigger(ax, name="Enrich lead")
    reports = post(ax, "run-reports", count=1).json()["data"]["reports"]
    assert len(reports) == 1
    assert reports[0]["task_name"] == "Enrich lead"
    assert set(reports[0]) == {"task_name", "status", "description", "created_at", "updated_at"}


def test_stop_ends_a_run_by_pid_and_password(ax: AxiomEmulator) -> None:
    """/stop takes the pid and password from the viewer link and finishes that run."""
    link = trigger(ax).json()["OPEN LINK IN BROWSER"]
    run = ax.runs[0]
    assert run.pid in link and f"password={run.password}" in link
    assert post(ax, "stop", pid=run.pid, pw="wrong").status_code == 404
    assert post(ax, "stop", pid=run.pid, pw=run.password).status_code == 200
    assert not ax.runs[0].running


def test_injected_faults_use_axiom_bodies(ax: AxiomEmulator) -> None:
    """A fault with only a status answers with axiom's documented body for it."""
    ax.add_fault(path="/trigger", status=401, count=1)
    ax.add_fault(path="/trigger", status=503, count=1)
    assert trigger(ax).json() == {"status": "error", "message": INVALID_KEY_MESSAGE}
    assert "Service Unavailable" in trigger(ax).text
    assert ax.triggers == []  # faults answer before the handler: nothing reached axiom


def test_other_methods_and_paths_are_refused(ax: AxiomEmulator) -> None:
    """GET and unknown endpoints get errors, not runs."""
    assert requests.get(f"{ax.root_url}/api/v3/trigger", timeout=5).status_code == 405
    assert post(ax, "teleport").status_code == 404
    assert requests.post(f"{ax.root_url}/trigger", json={}, timeout=5).status_code == 404


def test_concurrent_triggers_are_all_recorded(ax: AxiomEmulator) -> None:
    """Parallel triggers each get their own run; none is lost."""

    def burst() -> None:
        for _ in range(3):
            trigger(ax)

    # four clients: more simultaneous connects than the listen backlog would stall on SYN retries
    threads = [threading.Thread(target=burst) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(ax.started()) == 12
    assert len({r.run_id for r in ax.runs}) == 12
    assert len({r.link for r in ax.runs}) == 12


def test_command_line_builds_the_configured_emulator() -> None:
    """`build()` reads port, key, automation names and rate limit from argv."""
    emulator = build(["--port", "0", "--key", "K", "--automation", "A b", "C", "--rate-limit", "7"])
    assert (emulator.api_key, emulator.automations, emulator.rate_limit) == ("K", ["A b", "C"], 7)


@pytest.mark.parametrize("to_thread", [False, True], ids=["main-thread", "server-thread"])
def test_module_serves_standalone(to_thread: bool) -> None:
    """`python -m sheetsync.emulator.axiom` serves until interrupted, whichever of its
    threads the kernel hands the signal to."""
    with subprocess.Popen(
        [sys.executable, "-m", "sheetsync.emulator.axiom", "--port", "0", "--key", "K",
         "--automation", "Demo"],
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:  # fmt: skip
        try:
            assert proc.stdout is not None
            base = proc.stdout.readline().split(": ", 1)[1].strip()
            response = requests.post(f"{base}/list-automations", json={"key": "K"}, timeout=5)
            assert json.loads(response.text)["data"]["names"] == ["Demo"]
        finally:
            if to_thread:
                signal_thread(proc.pid, signal.SIGINT)
            else:
                proc.send_signal(signal.SIGINT)
            try:
                code = proc.wait(timeout=60)  # generous: a loaded CI machine, not a speed check
            except subprocess.TimeoutExpired:
                proc.kill()  # never leave `with Popen` waiting for ever
                raise
            assert code == 0
