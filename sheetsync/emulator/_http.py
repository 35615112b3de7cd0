"""The small HTTP core shared by the local Google and axiom emulators.

Each emulator is an `EmulatorServer` subclass that implements `handle(request)`.
This module gives them requests and responses as values, a server on 127.0.0.1 with a
request log, and the dispatch that applies injected faults (`faults`: status, count,
path pattern, delay, hold, Retry-After) so tests can break the network the way the real
services break. The socket side is `_http_server`'s.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sheetsync.emulator._http_server import QuietServer, make_handler
from sheetsync.emulator.faults import CUT_HEADER, Fault

JsonBody = dict[str, Any] | list[Any]


@dataclass
class Request:
    """One HTTP request as the emulator saw it; `path` is raw (still percent-encoded)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is empty or not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    """What a handler returns; a dict/list body is sent as JSON."""

    status: int = 200
    body: JsonBody | str | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, str]:
        """The body bytes and their content type."""
        if self.body is None:
            return b"", "text/plain"
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), "text/html; charset=utf-8"
        return json.dumps(self.body).encode(), "application/json; charset=utf-8"


@dataclass
class LoggedRequest:
    """An entry of the request log."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    status: int
    at: float


def wants_gzip(headers: Mapping[str, str]) -> bool:
    """`Accept-Encoding` lists gzip (not refused with q=0) and the User-Agent says gzip."""
    if "gzip" not in headers.get("user-agent", "").lower():
        return False
    for item in headers.get("accept-encoding", "").split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() in {"gzip", "*"}:
            return params.replace(" ", "").lower() not in {"q=0", "q=0.0", "q=0.00", "q=0.000"}
    return False


class EmulatorServer:
    """A threaded HTTP server on 127.0.0.1 with a request log and fault injection."""

    gzip_when_asked = False
    """Compress a body when the client asks as Google documents it: `Accept-Encoding: gzip`
    and `gzip` in its User-Agent (developers.google.com/sheets/api/guides/performance)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.log: list[LoggedRequest] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.on_request: Callable[[Request], None] | None = None

    # -- lifecycle -------------------------------------------------------------
    @property
    def root_url(self) -> str:
        """`http://127.0.0.1:PORT` once started."""
        if self._server is None:
            raise RuntimeError("emulator not started")
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> str:
        """Start serving in a daemon thread; return the root URL."""
        handler = make_handler(self)
        self._server = QuietServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() waits for one poll: keep it short
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()
        return self.root_url

    def stop(self) -> None:
        """Stop serving and release every held request."""
        self._stopping.set()
        for fault in list(self.faults):
            if fault.hold is not None:
                fault.hold.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults and log --------------------------------------------------------
    def add_fault(self, **kwargs: Any) -> Fault:
        """Inject a fault (see `Fault`); returns it so a test can read `hits` or set `hold`."""
        fault = Fault(**kwargs)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every injected fault, releasing held requests."""
        with self.lock:
            for fault in self.faults:
                if fault.hold is not None:
                    fault.hold.set()
            self.faults.clear()

    def requests_matching(self, pattern: str, method: str | None = None) -> list[LoggedRequest]:
        """Logged requests whose path matches the regex (and method, if given)."""
        with self.lock:
            return [
                r
                for r in self.log
                if re.search(pattern, r.path) and (method is None or r.method == method)
            ]

    # -- dispatch --------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Answer one request; subclasses route here."""
        raise NotImplementedError

    def dispatch(self, request: Request) -> Response | None:
        """Apply faults, call `handle`, log the answer; None means drop the connection."""
        if self.on_request is not None:
            self.on_request(request)
        fault = self._take_fault(request)
        if fault is not None and fault.phase == "before":
            self._wait(fault)
            if fault.drop:
                self._record(request, 0)
                return None
            if fault.status is not None:
                response = self._fault_response(fault, request)
                self._record(request, response.status)
                return response
        try:
            response = self.handle(request)
        except Exception as exc:  # the emulator must answer like a server, not crash
            response = Response(500, {"error": {"code": 500, "message": repr(exc)}})
        self._record(request, response.status)
        if fault is not None and fault.phase == "after":
            self._wait(fault)
            if fault.drop:
                return None
            if fault.status is not None:
                return self._fault_response(fault, request)
            if fault.cut:
                response.headers[CUT_HEADER] = "1"
        return response

    def answer(
        self, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> tuple[int, bytes, str, dict[str, str]] | None:
        """A request off the wire answered: (status, bytes, content type, headers to send);
        None means drop the connection."""
        split = urlsplit(target)
        request = Request(
            method=method,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in headers},
            body=body,
        )
        response = self.dispatch(request)
        if response is None:
            return None
        payload, content_type, extra = self.render(request, response)
        return response.status, payload, content_type, extra

    def render(self, request: Request, response: Response) -> tuple[bytes, str, dict[str, str]]:
        """The bytes on the wire, their content type and the headers to send with them."""
        payload, content_type = response.encode()
        headers = dict(response.headers)
        if payload and self.gzip_when_asked and wants_gzip(request.headers):
            payload = gzip.compress(payload, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        return payload, content_type, headers

    def _take_fault(self, request: Request) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(request):
                    if fault.skipped < fault.skip:
                        fault.skipped += 1
                        continue
                    fault.hits += 1
                    fault.arrived.set()
                    return fault
        return None

    def _wait(self, fault: Fault) -> None:
        if fault.delay:
            self._stopping.wait(fault.delay)
        if fault.hold is not None:
            fault.hold.wait()

    def _fault_response(self, fault: Fault, request: Request) -> Response:
        """The answer for an injected status; subclasses shape the body like their service."""
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        status = fault.status or 500
        body = fault.body if fault.body is not None else self.error_body(status, request)
        return Response(status, body, headers)

    def error_body(self, status: int, request: Request) -> JsonBody | str:
        """The body the real service sends with this status (`request`: the one answered)."""
        return {"error": {"code": status, "message": f"injected {status}"}}

    def _record(self, request: Request, status: int) -> None:
        with self.lock:
            self.log.append(
                LoggedRequest(
                    request.method, request.path, request.query, request.body, status, time.time()
                )
            )


def serve_until_interrupted(
    *servers: EmulatorServer, announce: Callable[[], None] | None = None
) -> None:
    """Block until Ctrl-C (or SIGTERM turned into KeyboardInterrupt), then stop the servers.

    `announce` (what tells a user or a test that the servers answer) runs inside the wait's
    guard: a Ctrl-C sent the moment it is read must not find the main thread between the
    announcement and the guard. The wait wakes every 0.2 s: a signal the kernel hands to a
    server thread only runs its Python handler once the main thread runs again, which an
    endless wait never does (CPython issue 85300).
    """
    idle = threading.Event()
    try:
        if announce is not None:
            announce()
        while not idle.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.stop()
