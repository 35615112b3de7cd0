"""The `Store` protocol: every journal operation the engine uses, plus leases and fencing.

A *unit* is one spreadsheet (all writes to a tab must come from one process). A store
holds units through leases; each acquisition gets a new *epoch* (the fencing token), and
every write transaction of a unit is fenced: it checks, inside the transaction, that
this instance still holds the unit at that epoch, and raises `LeaseLostError` if not.
SQLite holds every unit for as long as its lock file is held.

The journal methods keep the signatures and meanings of `Journal`, `RunLedger`,
`budgets` and `Overview`.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sheetsync.adapters.axiom.outage import OutageGate
from sheetsync.adapters.pacing import Pace, RollingLimiter
from sheetsync.adapters.store.journal_landing import Adoption, ShownRows
from sheetsync.adapters.store.journal_records import Event, Outcome
from sheetsync.adapters.store.overview import CycleView, RowView
from sheetsync.adapters.store.runs import Tracked
from sheetsync.adapters.store.units import Units
from sheetsync.core.landing import Sent, Stray
from sheetsync.core.model import Entry, ResultPage


class Change(enum.Enum):
    """What happened to a unit's lease."""

    ACQUIRED = "acquired"
    """This instance now holds the unit (recovery already ran): drop its caches, serve it."""
    LOST = "lost"
    """Taken, expired or released: stop serving the unit and drop its caches."""
    REFUSED = "refused"
    """A live peer serves the unit with different watches for it: fix the configs."""


@dataclass(frozen=True)
class LeaseEvent:
    """One change of ownership, reported to the caller (who keeps per-unit caches)."""

    change: Change
    unit: str
    epoch: int
    recovered: int = 0
    """ACQUIRED: rows the takeover turned from `sending` into `unknown`."""


@dataclass(frozen=True)
class Instance:
    """One live sheetsync process of a fleet (its heartbeat row)."""

    holder: str
    host: str
    pid: int
    version: str
    heartbeat_age: float
    """Seconds since its last heartbeat, by the database clock."""
    started_at: str = ""  # ISO, UTC
    expires_in: float = math.inf
    """Seconds until its heartbeat row expires (not positive: the process is gone)."""


@dataclass(frozen=True)
class Holding:
    """Who holds one unit, at which epoch."""

    unit: str
    holder: str
    epoch: int
    expires_in: float


class JournalOps(Protocol):
    """The journal operations (the public methods of `Journal`)."""

    def entries(self, watch: str, now: datetime) -> dict[str, Entry]: ...
    def unshown(self, watch: str, now: datetime) -> dict[str, Entry]: ...
    def entries_needed(
        self, watch: str, now: datetime, row_ids: Iterable[str]
    ) -> dict[str, Entry]: ...
    def result_pages(self, watch: str, size: int = 10_000) -> Iterator[ResultPage]: ...
    def has_unchecked(self, watch: str) -> bool: ...
    def ids_to_check(self, watch: str) -> set[str]: ...
    def mark_shown(
        self, watch: str, shown: Iterable[Entry], places: Mapping[str, int] | None = None
    ) -> None: ...
    def read_plan(self, watch: str) -> str | None: ...
    def save_plan(self, watch: str, plan: str | None) -> None: ...
    def mark_checked(self, watch: str, row_ids: Iterable[str]) -> None: ...
    def has_started(self, watch: str) -> bool: ...
    def counts(self, watch: str) -> dict[str, int]: ...
    def waits(self, watch: str, row_ids: Iterable[str]) -> dict[str, int]: ...
    def latest(self, watch: str, limit: int = 10) -> list[Event]: ...
    def mark_started(self, watch: str, now: datetime) -> None: ...
    def claim(
        self,
        watch: str,
        rows: Sequence[tuple[str, str, str]],
        now: datetime,
        places: Sequence[tuple[str, int, str]] = (),
    ) -> None: ...
    def skip(self, watch: str, rows: Sequence[tuple[str, str]], now: datetime) -> None: ...
    def mark_sending(self, watch: str, row_ids: Sequence[str], now: datetime) -> None: ...
    def mark_unsent(self, watch: str, row_ids: Sequence[str], now: datetime) -> None: ...
    def record(
        self,
        watch: str,
        row_ids: Sequence[str],
        outcome: Outcome,
        now: datetime,
        *,
        poll: tuple[datetime, float] | None = None,
    ) -> None: ...
    def postpone(
        self, watch: str, row_ids: Sequence[str], until: datetime, message: str, now: datetime
    ) -> None: ...
    def due_waiting(self, watch: str, reason: str, now: datetime) -> list[str]: ...
    def abandon(self, watch: str, row_ids: Sequence[str], now: datetime) -> None: ...
    def note(self, watch: str, row_id: str, state: str, detail: str, now: datetime) -> None: ...
    def recover(self, now: datetime) -> int: ...


class RunOps(Protocol):
    """Run tracking (the methods of `RunLedger`)."""

    def due(self, watch: str, now: datetime) -> list[Tracked]: ...
    def running(self, names: Iterable[str]) -> list[Tracked]: ...
    def in_flight(self, watch: str) -> int: ...
    def polled(
        self, run: Tracked, state: str, raw: str, poll: tuple[datetime, float], now: datetime
    ) -> None: ...
    def poll_failed(
        self, run: Tracked, detail: str, poll: tuple[datetime, float], now: datetime
    ) -> None: ...
    def expire(self, watch: str, cutoff: datetime, limit: str, now: datetime) -> int: ...


