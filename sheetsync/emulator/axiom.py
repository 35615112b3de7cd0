"""A local axiom.ai for tests and `sheetsync demo`: the documented /api/v3 endpoints and bodies.

Every endpoint is `POST /api/v3/<name>` with a JSON body carrying `key`. Tests steer it with
scripted /trigger outcomes (`script`: `busy` is axiom's own JSON 503, `server_error` a
proxy's HTML 503), account states (`set_key_valid`, `set_quota_exceeded`), a rolling rate
limit on an injectable clock, scripted /run-data answers, and read what it saw: `triggers`
(payloads without the key), `runs`, `calls(endpoint)`; those controls and records live in
`axiom_runs`. Network faults come from `EmulatorServer.add_fault`.

Run standalone with `python -m sheetsync.emulator.axiom --port 8086 --key K --automation NAME`.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sheetsync.emulator._http import (
    EmulatorServer,
    JsonBody,
    Request,
    Response,
    serve_until_interrupted,
)
from sheetsync.emulator.axiom_runs import FINAL_STATUSES, RATE_WINDOW, Run, RunsMixin, TriggerRecord
from sheetsync.emulator.control import control_answer

API_PREFIX = "/api/v3"

QUEUED_MESSAGE = (
    "Axiom could not start due to a lack of available resources. "
    "The task has been queued and will retry in five minutes."
)
NOT_FOUND_MESSAGE = "Task not found, please check the name and try again."
INVALID_KEY_MESSAGE = "Invalid key"
QUOTA_MESSAGE = "Quota exceeded"
RATE_LIMIT_MESSAGE = "Rate limit exceeded. Try again in a few seconds."
MISSING_NAME_MESSAGE = "Missing task name, please include the name of the automation to run."
BAD_DATA_MESSAGE = "Data must be sent as an array of arrays."
BUSY_MESSAGE = "Server busy, please try again in a few seconds."
"""axiom's own 503 refusal (its wording is not documented; the JSON envelope is)."""
LINK_KEY = "OPEN LINK IN BROWSER"
UNAVAILABLE_HTML = (
    "<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>"
    "<body><h1>Service Unavailable</h1><p>The server is temporarily busy.</p></body></html>"
)
LOGIN_HTML = (
    '<!DOCTYPE html>\n<html lang="en">\n<head><title>Axiom.ai | Sign in</title></head>\n'
    '<body><div id="app">Please sign in to continue.</div></body>\n</html>'
)


def _error(status: int, message: str) -> Response:
    return Response(status, {"status": "error", "message": message})


def data_problem(data: Any) -> str | None:
    """Why `data` is not a 2D `[row][col]` or 3D `[table][row][cell]` array of strings, or None."""
    if not isinstance(data, list) or not all(isinstance(item, list) for item in data):
        return BAD_DATA_MESSAGE
    tables: list[list[Any]] = [data]
    if data and data[0] and isinstance(data[0][0], list):
        tables = data
    for table in tables:
        if not all(isinstance(row, list) for row in table):
            return BAD_DATA_MESSAGE
        for row in table:
            if not row:
                return "Rows must not be empty."
            if not all(isinstance(cell, str) for cell in row):
                return "Data cells must be strings."
            if len(row) != len(table[0]):
                return "All rows must have the same number of cells."
    return None


