"""The axiom.ai adapter: requests with named timeouts, shared pacing and exact outcome mapping.

A trigger's result is a value (`TriggerOutcome`) because the engine writes every outcome
into the sheet; the other calls raise `AxiomError`. Decisions are pure (`classify`,
`backoff` in `sheetsync.axiom_answers`); only `AxiomClient._post` touches the network. The rules:

- Never follow a redirect (the key travels in the body and would be re-sent elsewhere).
- Retry only what cannot have reached axiom, or cannot do harm: 429, 5xx and connections
  that failed before the request left. A trigger whose connection broke after sending is
  `unknown` and never re-sent; reads may be retried after a timeout.
- The key never appears in a message, a log line, an exception or a repr.
"""

from __future__ import annotations

import logging
import random as _random
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError
from urllib3.util.retry import Retry

from sheetsync.axiom_answers import (
    MAX_RETRY_AFTER,
    MESSAGE_CHARS,
    RUN_STATES,
    SNIPPET_CHARS,
    UNKNOWN_ADVICE,
    WAITING_PREFIX,
    Answer,
    Failure,
    RunStatus,
    TriggerOutcome,
    Verdict,
    backoff,
    classify,
    parse_retry_after,
    unexpected,
)
from sheetsync.config import (
    DEFAULT_AXIOM_CALLS_PER_MINUTE,
    DEFAULT_AXIOM_CONNECT_TIMEOUT,
    DEFAULT_AXIOM_READ_TIMEOUT,
    DEFAULT_AXIOM_RETRIES,
)
from sheetsync.errors import AxiomError, ConfigError
from sheetsync.pacing import DEFAULT_WINDOW, RollingLimiter
from sheetsync.redact import MASK, one_line, redact
from sheetsync.telemetry import current

log = logging.getLogger("sheetsync.axiom")


def failed_before_sending(exc: requests.RequestException) -> bool:
    """Whether the failure certainly happened before the request left (safe to resend)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.ProxyError):
        return True
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return True
    if isinstance(exc, requests.exceptions.InvalidSchema):
        return True
    if isinstance(exc, requests.exceptions.SSLError):
        # a refused certificate or handshake happens before the request is written
        return any(w in str(exc).lower() for w in ("certificate", "handshake", "wrong version"))
    if isinstance(exc, requests.ConnectionError) and exc.args:
        reason = exc.args[0]
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        return isinstance(reason, NewConnectionError)  # NameResolutionError included
    return False


def _cause(exc: requests.RequestException, timeouts: tuple[float, float]) -> str:  # noqa: PLR0911 - one line per cause
    """A short human description of a transport failure."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"no connection within {timeouts[0]:g} s"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"no answer within {timeouts[1]:g} s"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the answer was cut off"
    reason: object = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    if isinstance(reason, NameResolutionError):
        return "host name not found (DNS)"
    if isinstance(reason, NewConnectionError):
        return "connection refused" if "refused" in str(reason).lower() else "cannot connect"
    if "aborted" in str(reason).lower() or "disconnected" in str(reason).lower():
        return "the connection closed before axiom answered"
    return f"{type(exc).__name__}: {one_line(str(exc), SNIPPET_CHARS)}"


