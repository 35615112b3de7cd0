"""The Sheets request plumbing: every request passes through `PacedHTTPClient`: its
`request`, or for a values read `read_streamed` (the answer consumed as it arrives).

The URL is rewritten to the configured base URL, the identity's shared read or write
budget is taken, and reads and absolute grid resizes are retried on 429/5xx/connection
failures a bounded number of times, with jittered backoff honouring `Retry-After`. Value
writes are never retried here (`sheetsync.adapters.google.sheet` says why).
`bound_client` makes one identity's client: its budgets, timeouts and session headers.
"""

from __future__ import annotations

import codecs
import logging
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import google.auth.transport.requests
import gspread
import requests
from google.oauth2 import service_account
from requests.exceptions import ChunkedEncodingError

from sheetsync.adapters.google.sessions import remember_environment
from sheetsync.adapters.pacing import Pace, fingerprint, limiter_for
from sheetsync.config.google_settings import GoogleSettings
from sheetsync.core.backoff import Backoff, parse_retry_after
from sheetsync.core.telemetry import current

log = logging.getLogger("sheetsync.sheet")
T = TypeVar("T")

GOOGLE_HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")
DEFAULT_CONNECT_TIMEOUT = 10.0
USER_AGENT = "sheetsync (gzip)"
"""Google sends gzip only to clients whose User-Agent contains `gzip`."""
STREAM_CHUNK_BYTES = 1 << 18
"""A streamed answer is decoded 256 KiB (of decompressed bytes) at a time."""
MAX_BACKOFF_SECONDS = 64.0
RETRY = Backoff(1.0, MAX_BACKOFF_SECONDS, 0.5, 1.0, MAX_BACKOFF_SECONDS * 4)
"""Retries of one Sheets request: 0.5-1.5 s doubling to 32-96 s; Retry-After cut to 256 s."""
_VALUE_WRITE = re.compile(r"/values:batchUpdate$")
_READ_PATH = re.compile(r"/v4/spreadsheets/[^/:]+(/values(/[^:]*|:batchGet))?$")


_DEPARTING: ContextVar[Callable[[], None] | None] = ContextVar("departing", default=None)


@contextmanager
def departing(check: Callable[[], None] | None) -> Iterator[None]:
    """Requests sent in this block (this thread) call `check` once their pace slot is held,
    right before they leave: it raises to keep the request back. A write's positions are
    only good while the cycle's lease is: a wait for the shared write budget (a database
    call that a network cut can hold up) must not let a write land after a takeover."""
    token = _DEPARTING.set(check)
    try:
        yield
    finally:
        _DEPARTING.reset(token)


class PacedHTTPClient(gspread.HTTPClient):
    """gspread's HTTP client, redirected to `base_url`, paced, with bounded retries."""

    base_url = "https://sheets.googleapis.com"
    read_limiter: Pace | None = None
    write_limiter: Pace | None = None
    project_limiters: dict[str, Pace] = {}  # noqa: RUF012 (set per bound class)
    """The Cloud project's budgets ("read", "write"), shared by its identities."""
    retries = 5
    _token_request: google.auth.transport.requests.Request | None = None
    """The token endpoint's requests (`_fresh`): one session, made at the first refresh."""
    sleep: Callable[[float], None] = staticmethod(time.sleep)
    rand: Callable[[], float] = staticmethod(random.random)

    def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> requests.Response:
        """Send one request, retrying 429/5xx/connection errors a bounded number of times."""
        return self._attempts(
            method,
            self._url(endpoint),
            lambda url: super(PacedHTTPClient, self).request(method, url, *args, **kwargs),
        )

    def read_streamed(
        self,
        url: str,
        params: dict[str, Any],
        consume: Callable[[Iterator[str]], T],
        *,
        whole: bool = False,
    ) -> T:
        """A GET whose answer is handed to `consume` as text as it arrives (never whole in
        memory, as bytes or as text), or with `whole` in one piece; retried as `request`
        is, a connection lost mid-answer included (`consume` then starts again on the next
        attempt's answer)."""

        def attempt(where: str) -> T:
            with self.session.get(where, params=params, timeout=self.timeout, stream=True) as got:
                if not got.ok:
                    raise gspread.exceptions.APIError(got)
                # counted before its body is read: a body refused still took the budget
                current().request("sheets", request_kind("GET", where), str(got.status_code))
                return consume(_whole(got) if whole else _text(got))

        return self._attempts("GET", self._url(url), attempt, counted=True)

    def _attempts(
        self, method: str, url: str, send: Callable[[str], T], *, counted: bool = False
    ) -> T:
        """`send(url)`, paced, retried as `request` says; `counted`: `send` counts its
        answered requests itself (the failed ones are counted here)."""
        attempt = 0
        while True:
            attempt += 1
            self._pace(method, url)
            check = _DEPARTING.get()
            if check is not None:
                self._fresh()  # after the slot: a long wait for it may age the token
                check()
            try:
                answer = send(url)
            except gspread.exceptions.APIError as exc:
                status = exc.response.status_code
                current().request("sheets", request_kind(method, url), str(status))
                if status != 429 and status < 500:
                    raise
                retry_after = parse_retry_after(exc.response.headers.get("Retry-After"))
                wait = RETRY.wait(attempt - 1, retry_after, self.rand())
                limiter = self._limiter(method, url)
                if status == 429 and limiter is not None and wait is not None:
                    limiter.penalize(wait)
                if wait is None or attempt > self.retries or _is_value_write(url):
                    raise
                log.info("Google answered %s; retry %d in %.1fs", status, attempt, wait)
            except (requests.ConnectionError, requests.Timeout, ChunkedEncodingError) as exc:
                current().request("sheets", request_kind(method, url), "connection")
                if attempt > self.retries or _is_value_write(url):
                    raise
                wait = RETRY.delay(attempt - 1, self.rand())
                log.info(
                    "Google unreachable (%s); retry %d in %.1fs", type(exc).__name__, attempt, wait
                )
            else:
                if not counted:
                    status = getattr(answer, "status_code", 200)
                    current().request("sheets", request_kind(method, url), str(status))
                return answer
            self.sleep(wait)

    def _fresh(self) -> None:
        """Refresh an expired or expiring access token now, before the guard: the refresh
        is a request of its own, which must not come between the guard and the write
        leaving (google-auth would make it inside the write's `request`)."""
        credentials = getattr(self, "auth", None)
        if credentials is not None and not credentials.valid:
            if self._token_request is None:
                self._token_request = google.auth.transport.requests.Request()
            credentials.refresh(self._token_request)

    def once(self, method: str, endpoint: str, **kwargs: Any) -> requests.Response:
        """One request, neither paced nor retried (a Drive look: the next tick retries)."""
        return super().request(method, self._url(endpoint), **kwargs)

    def _url(self, endpoint: str) -> str:
        if self.base_url.rstrip("/") not in GOOGLE_HOSTS:
            for host in GOOGLE_HOSTS:
                if endpoint.startswith(host):
                    return self.base_url.rstrip("/") + endpoint[len(host) :]
        return endpoint

    def _limiter(self, method: str, url: str) -> Pace | None:
        path = url.split("?", 1)[0]
        path = path[path.find("/v4/") :] if "/v4/" in path else ""
        if not path:
            return None
        if method.upper() == "GET" and _READ_PATH.search(path):
            return self.read_limiter
        return self.write_limiter

    def _pace(self, method: str, url: str) -> None:
        limiter = self._limiter(method, url)
        if limiter is not None:
            current().paced("sheets", limiter.acquire())
            shared = self.project_limiters.get("read" if limiter is self.read_limiter else "write")
            if shared is not None:
                current().paced("sheets", shared.acquire())


