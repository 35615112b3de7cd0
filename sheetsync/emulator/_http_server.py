"""The emulators' binding to the standard library's threaded HTTP server.

It moves bytes only: what comes off the socket goes to `EmulatorServer.answer`, and its
answer goes back on the same keep-alive connection; a client hanging up is not an error.
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from sheetsync.emulator.faults import CUT_HEADER

if TYPE_CHECKING:
    from sheetsync.emulator._http import EmulatorServer


class QuietServer(ThreadingHTTPServer):
    """A client that hangs up (a killed daemon, a timeout) is normal here, not an error."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def make_handler(app: EmulatorServer) -> type[BaseHTTPRequestHandler]:
    """A request handler class that hands every request to `app`."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle plus
        # the client's delayed ACK add ~40 ms to every keep-alive request.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read app.log
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            answer = app.answer(self.command, self.path, self.headers.items(), body)
            if answer is None:
                self.close_connection = True
                return
            status, payload, content_type, headers = answer
            cut = headers.pop(CUT_HEADER, None) is not None
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2] if cut else payload)
            self.close_connection = self.close_connection or cut

        do_GET = _serve
        do_POST = _serve
        do_PUT = _serve
        do_DELETE = _serve
        do_PATCH = _serve

    return Handler