class AxiomClient:
    """One axiom account: paced, timed-out, never-redirected POSTs with the key in the body."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        limiter: RollingLimiter | None = None,
        session: requests.Session | None = None,
        connect_timeout: float = DEFAULT_AXIOM_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_AXIOM_READ_TIMEOUT,
        retries: int = DEFAULT_AXIOM_RETRIES,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = _random.random,
    ) -> None:
        split = urlsplit(base_url)
        if split.scheme not in ("http", "https") or not split.netloc:
            raise ConfigError(f"axiom.base_url: {base_url!r} is not an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self._limiter = limiter or RollingLimiter(DEFAULT_AXIOM_CALLS_PER_MINUTE, DEFAULT_WINDOW)
        self._session = session or requests.Session()
        # urllib3 must never resend on its own: a resent trigger could start a second run
        no_retry = Retry(total=0, connect=0, read=False, redirect=False, status=0, other=0)
        self._session.mount(f"{split.scheme}://{split.netloc}/", HTTPAdapter(max_retries=no_retry))
        self._timeouts = (connect_timeout, read_timeout)
        self._retries = max(0, retries)
        self._sleep = sleep
        self._random = random

    def __repr__(self) -> str:
        return f"AxiomClient(base_url={self.base_url!r}, api_key={MASK!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    # -- the four calls --------------------------------------------------------------
    def trigger(self, name: str, data: list[Any] | None) -> TriggerOutcome:
        """Start a cloud run of `name`; every HTTP or network trouble comes back as an outcome."""
        payload: dict[str, Any] = {"name": name}
        if data is not None:
            payload["data"] = data
        result, verdict, attempts = self._exchange("/trigger", payload, resend_after_send=False)
        if isinstance(result, Failure):
            if result.sent:
                return TriggerOutcome(
                    "unknown",
                    message=self._clean(
                        f"The connection to axiom broke after the trigger was sent "
                        f"({result.cause}): {UNKNOWN_ADVICE}"
                    ),
                )
            return TriggerOutcome(
                "waiting",
                message=self._clean(
                    f"cannot reach axiom at {self.base_url}: {result.cause} ({_attempts(attempts)})"
                ),
                reason="connection",
            )
        assert verdict is not None
        code, message = result.http_status, self._clean(verdict.message)
        if verdict.kind == "link":
            # the viewer link carries its own VNC password on purpose: only the key is masked
            link = verdict.message.replace(self._key, MASK) if self._key else verdict.message
            return TriggerOutcome("triggered", link=link, http_status=code)
        if verdict.kind == "queued":
            return TriggerOutcome("queued", message=message, http_status=code)
        if verdict.kind in ("account", "transient"):
            text = f"{WAITING_PREFIX[verdict.reason]}: {message} (HTTP {code}"
            text += f", {_attempts(attempts)})" if verdict.kind == "transient" else ")"
            return TriggerOutcome(
                "waiting",
                message=text,
                http_status=code,
                reason=verdict.reason,
                retry_after=result.retry_after,
            )
        if verdict.kind == "ok":
            message = self._clean(unexpected(result))
        return TriggerOutcome("error", message=message, http_status=code)

    def run_data(self, name: str) -> RunStatus:
        """The state of the latest run of `name`; raises AxiomError when axiom cannot tell."""
        body = self._read("/run-data", {"name": name})
        raw = body.get("status")
        state = RUN_STATES.get(raw.lower()) if isinstance(raw, str) else None
        if state is None or not isinstance(raw, str):
            raise AxiomError(
                self._clean(f"axiom /run-data for {name!r}: unknown run status {raw!r}")
            )
        data = body.get("data")
        return RunStatus(state, raw, data if isinstance(data, dict) else {})

    def list_automations(self) -> list[str]:
        """The exact names of the account's automations; raises AxiomError naming the problem."""
        data = self._read("/list-automations", {}).get("data")
        names = data.get("names") if isinstance(data, dict) else data
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise AxiomError("axiom /list-automations: the answer holds no list of names")
        return list(names)

    def remaining_runtime(self) -> dict[str, float]:
        """Minutes used, allowed and remaining in this billing period."""
        data = self._read("/remaining-runtime", {}).get("data")
        if not isinstance(data, dict):
            raise AxiomError("axiom /remaining-runtime: the answer holds no runtime figures")
        figures = {
            k: float(v) for k, v in data.items() if isinstance(v, int | float) and k != "status"
        }
        if not figures:
            raise AxiomError("axiom /remaining-runtime: the answer holds no runtime figures")
        return figures

    # -- plumbing ------------------------------------------------------------------------
    def _read(self, endpoint: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A read-only call: its JSON object, or AxiomError with a one-line reason."""
        result, verdict, attempts = self._exchange(endpoint, payload, resend_after_send=True)
        where = f"axiom {endpoint}" + (f" for {payload['name']!r}" if "name" in payload else "")
        if isinstance(result, Failure):
            raise AxiomError(
                self._clean(
                    f"{where}: cannot reach axiom at {self.base_url}: {result.cause} "
                    f"({_attempts(attempts)})"
                )
            )
        assert verdict is not None
        if verdict.kind == "ok":
            return verdict.body
        message = self._clean(verdict.message)
        if verdict.kind in ("account", "transient"):
            message = f"{WAITING_PREFIX[verdict.reason]}: {message}"
        elif verdict.kind in ("link", "queued"):
            message = self._clean(unexpected(result))
        raise AxiomError(f"{where}: {message} (HTTP {result.http_status})")

    def _exchange(
        self, endpoint: str, payload: dict[str, Any], *, resend_after_send: bool
    ) -> tuple[Answer | Failure, Verdict | None, int]:
        """Post with the retry policy; return the last result, its verdict and the attempts made."""
        attempt = 0
        while True:
            attempt += 1
            result = self._post(endpoint, payload)
            verdict = None if isinstance(result, Failure) else classify(result)
            if isinstance(result, Failure):
                retryable = resend_after_send or not result.sent
                what, retry_after = result.cause, None
            else:
                assert verdict is not None
                retryable = verdict.kind == "transient"
                what = f"HTTP {result.http_status}"
                retry_after = result.retry_after
            if not retryable:
                return result, verdict, attempt
            wait = backoff(attempt - 1, retry_after, self._random())
            if verdict is not None and verdict.reason == "rate_limit":
                # everyone sharing this key holds back, not just this call
                # capped: a huge Retry-After parks the rows, it must not block the daemon
                self._limiter.penalize(min(wait or MAX_RETRY_AFTER, MAX_RETRY_AFTER))
            if wait is None or attempt > self._retries:
                return result, verdict, attempt
            log.info(  # retried by itself; a lasting failure is a problem (sheetsync.problems)
                "axiom %s: %s; retry %d of %d in %.1f s",
                endpoint,
                self._clean(what),
                attempt,
                self._retries,
                wait,
            )
            self._sleep(wait)

    def _post(self, endpoint: str, payload: dict[str, Any]) -> Answer | Failure:
        """One paced POST with the key in the body; transport errors become a `Failure`."""
        kind = endpoint.strip("/")
        try:
            with self._limiter.slot() as waited:  # counted until the answer is in: see `slot`
                current().paced("axiom", waited)
                response = self._session.post(
                    self.base_url + endpoint,
                    json={"key": self._key, **payload},
                    timeout=self._timeouts,
                    allow_redirects=False,
                    headers={"User-Agent": "sheetsync"},
                )
        except requests.RequestException as exc:
            timeout = isinstance(exc, requests.Timeout)
            current().request("axiom", kind, "timeout" if timeout else "connection")
            return Failure(not failed_before_sending(exc), self._clean(_cause(exc, self._timeouts)))
        current().request("axiom", kind, str(response.status_code))
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return Answer(
            response.status_code,
            content_type or "no content type",
            response.text,
            parse_retry_after(response.headers.get("Retry-After")),
            response.headers.get("Location", ""),
        )

    def _clean(self, text: str) -> str:
        """One line, bounded, with the key (and any other known secret) masked."""
        if self._key:
            text = text.replace(self._key, MASK)
        return one_line(redact(text), MESSAGE_CHARS)


def _attempts(count: int) -> str:
    return "1 attempt" if count == 1 else f"{count} attempts"
