"""A backlog's waits: while triggers wait for pace slots, the sheet still shows progress.

With more rows than `calls_per_minute`, triggers wait up to a minute for a slot. Those
waits go through `Backlog.wait`, which sleeps in short steps: between them it flushes
(read 2 + write 2, with a progress line in the log) every `flush_seconds`, and a stop
request ends the wait with `StoppedError` before anything was sent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sheetsync.errors import SheetError, StoppedError

log = logging.getLogger("sheetsync.engine")

STEP_SECONDS = 1.0
"""A wait looks at the clock this often: a stop request ends it within about a second."""


class Backlog:
    """The waits and progress of one group cycle's sends (shared by its sending threads)."""

    def __init__(
        self,
        flush: Callable[[], None],
        *,
        timer: Callable[[], float],
        sleep: Callable[[float], None],
        every: float,
        stopping: Callable[[], bool],
    ) -> None:
        self.flush = flush
        self.timer = timer
        self.sleep = sleep
        self.every = every
        self.stopping = stopping
        self.progress: dict[str, tuple[int, int]] = {}
        """Per watch: rows answered so far, rows to send."""
        self._began = self._last = timer()
        self._lock = threading.Lock()

    def wait(self, seconds: float) -> None:
        """Wait up to `seconds` (a pace slot, a retry), flushing when due; a stop ends it."""
        if self.stopping():
            raise StoppedError("sheetsync is stopping")
        self.tick()
        self.sleep(min(seconds, STEP_SECONDS))
        if self.stopping():
            raise StoppedError("sheetsync is stopping")

    def done(self, watch: str, rows: int, total: int) -> None:
        """Rows of a watch were answered; flush if due."""
        self.progress[watch] = (rows, total)
        self.tick()

    def tick(self) -> None:
        """Flush when `every` seconds passed: one thread does it, the others go on."""
        if self.timer() - self._last < self.every or not self._lock.acquire(blocking=False):
            return
        try:
            if self.timer() - self._last < self.every:
                return
            try:
                self.flush()
            except SheetError as exc:  # the final flush (or the next cycle) writes them
                log.warning("cannot write the results so far (sending goes on): %s", exc)
            self._last = self.timer()
            self._log_progress()
        finally:
            self._lock.release()

    def _log_progress(self) -> None:
        elapsed = self.timer() - self._began
        for watch, (rows, total) in sorted(self.progress.items()):
            if rows < total:
                log.info(
                    "watch %s: %d of %d rows answered after %.0f s (the rest wait for axiom's "
                    "pace); the sheet shows them",
                    watch,
                    rows,
                    total,
                    elapsed,
                )
