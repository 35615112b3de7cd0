"""The axiom.ai adapter: requests with named timeouts, shared pacing and exact outcome mapping.

A trigger's result is a value (`TriggerOutcome`) because the engine writes every outcome
into the sheet; the other calls raise `AxiomError`. Decisions are pure (`classify`,
`trigger_status`, `RETRY` in `sheetsync.adapters.axiom.answers`); only `AxiomClient._post`
touches the network. The rules:

- Never follow a redirect (the key travels in the body and would be re-sent elsewhere).
- Resend a trigger only when it provably never reached axiom or axiom said it did not
  take it: a connection that failed before the request left, a 429, or axiom's own JSON
  503. Any other 5xx, a timeout or a reset after sending, and an unreadable 200 are
  `unknown` and close the key's outage gate (see `outage`): no trigger goes until a
  probe answers. Reads are safe to repeat and are retried after any 5xx or timeout.
- Read at most `MAX_BODY_BYTES` of an answer; accept only a sane http(s) viewer link.
- The key never appears in a message, a log line, an exception or a repr.
"""

from __future__ import annotations

import functools
import logging
import random as _random
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from sheetsync.adapters.axiom.answers import (
    MAX_RETRY_AFTER,
    MESSAGE_CHARS,
    RETRY,
    RUN_STATES,
    Answer,
    Failure,
    Heard,
    RunStatus,
    TriggerOutcome,
    classify,
)
from sheetsync.adapters.axiom.outage import OutageGate
from sheetsync.adapters.axiom.transport import cause, failed_before_sending, read_capped
from sheetsync.adapters.axiom.trigger_outcomes import held_message, read_error, trigger_outcome
from sheetsync.adapters.pacing import DEFAULT_WINDOW, Pace, RollingLimiter
from sheetsync.config import (
    DEFAULT_AXIOM_CALLS_PER_MINUTE,
    DEFAULT_AXIOM_CONNECT_TIMEOUT,
    DEFAULT_AXIOM_READ_TIMEOUT,
    DEFAULT_AXIOM_RETRIES,
)
from sheetsync.core.backoff import parse_retry_after
from sheetsync.core.departure import Departure, Plain
from sheetsync.core.telemetry import current
from sheetsync.errors import AxiomError, ConfigError
from sheetsync.redact import MASK, mask_secret, one_line, redact

log = logging.getLogger("sheetsync.axiom")