def _text(response: requests.Response) -> Iterator[str]:
    """An answer's body as text, decompressed and decoded a piece at a time."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    for piece in response.iter_content(STREAM_CHUNK_BYTES):
        yield decoder.decode(piece)
    yield decoder.decode(b"", final=True)


def _whole(response: requests.Response) -> Iterator[str]:
    """An answer's body as one text."""
    yield response.content.decode("utf-8")


def request_kind(method: str, url: str) -> str:
    """A Sheets request's kind for metrics: `values.batchGet`, `metadata`, ..."""
    path = url.split("?", 1)[0]
    for suffix, kind in _KINDS:
        if path.endswith(suffix):
            return kind
    return "metadata" if method.upper() == "GET" and "/spreadsheets/" in path else "other"


_KINDS = (
    ("/values:batchGet", "values.batchGet"),
    ("/values:batchUpdate", "values.batchUpdate"),
    (":batchUpdate", "batchUpdate"),
)


def _is_value_write(url: str) -> bool:
    return _VALUE_WRITE.search(url.split("?", 1)[0]) is not None


def bound_client(
    settings: GoogleSettings,
    credentials: service_account.Credentials,
    email: str,
    project: str,
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> PacedHTTPClient:
    """One identity's client: its own read and write budgets and its Cloud project's
    shared ones (named by `email` and `project`), its retries, timeouts and headers."""
    identity, project = fingerprint(email), fingerprint(project)

    def limiter(name: str, per_minute: int) -> Pace | None:
        return limiter_for(name, per_minute, clock=clock, sleep=sleep)

    client_class = type(
        "BoundPacedHTTPClient",
        (PacedHTTPClient,),
        {
            "base_url": settings.api_base_url,
            "read_limiter": limiter(f"google-read-{identity}", settings.reads_per_minute),
            "write_limiter": limiter(f"google-write-{identity}", settings.writes_per_minute),
            "project_limiters": {
                kind: limiter(f"google-project-{kind}-{project}", limit)
                for kind, limit in (
                    ("read", settings.project_reads_per_minute),
                    ("write", settings.project_writes_per_minute),
                )
            },
            "retries": settings.max_retries,
            "sleep": staticmethod(sleep),
        },
    )
    http: PacedHTTPClient = client_class(credentials)
    # Google compresses an answer only when asked like this: a big tab's columns are
    # 3 MB of JSON per 100,000 rows, about 250 KB gzipped
    http.session.headers.update({"User-Agent": USER_AGENT, "Accept-Encoding": "gzip"})
    remember_environment(http.session)
    http.set_timeout((DEFAULT_CONNECT_TIMEOUT, settings.timeout_seconds))
    return http
