"""Test controls and records of the axiom emulator (a mixin): what tests steer and read back."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args

RATE_WINDOW = 60.0

Outcome = Literal[
    "started", "queued", "error", "invalid_key", "quota", "rate_limit",
    "busy", "server_error", "html", "empty", "bad_json", "redirect",
]  # fmt: skip
OUTCOMES: frozenset[str] = frozenset(get_args(Outcome))
RUN_STATUSES = ("Running", "Success", "Failure", "Finished")
FINAL_STATUSES = frozenset(RUN_STATUSES[1:])


def rolling_max(times: Sequence[float], window: float = RATE_WINDOW) -> int:
    """The most events in any rolling `window` seconds of sorted `times`."""
    best = start = 0
    for end, at in enumerate(times):
        while times[start] <= at - window:
            start += 1
        best = max(best, end - start + 1)
    return best


@dataclass(frozen=True)
class TriggerRecord:
    """One /trigger call as received (never the key); `outcome` says how it was answered."""

    name: str
    data: Any
    at: float
    outcome: str
    run_id: str | None


@dataclass
class Run:
    """One cloud run; `finished_at` is None while it runs (queued runs count as running)."""

    run_id: str
    name: str
    data: Any
    started_at: float
    link: str
    pid: str
    password: str
    queued: bool = False
    status: str = "Running"
    finished_at: float | None = None
    result: dict[str, Any] = field(default_factory=dict)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def running(self) -> bool:
        """Whether the run has not finished yet."""
        return self.finished_at is None


class RunsMixin:
    """Scripted outcomes, account switches, runs and call counts of `AxiomEmulator`."""

    lock: threading.RLock
    clock: Callable[[], float]
    automations: list[str]
    root_url: str
    _key_valid: bool
    _quota_exceeded: bool
    _scripts: dict[str | None, deque[tuple[str, float]]]
    _status_scripts: dict[str, deque[str]]
    _triggers: list[TriggerRecord]
    _runs: list[Run]
    _calls: Counter[str]
    _call_times: list[float]

    # -- test controls ---------------------------------------------------------
    def script(self, outcomes: Sequence[str | tuple[str, float]], name: str | None = None) -> None:
        """Queue outcomes (optionally `(outcome, delay_seconds)`) for the next /trigger calls."""
        parsed = [(o, 0.0) if isinstance(o, str) else (o[0], float(o[1])) for o in outcomes]
        for outcome, _ in parsed:
            if outcome not in OUTCOMES:
                raise ValueError(f"unknown outcome {outcome!r}; expected one of {sorted(OUTCOMES)}")
        with self.lock:
            self._scripts.setdefault(name, deque()).extend(parsed)

    def set_key_valid(self, valid: bool) -> None:
        """While False, every call is refused with 401 Invalid key (a regenerated key)."""
        with self.lock:
            self._key_valid = valid

    def set_quota_exceeded(self, exceeded: bool) -> None:
        """While True, every keyed call is refused with 403 Quota exceeded."""
        with self.lock:
            self._quota_exceeded = exceeded

    def set_run_statuses(self, name: str, statuses: Sequence[str]) -> None:
        """Successive /run-data answers for `name`; a final status also finishes its latest run."""
        for status in statuses:
            if status not in RUN_STATUSES:
                raise ValueError(f"unknown run status {status!r}; expected one of {RUN_STATUSES}")
        with self.lock:
            self._status_scripts.setdefault(name, deque()).extend(statuses)

    def finish_run(
        self, name: str, status: str = "Success", result: dict[str, Any] | None = None
    ) -> Run:
        """Finish the oldest still-running run of `name` with a final status."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"{status!r} is not a final status; expected one of {FINAL_STATUSES}")
        with self.lock:
            run = next((r for r in self._runs if r.name == name and r.running), None)
            if run is None:
                raise LookupError(f"no running run of {name!r}")
            self._finish(run, status)
            if result is not None:
                run.result = dict(result)
            return run

    # -- what the emulator saw -------------------------------------------------
    @property
    def triggers(self) -> list[TriggerRecord]:
        """Every /trigger call received, in order, whatever it was answered."""
        with self.lock:
            return list(self._triggers)

    def started(self) -> list[TriggerRecord]:
        """The /trigger calls that created a run (started or queued)."""
        return [t for t in self.triggers if t.run_id is not None]

    @property
    def runs(self) -> list[Run]:
        """Every run created, oldest first."""
        with self.lock:
            return list(self._runs)

    def max_concurrent_runs(self, name: str | None = None) -> int:
        """The largest number of runs (of `name`, or of any name) that were running at once."""
        with self.lock:
            runs = [r for r in self._runs if name is None or r.name == name]
            # a finish sorts before a start at the same instant: back-to-back is not overlap
            events = sorted(
                [(r.started_at, 1) for r in runs]
                + [(r.finished_at, -1) for r in runs if r.finished_at is not None]
            )
        best = current = 0
        for _, step in events:
            current += step
            best = max(best, current)
        return best

    def calls(self, endpoint: str) -> int:
        """How many requests reached `endpoint` (e.g. "/trigger"), answered however."""
        with self.lock:
            return self._calls["/" + endpoint.lstrip("/")]

    def calls_per_rolling_minute_max(self) -> int:
        """The most calls (all endpoints) seen in any rolling 60 s window of `clock()`."""
        with self.lock:
            times = sorted(self._call_times)
        return rolling_max(times)

    # -- bookkeeping for the service ----------------------------------------------
    def _next_outcome(self, name: str) -> tuple[str, float]:
        for queue_name in (name, None):
            queue = self._scripts.get(queue_name)
            if queue:
                return queue.popleft()
        return ("started" if name in self.automations else "error"), 0.0

    def _start_run(self, name: str, data: Any, outcome: str) -> Run:
        number = len(self._runs) + 1
        digest = hashlib.sha256(f"{self.root_url}|{name}|{number}".encode()).hexdigest()
        pid, password = f"lar-{digest[:10]}", digest[10:26]
        link = (
            f"https://{pid}.axiom.ai/vnc.html?password={password}"
            "&autoconnect=true&resize=scale&view_only=true"
        )
        run = Run(
            f"run-{number}", name, data, self.clock(), link, pid, password, outcome == "queued"
        )
        self._runs.append(run)
        return run

    def _record_trigger(self, name: str, data: Any, outcome: str, run_id: str | None) -> None:
        with self.lock:
            self._triggers.append(TriggerRecord(name, data, self.clock(), outcome, run_id))

    def _finish(self, run: Run, status: str) -> None:
        run.status, run.finished_at = status, self.clock()
        run.updated = datetime.now(UTC)
