"""Sends whose journal record failed: settled by the next cycle of their spreadsheet.

`sending` is committed before each POST and the answer after it. When the store fails
in between (a database restart or a partition shorter than the lease, a full disk), the
process goes on serving the spreadsheet, so neither a takeover nor a restart turns those
rows `unknown`: without this they would show `sending` for good. The sender hands them
here with what it knows: axiom's answer; `unknown` when a POST may have left and its
answer was lost; nothing when no POST left (the rows are only claimed again, and go).

The next cycle of their spreadsheet records it before it reads anything, on the rows
still `sending` (or, for an answer, `unknown`: a takeover in between recovered them).
A spreadsheet that changed hands meanwhile gets its answers through its new holder: on
PostgreSQL `record` leaves an answer it may no longer commit in `late_outcomes`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from sheetsync.adapters.store.journal_records import Outcome
from sheetsync.adapters.store.protocol import Store
from sheetsync.core.telemetry import current
from sheetsync.errors import JournalError, LeaseLostError

log = logging.getLogger("sheetsync.engine")

LOST_ANSWER_MESSAGE = (
    "sheetsync's state store failed while this row's trigger was being sent, so axiom may "
    "or may not have started the run. Check the automation's run history in axiom; type "
    "retry in the status cell to send the row again."
)
RECOVERED = frozenset({"sending", "unknown"})
"""Rows an answer still lands on: in flight, or made `unknown` by a takeover meanwhile."""


@dataclass(frozen=True)
class Unrecorded:
    """One send the journal does not hold the end of."""

    watch: str
    row_ids: tuple[str, ...]
    outcome: Outcome | None
    """axiom's answer (`unknown`: a POST may have left); None: no POST left."""
    at: datetime
    poll: tuple[datetime, float] | None = None
    """A tracked run's first poll (see `Sender.first_poll`)."""
    left: bool = True
    """A POST left (counted as a trigger once recorded; not when the outage gate kept it)."""


class Unsettled:
    """The sends of this process still to be recorded (thread-safe: senders add)."""

    def __init__(self, journal: Store, now: Callable[[], datetime]) -> None:
        self.journal = journal
        self.now = now
        self._items: list[Unrecorded] = []
        self._lock = threading.Lock()

    def add(self, item: Unrecorded) -> None:
        """Keep a send whose record failed, for its spreadsheet's next cycle."""
        with self._lock:
            self._items.append(item)
        what = "no trigger left" if item.outcome is None else f"answer {item.outcome.state!r}"
        log.warning(
            "watch %s: %d row(s) not recorded after their trigger (%s): the next cycle "
            "records them",
            item.watch,
            len(item.row_ids),
            what,
        )

    def settle(self, watches: Collection[str]) -> int:
        """Record what is kept for `watches`; return the rows recorded. A journal that
        fails again keeps the rest and raises (the cycle fails, and the next one retries).
        A lease lost meanwhile: every item goes to the new holder (PostgreSQL's `record`
        leaves an answer in `late_outcomes`; takeover recovered the rest), then it raises:
        the cycle must not go on."""
        with self._lock:
            mine = [i for i in self._items if i.watch in watches]
            self._items = [i for i in self._items if i.watch not in watches]
        done = 0
        lost: LeaseLostError | None = None
        for number, item in enumerate(mine):
            try:
                done += self._settle(item)
            except LeaseLostError as exc:  # its new holder has it: recovered, answer left
                lost = exc
            except JournalError:
                with self._lock:
                    self._items[:0] = mine[number:]
                raise
        if lost is not None:
            raise lost
        return done

    def settle_all(self) -> None:
        """At close: record what can be; what cannot, start-up recovery shows `unknown`."""
        with self._lock:
            watches = {i.watch for i in self._items}
        if not watches:
            return
        try:
            self.settle(watches)
        except LeaseLostError as exc:
            log.info("sends not recorded before closing: %s; its new holder records them", exc)
        except JournalError as exc:
            log.warning("sends not recorded before closing (shown unknown at start): %s", exc)

    def _settle(self, item: Unrecorded) -> int:
        if item.outcome is None:  # nothing left: the rows still `sending` are only claimed
            self.journal.mark_unsent(item.watch, item.row_ids, self.now())
            return len(item.row_ids)
        states = {"sending"} if item.outcome.state == "unknown" else RECOVERED
        found = self.journal.entries_needed(item.watch, self.now(), item.row_ids)
        ids = [r for r in item.row_ids if r in found and found[r].state in states]
        if ids:
            self.journal.record(item.watch, ids, item.outcome, item.at, poll=item.poll)
            if item.left:  # counted once recorded, as the sender counts a recorded one
                current().trigger(item.watch, item.outcome.state)
            log.info(
                "watch %s: row(s) %s recorded as %s after the journal failed",
                item.watch,
                ", ".join(ids),
                item.outcome.state,
            )
        return len(ids)
