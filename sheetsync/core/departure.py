"""How one trigger leaves: what the sender does while it waits and right before the POST.

The axiom client paces and retries; the sender owns the journal and knows whether the
daemon is stopping. A `Departure` joins the two so that `sending` is committed only
once the pace slot is held, right before the request leaves, and a long wait for a
slot can flush the sheet and give way to a stop request (`StoppedError`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class Departure(Protocol):
    """The sender's side of one trigger's way out."""

    def wait(self, seconds: float) -> None:
        """Wait (for a pace slot or before a retry); may return early, or raise
        `StoppedError` to give up: nothing was sent."""
        ...

    def leaving(self) -> None:
        """The slot is held and the POST goes next: make that durable (`sending`); may
        raise `StoppedError`."""
        ...

    def stayed(self) -> None:
        """The attempt did not reach axiom, or axiom did not take it, and a retry follows
        after a wait: the rows are only claimed again meanwhile."""
        ...


@dataclass(frozen=True)
class Plain:
    """A departure with no journal: waits are plain sleeps (reads, tests, `check`)."""

    sleep: Callable[[float], None]

    def wait(self, seconds: float) -> None:
        """Sleep."""
        self.sleep(seconds)

    def leaving(self) -> None:
        """Nothing to record."""

    def stayed(self) -> None:
        """Nothing to record."""