class LandingOps(Protocol):
    """Checking writes (the methods `Journal` has from `LandingRecords`)."""

    def add_strays(
        self, watch: str, strays: Sequence[Stray], replaced: Iterable[Stray], now: datetime
    ) -> None: ...
    def strays(self, watch: str) -> list[tuple[Stray, bool]]: ...
    def drop_strays(self, watch: str, strays: Iterable[Stray]) -> None: ...
    def mark_strays_gone(self, watch: str, strays: Iterable[Stray], gone: bool = True) -> None: ...
    def expect_answer(self, watch: str, rows: Sequence[Sent]) -> None: ...
    def answered(self, watch: str) -> None: ...
    def unanswered(self, watch: str) -> list[Sent]: ...
    def needs_whole_read(self, watch: str) -> bool: ...
    def adopt(self, watch: str, rows: Sequence[Adoption], now: datetime, why: str) -> None: ...

    def adopt_alike(
        self, watch: str, like: Adoption, row_ids: Sequence[str], now: datetime, why: str
    ) -> None: ...
    def adopt_shown(
        self, watch: str, like: Adoption, rows: ShownRows, now: datetime, why: str
    ) -> None: ...
    def ids_with_fingerprint(self, watch: str, fingerprint: str) -> list[str]: ...
    def known_ids(self, watch: str, row_ids: Iterable[str]) -> set[str]: ...


class OverviewOps(Protocol):
    """What operators read (`Overview`'s queries: `status`, STATUS=, metrics)."""

    def save_cycle(
        self, watch: str, now: datetime, held: int, settling: int, error: str
    ) -> None: ...
    def last_cycle(self, watch: str) -> CycleView: ...
    def waiting_by_reason(self, watch: str) -> dict[str, int]: ...
    def needing_a_person(self, watch: str) -> int: ...
    def triggered_since(self, moment: datetime) -> int: ...
    def row_views(
        self,
        watch: str,
        *,
        state: str | None = None,
        row: int | None = None,
        row_id: str | None = None,
        limit: int = 20,
    ) -> list[RowView]: ...
    def size_bytes(self) -> int:
        """The state's size on disk (a file and its WAL; a database)."""
        ...


class BudgetOps(Protocol):
    """Paces and outage gates kept beyond one process (what `budgets` does for SQLite).

    Facts of a key, not of a spreadsheet: never fenced.
    """

    def pace(self, limiter: RollingLimiter, now: Callable[[], datetime]) -> Pace:
        """The pace to spend `limiter`'s budget through (its name, limit and window): a
        restart, and on PostgreSQL every instance, counts the calls of the last window."""
        ...

    def keep_gate(self, gate: OutageGate, budget: str) -> None:
        """Keep the gate's closure; the first time, close the gate as it was left."""
        ...

    def follow_gate(self, gate: OutageGate, budget: str) -> bool:
        """Close an open gate that a peer instance closed (call once a cycle); whether it did."""
        ...


class Store(JournalOps, LandingOps, RunOps, OverviewOps, BudgetOps, Protocol):
    """The journal of one config, with ownership of its units (spreadsheets).

    `units` maps every watch name to its unit. Writes for a watch whose unit this
    instance does not hold raise `LeaseLostError`; reads are served regardless.
    """

    where: str
    """Where the state lives, safe to log (a path, or a URL without its password)."""
    noun: str
    """What the state is, for people: `state file` (SQLite) or `state database`."""
    created: bool
    """This open made the state: it knows no row yet (a lost state starts like this)."""
    created_at: str
    """When the state was made (`""` when made before sheetsync recorded it)."""
    warnings: list[str]
    """What `open` found unsafe but allowed (async standbys); a reader's are not logged."""

    def open(self) -> None:
        """Connect, check and migrate the schema, register this instance."""
        ...

    def close(self) -> None:
        """Release every lease and disconnect."""
        ...

    def acquire(self) -> list[LeaseEvent]:
        """One acquisition round up to the fair share (takeover recovery included)."""
        ...

    def renew(self) -> list[LeaseEvent]:
        """Extend every held lease; units found taken are reported lost."""
        ...

    def release(self, units: Iterable[str] | None = None) -> list[LeaseEvent]:
        """Give units up (all with `None`) so a peer can take them at once."""
        ...

    def held(self) -> Mapping[str, int]:
        """The units this instance holds, with their epochs."""
        ...

    def retarget(self, units: Units) -> list[LeaseEvent]:
        """A reload: serve `units` from now on; units no longer in it are released."""
        ...

    def trusted(self, unit: str) -> bool:
        """Whether the lease is surely still ours: check before every external side effect."""
        ...

    def events(self) -> list[LeaseEvent]:
        """Ownership changes since the last call (acquired by the renewal thread, lost)."""
        ...

    def fenced(self, unit: str, epoch: int) -> AbstractContextManager[object]:
        """A transaction that commits only while (unit, this holder, epoch) is the lease."""
        ...

    def recover_unit(self, unit: str, now: datetime) -> int:
        """At takeover: the unit's `sending` rows become `unknown`; its caches are reset."""
        ...

    def start(self) -> None:
        """Renew and acquire in the background (the daemon); `once` calls rounds itself."""
        ...

    def apply_late(self, unit: str, now: datetime) -> int:
        """Apply answers a former holder got after losing the unit (rows still `unknown`)."""
        ...

    def tombstones(self, watch: str) -> dict[str, list[tuple[int, str]]]:
        """Abandoned claims: row id -> [(claim epoch, fingerprint)] (a zombie write's id)."""
        ...

    def instances(self) -> list[Instance]:
        """The instances sharing this state (`status`)."""
        ...

    def holdings(self) -> list[Holding]:
        """Who holds each unit, at which epoch (`status`)."""
        ...
