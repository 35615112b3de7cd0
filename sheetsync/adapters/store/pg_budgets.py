"""Budgets on PostgreSQL: each pace and each axiom key's outage gate, shared by every instance.

SQLite keeps a budget's recent calls (`budgets.CallBook`) so that a restart keeps the
pace. Here every instance spends one budget at the same time, so the pace itself lives
in the database (`SharedLimiter`, table `quota_calls`): that record is what a restart
and every peer count, one mechanism instead of a limiter plus its log. An axiom key's
closed outage gate is one row per key (`outages`): an instance that starts, or that
follows the row once a cycle (`follow_gate`), closes its own gate as a peer closed it
and probes before it triggers. Both are facts of a key, not of a spreadsheet: unfenced.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sheetsync.adapters.axiom.outage import Closure, OutageGate
from sheetsync.adapters.pacing import DEFAULT_WINDOW, RollingLimiter
from sheetsync.adapters.store.budgets import attach_gate
from sheetsync.adapters.store.journal_records import iso
from sheetsync.adapters.store.pg_base import PgBase
from sheetsync.adapters.store.pg_pacing import SharedLimiter


class PgBudgets(PgBase):
    """`pace`, `keep_gate`, `follow_gate` of the PostgreSQL store."""

    _pace_clock: Callable[[], float] | None
    """None: the database's clock (one clock for every instance); tests inject one."""
    _sleep: Callable[[float], None]
    _paces: dict[str, SharedLimiter]
    _paces_lock: threading.Lock

    def limiter(
        self, key: str, limit: int, window: float = DEFAULT_WINDOW, **kwargs: Any
    ) -> SharedLimiter:
        """A rolling-window budget shared with every instance (`key` names it, never a secret)."""
        kwargs.setdefault("clock", self._pace_clock)
        kwargs.setdefault("sleep", self._sleep)
        return SharedLimiter(self._pool.connection, key, limit, window, where=self.where, **kwargs)

    def pace(self, limiter: RollingLimiter, now: Callable[[], datetime]) -> SharedLimiter:
        """`limiter`'s budget (name, limit, window) shared with every instance: one per name
        in this process, keeping the stricter budget as `pacing.limiter_for` does."""
        del now  # calls are stamped by the database's clock
        if not limiter.name:
            raise ValueError("a shared pace needs the limiter's budget name")
        with self._paces_lock:
            found = self._paces.get(limiter.name)
            if found is None:
                found = self.limiter(limiter.name, limiter.limit, limiter.window)
                self._paces[limiter.name] = found
            else:
                found.tighten(limiter.limit, limiter.window)
            return found

    def keep_gate(self, gate: OutageGate, budget: str) -> None:
        """Keep the gate's closure in `outages`; the first time, close it as it was left."""
        attach_gate(gate, OutageRow(self, budget))

    def follow_gate(self, gate: OutageGate, budget: str) -> bool:
        """Close an open gate that a peer closed: it probes before its next trigger."""
        if gate.state == "closed":
            return False
        closure = OutageRow(self, budget).load()
        if closure is None:
            return False
        gate.restore(closure)
        return True


class OutageRow:
    """One key's closed gate in `outages` (a `budgets.GateBook`), shared by the fleet."""

    def __init__(self, store: PgBase, budget: str) -> None:
        self.store = store
        self.budget = budget

    def closed(self, closure: Closure) -> None:
        """Keep the closure until a probe (of any instance) answers."""
        with self.store.unfenced() as conn:
            conn.execute(
                "INSERT INTO outages VALUES (%s, %s, %s, %s) ON CONFLICT (budget) DO UPDATE"
                " SET closed_at = excluded.closed_at, strikes = excluded.strikes,"
                " cause = excluded.cause",
                (self.budget, iso(closure.closed_at), closure.strikes, closure.cause),
            )

    def reopened(self) -> None:
        """Forget the closure."""
        with self.store.unfenced() as conn:
            conn.execute("DELETE FROM outages WHERE budget = %s", (self.budget,))

    def load(self) -> Closure | None:
        """The closure an instance left, if any."""
        with self.store.unfenced() as conn:
            found = conn.execute(
                "SELECT closed_at, strikes, cause FROM outages WHERE budget = %s", (self.budget,)
            ).fetchone()
        if found is None:
            return None
        closed_at, strikes, cause = found
        return Closure(datetime.fromisoformat(closed_at), int(strikes), str(cause))
