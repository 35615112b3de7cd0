"""Rows waiting for axiom's runtime allowance go out again only once minutes are left.

A `403 Quota exceeded` means the billing period's runtime is used up; it does not come
back in seconds. Rows refused so wait (`wait_reason = quota`). When they fall due,
sheetsync asks /remaining-runtime (a read: it starts nothing) instead of spending
/trigger calls that would be refused alike. The answer is shared by every watch and
asked at most once per `QUOTA_WAIT_SECONDS`; while nothing is left, the rows' next
look moves on by as much and their message says when.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from sheetsync.adapters.store.protocol import Store
from sheetsync.core.plan import QUOTA_WAIT_SECONDS
from sheetsync.errors import AxiomError, AxiomReason

log = logging.getLogger("sheetsync.allowance")


class RuntimePort(Protocol):
    """What the allowance check needs from axiom."""

    def remaining_runtime(self) -> dict[str, float]:
        """Minutes used, allowed and remaining; raises AxiomError."""
        ...


def runtime_left(figures: dict[str, float]) -> tuple[bool, str]:
    """Whether /remaining-runtime's figures leave minutes to run, and how to say so."""
    remaining = figures.get("remaining")
    allowance = figures.get("allowance")
    if remaining is None:
        return True, "axiom reports no remaining figure"
    of = f" of {allowance:g}" if allowance is not None else ""
    return remaining > 0, f"{remaining:g}{of} minutes left"


class Allowance:
    """The shared, cached answer to "may quota-waiting rows go out now?"."""

    def __init__(
        self,
        axiom: RuntimePort,
        journal: Store,
        now: Callable[[], datetime],
        every: float = QUOTA_WAIT_SECONDS,
    ) -> None:
        self.axiom = axiom
        self.journal = journal
        self.now = now
        self.every = every
        self._lock = threading.Lock()
        self._answer: tuple[datetime, bool, str] | None = None

    def gate(self, watch: str) -> int:
        """Hold back this watch's due quota-waiting rows while no runtime is left.

        Returns how many rows were held back (0 when there were none or they may go).
        """
        now = self.now()
        due = self.journal.due_waiting(watch, "quota", now)
        if not due:
            return 0
        checked_at, left, detail = self._ask(now)
        if left:
            return 0
        until = checked_at + timedelta(seconds=self.every)
        message = (
            f"axiom quota exceeded: the runtime allowance of this billing period is used up "
            f"({detail} at {checked_at:%H:%M:%S} UTC); sheetsync asks /remaining-runtime "
            f"again after {until:%H:%M:%S} UTC and sends the row when minutes are left"
        )
        self.journal.postpone(watch, due, until, message, now)
        return len(due)

    def _ask(self, now: datetime) -> tuple[datetime, bool, str]:
        with self._lock:
            answer = self._answer
            if answer is not None and (now - answer[0]).total_seconds() < self.every:
                return answer
            try:
                left, detail = runtime_left(self.axiom.remaining_runtime())
            except AxiomError as exc:
                left = False
                refused = exc.reason is AxiomReason.QUOTA
                detail = "axiom still answers Quota exceeded" if refused else f"no answer: {exc}"
            log.info("axiom runtime allowance: %s", detail)
            self._answer = (now, left, detail)
            return self._answer
