"""Each identity's groups of watches with their schedules: what the rota and the budget need.

A group is the watches of one spreadsheet that share a schedule (`engine.group_watches`):
they share every read, so they take one turn together. Cron schedules come from
APScheduler's `CronTrigger` (imported lazily, as the config validation does); the period
a cron group counts for in the budget is the gap between its next two runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sheetsync.adapters.google.identities import Identity, SheetRouter
from sheetsync.config import Watch
from sheetsync.core.budget import Budget
from sheetsync.cycle.engine import group_watches
from sheetsync.service.rota import Rota, Schedule, every

_INSTANT = timedelta(microseconds=1)
MIN_TICK_SECONDS = 1.0
"""Drive change detection looks at most once a second per identity."""


def group_key(watches: Sequence[Watch]) -> str:
    """The name of a group in logs and jobs: its watches' names joined by `+`."""
    return "+".join(w.name for w in watches)


def _cron(expression: str) -> Any:
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger.from_crontab(expression, timezone="UTC")


def period_of(watch: Watch, now: datetime) -> float:
    """Seconds between two cycles the watch's schedule asks for (cron: its next gap)."""
    if not watch.cron:
        return watch.interval
    trigger = _cron(watch.cron)
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first + _INSTANT)
    return float((second - first).total_seconds())


def schedule_of(watch: Watch, spacing: float) -> Schedule:
    """The rota's schedule of a watch's group: its interval, or its cron expression."""
    if not watch.cron:
        return every(watch.interval, spacing)
    trigger = _cron(watch.cron)

    def next_run(due: datetime, started: datetime) -> datetime:
        del due  # a cron run missed while busy is not made up: the next one after the start
        found: datetime = trigger.get_next_fire_time(None, started + _INSTANT)
        return found

    return next_run


@dataclass
class Team:
    """One identity and the groups of watches it serves."""

    identity: Identity
    groups: dict[str, list[Watch]] = field(default_factory=dict)
    periods: dict[str, float] = field(default_factory=dict)

    @property
    def spacing(self) -> float:
        """Seconds per slot: one read each."""
        return 60.0 / self.identity.reads_per_minute

    @property
    def tick(self) -> float:
        """Seconds between two looks at Drive's changes: the shortest schedule (at least 1 s)."""
        return max(MIN_TICK_SECONDS, min(self.periods.values(), default=60.0))

    def budget(self, max_idle: float | None = None) -> Budget:
        """The arithmetic of this team's schedules (Drive: of its safety-net reads)."""
        label, limit = self.identity.label, self.identity.limit
        if max_idle is None:
            return Budget(label, tuple(self.periods.values()), self.available, limit=limit)
        periods = tuple(max(p, max_idle) for p in self.periods.values())
        return Budget(label, periods, self.available, "fully read", limit)

    @property
    def available(self) -> float:
        """Reads a minute the team may spend."""
        return self.identity.reads_per_minute

    def rota(self, now: datetime, max_idle: float | None = None) -> Rota:
        """A fresh rota: every group due now (each first cycle runs at once)."""
        spacing = self.spacing
        schedules = {key: schedule_of(group[0], spacing) for key, group in self.groups.items()}
        return Rota(schedules, self.spacing, now, max_idle=max_idle)


def assign(
    watches: Sequence[Watch], identities: Sequence[Identity], now: datetime
) -> dict[str, str]:
    """Each spreadsheet's identity: the one its watches name, else the least loaded one.

    Load is the reads a minute the schedules ask, relative to each identity's budget;
    the busiest spreadsheets are placed first, ties broken by name, so the same config
    always gives the same answer.
    """
    demand: dict[str, float] = {}
    for group in group_watches(watches):
        sid = group[0].spreadsheet_id
        demand[sid] = demand.get(sid, 0.0) + 60.0 / period_of(group[0], now)
    routes = {w.spreadsheet_id: w.identity for w in watches if w.identity is not None}
    budget = {i.name: i.reads_per_minute for i in identities}
    load = dict.fromkeys(budget, 0.0)
    for sid, name in routes.items():
        load[name] += demand.get(sid, 0.0)
    for sid in sorted(set(demand) - set(routes), key=lambda s: (-demand[s], s)):
        name = min(load, key=lambda n: ((load[n] + demand[sid]) / budget[n], n))
        routes[sid] = name
        load[name] += demand[sid]
    return routes


def teams(watches: Sequence[Watch], router: SheetRouter, now: datetime) -> list[Team]:
    """The enabled watches' groups, per identity (identities with no watch left out)."""
    found: dict[str, Team] = {}
    for group in group_watches(watches):
        identity = router.identity(group[0].spreadsheet_id)
        team = found.setdefault(identity.name, Team(identity))
        key = group_key(group)
        team.groups[key] = list(group)
        team.periods[key] = period_of(group[0], now)
    return list(found.values())
