"""Today's SQLite `Journal` behind the `Store` protocol: one process holds every unit.

The lock file is the lease. At `open()` one transaction bumps every unit's epoch (kept
in a `leases` table of the same file), and the first `acquire()` recovers each unit
through the same path as a PostgreSQL takeover. Fences pass while the lock is held.
Run tracking keeps `RunLedger`'s cross-watch updates: one process owns every watch, so
they are atomic already and need no `runs` table.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sheetsync.adapters.axiom.outage import OutageGate
from sheetsync.adapters.pacing import RollingLimiter
from sheetsync.adapters.store import budgets
from sheetsync.adapters.store.journal import Journal
from sheetsync.adapters.store.journal_records import UNKNOWN_MESSAGE, event, iso
from sheetsync.adapters.store.overview import CycleView, Overview, RowView
from sheetsync.adapters.store.protocol import Change, Holding, Instance, LeaseEvent, Store
from sheetsync.adapters.store.runs import RunLedger, Tracked
from sheetsync.adapters.store.units import Units
from sheetsync.errors import LeaseLostError

_LEASES = "CREATE TABLE IF NOT EXISTS leases (unit TEXT PRIMARY KEY, epoch INTEGER NOT NULL)"
_BUMP = "INSERT INTO leases VALUES (?, 1) ON CONFLICT (unit) DO UPDATE SET epoch = epoch + 1"


class SqliteStore(Journal):
    """A `Journal` that is also a `Store`: its lock file leases every unit to this process."""

    def __init__(
        self,
        path: Path,
        units: Units,
        *,
        lock: bool = True,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        readonly: bool = False,
    ) -> None:
        """`readonly`: a reader (`status`, `check`): no lock, nothing written, no unit held."""
        super().__init__(path, lock=lock and not readonly, readonly=readonly, now=now)
        self._readonly = readonly
        self.units = units
        self.where = str(path)
        self.noun = "state file"
        self.warnings: list[str] = []
        self._held: dict[str, int] = {}
        self._unrecovered: list[str] = []
        self._per_unit = True  # the first acquire() recovers each unit (see `recover`)

    # -- leases: the lock file -----------------------------------------------------
    def open(self) -> None:
        """Bump every unit's epoch in one transaction: this process holds them all (a
        reader holds none)."""
        if self._readonly:
            return
        with self._transaction() as db:
            db.execute(_LEASES)
            for unit in self.units.all:
                db.execute(_BUMP, (unit,))
            found = db.execute("SELECT unit, epoch FROM leases").fetchall()
        self._held = {u: int(e) for u, e in found if u in self.units.hashes}
        self._unrecovered = sorted(self._held)

    def start(self) -> None:
        """Nothing to renew: the lock is held until the process ends."""

    def acquire(self) -> list[LeaseEvent]:
        """The first round recovers every unit's `sending` rows, as a PostgreSQL takeover
        would (unless `recover(now)` did it for every watch already, as the journal does at
        start), but keeps their read plans: the lock means only this file's own earlier
        process served them, so its plans hold (a `sheetsync once` run by a timer reads a
        big tab narrowly, as it always did)."""
        events = []
        for unit in self._unrecovered:
            recovered = self._recover_rows(unit, datetime.now(UTC)) if self._per_unit else 0
            events.append(LeaseEvent(Change.ACQUIRED, unit, self._held[unit], recovered))
        self._unrecovered = []
        return events

    def recover(self, now: datetime) -> int:
        """The journal's start-up recovery: every watch's `sending` rows (a removed watch's
        too) become `unknown`; saved read plans stay (a big tab's first cycle stays narrow).
        The first `acquire()` then has nothing left to recover."""
        self._per_unit = False
        return super().recover(now)

    def renew(self) -> list[LeaseEvent]:
        """Nothing expires while the lock is held."""
        return []

    def release(self, units: Iterable[str] | None = None) -> list[LeaseEvent]:
        """Stop serving units (the lock stays: no other process may take them)."""
        chosen = sorted(self._held if units is None else set(units) & set(self._held))
        return [LeaseEvent(Change.LOST, u, self._held.pop(u)) for u in chosen]

    def retarget(self, units: Units) -> list[LeaseEvent]:
        """A reload: units no longer configured are released; new ones are held at once
        (their epoch bumped; their rows were recovered at start, as every watch's)."""
        self.units = units
        if self._readonly:
            return []
        events = self.release(set(self._held) - set(units.hashes))
        new = sorted(set(units.hashes) - set(self._held))
        if new:
            with self._transaction() as db:
                db.execute(_LEASES)
                for unit in new:
                    db.execute(_BUMP, (unit,))
                marks = ",".join("?" * len(new))
                found = db.execute(f"SELECT unit, epoch FROM leases WHERE unit IN ({marks})", new)
                taken = {str(u): int(e) for u, e in found.fetchall()}
            self._held.update(taken)
            events += [LeaseEvent(Change.ACQUIRED, u, e) for u, e in sorted(taken.items())]
        return events

    def held(self) -> Mapping[str, int]:
        """Every unit, at the epoch of this process."""
        return dict(self._held)

    def trusted(self, unit: str) -> bool:
        """Held for as long as the lock file is."""
        return unit in self._held

    def events(self) -> list[LeaseEvent]:
        """No background changes: nobody else can take a unit."""
        return []

    @contextmanager
    def fenced(self, unit: str, epoch: int) -> Iterator[sqlite3.Connection]:
        """A transaction; the fence passes while this process holds `unit` at `epoch`."""
        if self._held.get(unit) != epoch:
            raise LeaseLostError(unit, epoch)
        with self._transaction() as db:
            yield db

    def recover_unit(self, unit: str, now: datetime) -> int:
        """The unit's `sending` rows become `unknown`; its saved read plans are dropped."""
        recovered = self._recover_rows(unit, now)
        watches = self.units.watches(unit)
        marks = ",".join("?" * len(watches))
        with self.fenced(unit, self._held.get(unit, 0)) as db:
            db.execute(f"DELETE FROM plans WHERE watch IN ({marks})", watches)
        return recovered

    def _recover_rows(self, unit: str, now: datetime) -> int:
        """The unit's `sending` rows become `unknown`."""
        stamp, epoch = iso(now), self._held.get(unit, 0)
        watches = self.units.watches(unit)
        marks = ",".join("?" * len(watches))
        with self.fenced(unit, epoch) as db:
            stuck = db.execute(
                f"SELECT watch, row_id FROM rows WHERE state = 'sending' AND watch IN ({marks})"
                " ORDER BY watch, row_id",
                watches,
            ).fetchall()
            for watch, row_id in stuck:
                db.execute(
                    "UPDATE rows SET state = 'unknown', message = ?, updated_at = ?"
                    " WHERE watch = ? AND row_id = ?",
                    (UNKNOWN_MESSAGE, stamp, watch, row_id),
                )
                event(db, stamp, watch, row_id, "unknown", f"recovered at takeover (epoch {epoch})")
        return len(stuck)

    def apply_late(self, unit: str, now: datetime) -> int:
        """One process: no answer can arrive after its sender lost the unit."""
        del unit, now
        return 0

    def tombstones(self, watch: str) -> dict[str, list[tuple[int, str]]]:
        """One process: no zombie claim write can come back from another holder."""
        del watch
        return {}

    def instances(self) -> list[Instance]:
        """A lone process is not a fleet."""
        return []

    def holdings(self) -> list[Holding]:
        """Every unit, held by this process for as long as it runs."""
        return [Holding(u, "local", e, math.inf) for u, e in sorted(self._held.items())]

    # -- operators (Overview) ---------------------------------------------------------
    def save_cycle(self, watch: str, now: datetime, held: int, settling: int, error: str) -> None:
        """Keep what the watch's last cycle held back (written only when it changed)."""
        Overview(self).save_cycle(watch, now, held, settling, error)

    def last_cycle(self, watch: str) -> CycleView:
        """The watch's last cycle as saved, or an empty view."""
        return Overview(self).cycle(watch)

    def waiting_by_reason(self, watch: str) -> dict[str, int]:
        """Rows of `watch` now `waiting`, by reason."""
        return Overview(self).waiting_by_reason(watch)

    def needing_a_person(self, watch: str) -> int:
        """Rows of `watch` now `error` or `unknown`."""
        return Overview(self).needing_a_person(watch)

    def triggered_since(self, moment: datetime) -> int:
        """Rows triggered or queued since `moment`, from the history."""
        return Overview(self).triggered_since(moment)

    def row_views(
        self,
        watch: str,
        *,
        state: str | None = None,
        row: int | None = None,
        row_id: str | None = None,
        limit: int = 20,
    ) -> list[RowView]:
        """A watch's rows, newest change first, filtered (see `Overview.rows`)."""
        return Overview(self).rows(watch, state=state, row=row, row_id=row_id, limit=limit)

    def size_bytes(self) -> int:
        """The journal file and its WAL on disk."""
        files = [self.path, self.path.with_name(self.path.name + "-wal")]
        return sum(f.stat().st_size for f in files if f.exists())

    # -- budgets -------------------------------------------------------------------
    def pace(self, limiter: RollingLimiter, now: Callable[[], datetime]) -> RollingLimiter:
        """The limiter itself, its calls recorded in the journal and, the first time,
        seeded with the calls a previous process made in the last window."""
        budgets.keep_pace(limiter, self, now)
        return limiter

    def keep_gate(self, gate: OutageGate, budget: str) -> None:
        """Keep the gate's closure in the journal; the first time, close it as it was left."""
        budgets.keep_gate(gate, self, budget)

    def follow_gate(self, gate: OutageGate, budget: str) -> bool:
        """One process: no peer closes its gates."""
        del gate, budget
        return False

    # -- RunLedger -------------------------------------------------------------------
    def due(self, watch: str, now: datetime) -> list[Tracked]:
        """This watch's tracked runs whose next poll is due, one per automation name."""
        return RunLedger(self).due(watch, now)

    def running(self, names: Iterable[str]) -> list[Tracked]:
        """The tracked runs (of any watch) of these automation names, due or not."""
        return RunLedger(self).running(names)

    def in_flight(self, watch: str) -> int:
        """Runs of this watch still running or queued, as far as sheetsync can tell."""
        return RunLedger(self).in_flight(watch)

    def polled(
        self, run: Tracked, state: str, raw: str, poll: tuple[datetime, float], now: datetime
    ) -> None:
        """Record a /run-data answer: reschedule a running run, or settle an ended one."""
        RunLedger(self).polled(run, state, raw, poll, now)

    def poll_failed(
        self, run: Tracked, detail: str, poll: tuple[datetime, float], now: datetime
    ) -> None:
        """A poll that got no answer: keep the run tracked and try later (never re-trigger)."""
        RunLedger(self).poll_failed(run, detail, poll, now)

    def expire(self, watch: str, cutoff: datetime, limit: str, now: datetime) -> int:
        """Stop tracking this watch's runs triggered before `cutoff`; return how many rows."""
        return RunLedger(self).expire(watch, cutoff, limit, now)


def _conforms(store: SqliteStore) -> Store:
    """Never called: mypy checks here that `SqliteStore` implements the whole protocol."""
    return store