class AxiomClient:
    """One axiom account: paced, timed-out, never-redirected POSTs with the key in the body."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        limiter: Pace | None = None,
        session: requests.Session | None = None,
        connect_timeout: float = DEFAULT_AXIOM_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_AXIOM_READ_TIMEOUT,
        retries: int = DEFAULT_AXIOM_RETRIES,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = _random.random,
        gate: OutageGate | None = None,
    ) -> None:
        split = urlsplit(base_url)
        if split.scheme not in ("http", "https") or not split.netloc:
            raise ConfigError(f"axiom.base_url: {base_url!r} is not an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        # the pace and the outage gate of the key: shared with every client of the key
        self.limiter: Pace = limiter or RollingLimiter(
            DEFAULT_AXIOM_CALLS_PER_MINUTE, DEFAULT_WINDOW
        )
        self._session = session or requests.Session()
        # urllib3 must never resend on its own: a resent trigger could start a second run
        no_retry = Retry(total=0, connect=0, read=False, redirect=False, status=0, other=0)
        self._session.mount(f"{split.scheme}://{split.netloc}/", HTTPAdapter(max_retries=no_retry))
        self._timeouts = (connect_timeout, read_timeout)
        self._retries = max(0, retries)
        self._sleep = sleep
        self._random = random
        self.gate = gate or OutageGate()

    def __repr__(self) -> str:
        return f"AxiomClient(base_url={self.base_url!r}, api_key={MASK!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    # -- the four calls --------------------------------------------------------------
    def trigger(
        self, name: str, data: list[Any] | None, *, departure: Departure | None = None
    ) -> TriggerOutcome:
        """Start a cloud run of `name`; every HTTP or network trouble comes back as an outcome.

        `departure` (see `departure`) is told when the request leaves and waits for pace
        slots and retries; its `StoppedError` passes through (the trigger never left).
        """
        payload: dict[str, Any] = {"name": name}
        if data is not None:
            payload["data"] = data
        if not self.gate.admit():  # nothing is sent: the row waits for axiom to answer again
            message = self._clean(held_message(self.gate.closure))
            return TriggerOutcome("waiting", message=message, reason="outage")
        clear: bool | None = None
        doubt = ""
        try:
            result, tries = self._exchange("/trigger", payload, departure or Plain(self._sleep))
            # the viewer link keeps its own VNC password on purpose: only the key is masked
            mask = functools.partial(mask_secret, secret=self._key)
            outcome, doubt = trigger_outcome(
                result, tries, where=self.base_url, clean=self._clean, mask=mask
            )
            clear = outcome.status != "unknown"
        finally:
            closure = self.gate.settle(clear, doubt)
        if closure is not None:
            log.warning(
                "axiom gave an unclear answer to a trigger (%s): that row is unknown, and no "
                "trigger goes with this key until axiom answers /list-automations (first "
                "check in %g s)",
                doubt,
                self.gate.next_probe_in(),
            )
        return outcome

    def may_trigger(self) -> bool:
        """Whether triggers may go: after an unclear answer only once a probe answered 200."""
        return self.gate.check(self._probe)

    def _probe(self) -> bool:
        """One read that starts nothing: does axiom answer 200 again?"""
        result = self._post("/list-automations", {})
        if isinstance(result, Answer) and classify(result).kind == "ok":
            log.warning("axiom answers again (/list-automations: HTTP 200): triggers resume")
            return True
        what = result.cause if isinstance(result, Failure) else f"HTTP {result.http_status}"
        log.info(
            "axiom still gives no clear answer (/list-automations: %s); next check in %g s",
            self._clean(what),
            self.gate.next_probe_in(),
        )
        return False

    def run_data(self, name: str) -> RunStatus:
        """The state of the latest run of `name`; raises AxiomError when axiom cannot tell."""
        body, status = self._read("/run-data", {"name": name})
        raw = body.get("status")
        state = RUN_STATES.get(raw.lower()) if isinstance(raw, str) else None
        if state is None or not isinstance(raw, str):
            message = self._clean(f"axiom /run-data for {name!r}: unknown run status {raw!r}")
            raise AxiomError(message, status=status, request="run-data")
        data = body.get("data")
        return RunStatus(state, raw, data if isinstance(data, dict) else {})

    def list_automations(self) -> list[str]:
        """The exact names of the account's automations; raises AxiomError naming the problem."""
        body, status = self._read("/list-automations", {})
        data = body.get("data")
        names = data.get("names") if isinstance(data, dict) else data
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            message = "axiom /list-automations: the answer holds no list of names"
            raise AxiomError(message, status=status, request="list-automations")
        return list(names)

    def remaining_runtime(self) -> dict[str, float]:
        """Minutes used, allowed and remaining in this billing period."""
        body, status = self._read("/remaining-runtime", {})
        data = body.get("data")
        figures = {
            k: float(v)
            for k, v in (data.items() if isinstance(data, dict) else ())
            if isinstance(v, int | float) and k != "status"
        }
        if not figures:
            message = "axiom /remaining-runtime: the answer holds no runtime figures"
            raise AxiomError(message, status=status, request="remaining-runtime")
        return figures

    # -- plumbing ------------------------------------------------------------------------
    def _read(self, endpoint: str, payload: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """A read-only call: its JSON object and HTTP status, or AxiomError saying why."""
        result, tries = self._exchange(endpoint, payload)
        if isinstance(result, Heard) and result.verdict.kind == "ok":
            return result.verdict.body, result.answer.http_status
        name = payload.get("name")
        raise read_error(result, tries, endpoint, name, where=self.base_url, clean=self._clean)

    def _exchange(
        self, endpoint: str, payload: dict[str, Any], departure: Departure | None = None
    ) -> tuple[Heard | Failure, int]:
        """Post with the retry policy; return the last result (with its verdict) and the
        attempts made.

        With a `departure` (a trigger) only what provably did not start a run is resent;
        without one (a read) anything that may succeed on a second try is.
        """
        attempt = 0
        while True:
            attempt += 1
            posted = self._post(endpoint, payload, departure)
            result = posted if isinstance(posted, Failure) else Heard(posted, classify(posted))
            if isinstance(result, Failure):
                retryable = departure is None or not result.sent
                what, retry_after, reason = result.cause, None, ""
            else:
                safe = ("transient",) if departure is not None else ("transient", "gateway")
                retryable = result.verdict.kind in safe
                what = f"HTTP {result.answer.http_status}"
                retry_after, reason = result.answer.retry_after, result.verdict.reason
            if not retryable:
                return result, attempt
            wait = RETRY.wait(attempt - 1, retry_after, self._random())
            if reason == "rate_limit":
                # everyone sharing this key holds back, not just this call
                # capped: a huge Retry-After parks the rows, it must not block the daemon
                penalty = MAX_RETRY_AFTER if wait is None else min(wait, MAX_RETRY_AFTER)
                self.limiter.penalize(penalty)
            if wait is None or attempt > self._retries:
                return result, attempt
            # retried by itself; a lasting failure is a problem (sheetsync.service.problems)
            log.info(
                "axiom %s: %s; retry %d of %d in %.1f s",
                endpoint,
                self._clean(what),
                attempt,
                self._retries,
                wait,
            )
            if departure is None:
                self._sleep(wait)
            else:
                departure.stayed()
                departure.wait(wait)

    def _post(
        self, endpoint: str, payload: dict[str, Any], departure: Departure | None = None
    ) -> Answer | Failure:
        """One paced POST with the key in the body; transport errors become a `Failure`.

        The slot counts until the (capped) body is read; a departure hears of the request
        only once the slot is held, right before it leaves.
        """
        kind = endpoint.strip("/")
        try:
            with self.limiter.slot(departure.wait if departure is not None else None) as waited:
                current().paced("axiom", waited)
                if departure is not None:
                    departure.leaving()
                response = self._session.post(
                    self.base_url + endpoint,
                    json={"key": self._key, **payload},
                    timeout=self._timeouts,
                    allow_redirects=False,
                    stream=True,
                    # axiom's answers are small: a compressed one could unpack to anything
                    headers={"User-Agent": "sheetsync", "Accept-Encoding": "identity"},
                )
                with response:
                    text, truncated = read_capped(response)
        except requests.RequestException as exc:
            timeout = isinstance(exc, requests.Timeout)
            current().request("axiom", kind, "timeout" if timeout else "connection")
            return Failure(not failed_before_sending(exc), self._clean(cause(exc, self._timeouts)))
        current().request("axiom", kind, str(response.status_code))
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return Answer(
            response.status_code,
            content_type or "no content type",
            text,
            parse_retry_after(response.headers.get("Retry-After")),
            response.headers.get("Location", ""),
            truncated,
        )

    def _clean(self, text: str) -> str:
        """One line, bounded, with the key (and any other known secret) masked; cut first,
        since redacting a megabyte costs seconds."""
        return one_line(redact(mask_secret(text[: MESSAGE_CHARS * 4], self._key)), MESSAGE_CHARS)
