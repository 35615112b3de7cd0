"""Fault injection for the emulators: a failure a test asks for, and which requests it hits.

Tests break the network the way the real services break it: an error status (with a
Retry-After), a delay, a request held until the test lets it go, an answer lost after
the request took effect, a dropped connection. `EmulatorServer.dispatch` applies them.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sheetsync.emulator._http import JsonBody, Request


CUT_HEADER = "X-Emulator-Cut"
"""Marks an answer the server binding sends only half of (`Fault.cut`); never sent."""


@dataclass
class Fault:
    """An injected failure for requests whose `METHOD path` matches `path` (a regex).

    `status` answers with that code instead of handling the request (None: handle it
    normally, after `delay`). `count` limits how many requests it hits (None: all).
    `hold` blocks until the event is set; with `phase="after"` the request is handled
    first and only its answer is held or replaced by `status`/`body` (the client cannot
    know whether it took effect).
    `cut` (with `phase="after"`) sends the answer's headers and half its body, then
    hangs up: a connection lost in the middle of an answer.
    `skip` lets that many matching requests through untouched first.
    `arrived` is set when the first matching request comes in, so a test can wait for it.
    """

    path: str = ".*"
    method: str | None = None
    status: int | None = None
    count: int | None = None
    delay: float = 0.0
    hold: threading.Event | None = None
    phase: str = "before"
    retry_after: str | None = None
    body: JsonBody | str | None = None
    drop: bool = False
    cut: bool = False
    skip: int = 0
    hits: int = 0
    skipped: int = 0
    arrived: threading.Event = field(default_factory=threading.Event)

    def matches(self, request: Request) -> bool:
        """Whether this fault applies to the request and still has hits left."""
        if self.count is not None and self.hits >= self.count:
            return False
        if self.method and self.method.upper() != request.method:
            return False
        return re.search(self.path, request.path) is not None