class AxiomEmulator(RunsMixin, EmulatorServer):
    """The axiom.ai API on 127.0.0.1, thread-safe, with scripted outcomes and a run history.

    `rate_limit` counts admitted calls (every endpoint) per rolling 60 s of `clock()`; calls
    refused with 429 or 401 do not fill the window. `calls()` and
    `calls_per_rolling_minute_max()` count every request that reached the handler.
    """

    def __init__(
        self,
        api_key: str = "test-key",
        automations: Iterable[str] = (),
        rate_limit: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        self.api_key = api_key
        self.automations: list[str] = list(automations)
        self.rate_limit = rate_limit
        self.clock = clock
        self.remaining: dict[str, float] = {"used": 120, "allowance": 600, "remaining": 480}
        self.redirect_location = "https://login.axiom.ai/api/v3/trigger"
        self._key_valid = True
        self._quota_exceeded = False
        self._scripts: dict[str | None, deque[tuple[str, float]]] = {}
        self._status_scripts: dict[str, deque[str]] = {}
        self._triggers: list[TriggerRecord] = []
        self._runs: list[Run] = []
        self._calls: Counter[str] = Counter()
        self._call_times: list[float] = []
        self._admitted: deque[float] = deque()

    def start(self) -> str:
        """Start serving; return the API base URL (`root_url` + `/api/v3`)."""
        return super().start() + API_PREFIX

    # -- the service -------------------------------------------------------------
    def error_body(self, status: int, request: Request | None = None) -> JsonBody | str:
        """axiom's documented body for an injected status (the same for every request)."""
        messages = {
            400: MISSING_NAME_MESSAGE,
            401: INVALID_KEY_MESSAGE,
            403: QUOTA_MESSAGE,
            404: NOT_FOUND_MESSAGE,
            429: RATE_LIMIT_MESSAGE,
        }
        if status >= 500:
            return UNAVAILABLE_HTML
        return {"status": "error", "message": messages.get(status, f"HTTP {status}")}

    def handle(self, request: Request) -> Response:
        """Route one request: authenticate, rate-limit, then answer the endpoint."""
        endpoint = request.path[len(API_PREFIX) :]
        if not request.path.startswith(API_PREFIX + "/"):  # `sheetsync emulator finish-run`,
            return control_answer(self, request)  # or 404 as axiom answers an unknown path
        if request.method != "POST":
            return _error(405, "Method not allowed, use POST.")
        body = request.json()
        body = body if isinstance(body, dict) else {}
        with self.lock:
            self._calls[endpoint] += 1
            self._call_times.append(self.clock())
        if endpoint == "/stop":  # authenticated by the run's pid and password, not the key
            return self._stop(body)
        routes: dict[str, Callable[[dict[str, Any]], Response]] = {
            "/run-data": self._run_data,
            "/list-automations": lambda _: Response(
                200, {"status": "success", "data": {"names": list(self.automations)}}
            ),
            "/remaining-runtime": lambda _: Response(
                200, {"status": "success", "data": dict(self.remaining)}
            ),
            "/run-reports": self._run_reports,
        }
        if endpoint != "/trigger" and endpoint not in routes:
            return _error(404, "Not found.")
        refusal = self._refusal(body)
        if endpoint == "/trigger":
            return self._trigger(body, refusal)
        return self._answer(refusal) if refusal is not None else routes[endpoint](body)

    def _refusal(self, body: dict[str, Any]) -> str | None:
        """The account-level outcome that refuses this call, if any (and count it if admitted)."""
        with self.lock:
            if body.get("key") != self.api_key or not self._key_valid:
                return "invalid_key"
            now = self.clock()
            while self._admitted and self._admitted[0] <= now - RATE_WINDOW:
                self._admitted.popleft()
            if self.rate_limit is not None and len(self._admitted) >= self.rate_limit:
                return "rate_limit"
            self._admitted.append(now)
            return "quota" if self._quota_exceeded else None

    def _trigger(self, body: dict[str, Any], refusal: str | None) -> Response:
        name, data = body.get("name"), body.get("data")
        record_name = name if isinstance(name, str) else ""
        if refusal is not None:
            self._record_trigger(record_name, data, refusal, None)
            return self._answer(refusal)
        problem = None if isinstance(name, str) and name else MISSING_NAME_MESSAGE
        if problem is None and data is not None:
            problem = data_problem(data)
        if problem is not None:
            self._record_trigger(record_name, data, "bad_request", None)
            return _error(400, problem)
        assert isinstance(name, str)
        with self.lock:
            outcome, delay = self._next_outcome(name)
            run = self._start_run(name, data, outcome) if outcome in ("started", "queued") else None
            self._record_trigger(name, data, outcome, run.run_id if run else None)
        if delay:
            self._stopping.wait(delay)  # the run exists already: only the answer is late
        return self._answer(outcome, run)

    def _answer(self, outcome: str, run: Run | None = None) -> Response:
        if outcome == "started" and run is not None:
            return Response(200, {LINK_KEY: run.link})
        statuses = {"error": 404, "invalid_key": 401, "quota": 403, "rate_limit": 429}
        if outcome in statuses:
            return Response(statuses[outcome], self.error_body(statuses[outcome]))
        fixed = {
            "queued": Response(200, {"status": "queued", "message": QUEUED_MESSAGE}),
            "busy": _error(503, BUSY_MESSAGE),
            "html": Response(200, LOGIN_HTML),
            "empty": Response(200, None),
            "bad_json": Response(200, {"result": "accepted"}),
            "redirect": Response(308, "", {"Location": self.redirect_location}),
        }
        return fixed.get(outcome) or Response(503, UNAVAILABLE_HTML)

    def _run_data(self, body: dict[str, Any]) -> Response:
        name = body.get("name")
        if not isinstance(name, str) or not name:
            return _error(400, MISSING_NAME_MESSAGE)
        with self.lock:
            run = next((r for r in reversed(self._runs) if r.name == name), None)
            script = self._status_scripts.get(name)
            if script:
                status = script.popleft()
                if run is not None and run.running:
                    if status in FINAL_STATUSES:
                        self._finish(run, status)
                    else:
                        run.status = status
            elif run is not None:
                status = run.status
            elif name in self.automations:
                return _error(404, "No runs found for this automation.")
            else:
                return _error(404, NOT_FOUND_MESSAGE)
            result = dict(run.result) if run is not None else {}
        return Response(200, {"status": status, "data": result})

    def _run_reports(self, body: dict[str, Any]) -> Response:
        count = body.get("count", 10)
        if not isinstance(count, int) or count < 1:
            return _error(400, "Count must be a positive integer.")
        with self.lock:
            runs = list(reversed(self._runs))[:count]
            reports = [
                {
                    "task_name": r.name,
                    "status": r.status,
                    "description": "Queued" if r.queued and r.running else r.status,
                    "created_at": r.created.isoformat(timespec="seconds"),
                    "updated_at": r.updated.isoformat(timespec="seconds"),
                }
                for r in runs
            ]
        return Response(200, {"status": "success", "data": {"reports": reports}})

    def _stop(self, body: dict[str, Any]) -> Response:
        with self.lock:
            run = next(
                (
                    r
                    for r in self._runs
                    if r.pid == body.get("pid") and r.password == body.get("pw")
                ),
                None,
            )
            if run is None:
                return _error(404, "Run not found.")
            if run.running:
                self._finish(run, "Failure")
        return Response(200, {"status": "success", "message": "Run stopped."})


def build(argv: Sequence[str] | None = None) -> AxiomEmulator:
    """An unstarted emulator configured from command-line arguments."""
    parser = argparse.ArgumentParser(
        prog="python -m sheetsync.emulator.axiom", description="Serve a local axiom.ai API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8086)
    parser.add_argument(
        "--key",
        default=os.environ.get("AXIOM_API_KEY", "test-key"),
        help="the accepted API key (default: $AXIOM_API_KEY, else test-key)",
    )
    parser.add_argument("--automation", nargs="+", action="extend", default=[], metavar="NAME")
    parser.add_argument("--rate-limit", type=int, default=None, help="calls per rolling minute")
    args = parser.parse_args(argv)
    return AxiomEmulator(args.key, args.automation, args.rate_limit, host=args.host, port=args.port)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted."""
    emulator = build(argv)
    url = emulator.start()
    serve_until_interrupted(emulator, announce=lambda: print(f"axiom emulator: {url}", flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
