"""The lease thread: renews every `renew` seconds and looks for free units every `acquire`
(with jitter), on the leases' own connection, so a busy pool never starves a renewal."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from sheetsync.adapters.store.protocol import LeaseEvent
from sheetsync.errors import StoreError

if TYPE_CHECKING:
    from sheetsync.adapters.store.leases import Leases

log = logging.getLogger("sheetsync.leases")


class LeaseThread:
    """Runs a `Leases`' rounds in the background until stopped."""

    def __init__(
        self, leases: Leases, clock: Callable[[], float], rand: Callable[[], float]
    ) -> None:
        self.leases, self._clock, self._rand = leases, clock, rand
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sheetsync-leases", daemon=True)

    def start(self) -> None:
        """Begin the rounds."""
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """End the rounds; a round hung on the network is left behind after `timeout`."""
        self._stop.set()
        self._thread.join(timeout=timeout)

    def _loop(self) -> None:
        leases, timings = self.leases, self.leases.timings
        renew_at = acquire_at = self._clock()
        while not self._stop.is_set():
            now = self._clock()
            if now >= renew_at:
                self._quietly(leases.renew)
                renew_at = now + timings.renew
            if now >= acquire_at:
                self._quietly(leases.acquire)
                spread = 1 + timings.jitter * (2 * self._rand() - 1)
                acquire_at = now + timings.acquire * spread
            leases.report(leases.expire_trust())
            self._stop.wait(max(0.0, min(renew_at, acquire_at) - self._clock()))

    def _quietly(self, step: Callable[[], list[LeaseEvent]]) -> None:
        """One round; a failure drops the connection (the next round reconnects)."""
        try:
            found = step()
        except StoreError as exc:
            log.warning("%s: %s", self.leases.where, exc)
            self.leases.reconnect()
            return
        self.leases.report(found)
