"""The daemon's rotas on a fake clock, for tests and benchmarks of many spreadsheets.

`simulate()` does what the daemon's slot jobs do (`sheetsync.service.dispatch`): every
identity's rota is asked at each slot which group to start, and that group's cycle runs
against the emulators; with Drive change detection, every identity looks at Drive once a
tick.
Each identity's slot comes when its rota's `wake_at()` says, as the daemon's job does.
Cycles run one at a time and take no simulated time, except the pacers' waits, which
advance the same clock. Times are simulated seconds since the start.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sheetsync.service.drive import ChangeFeed, Lookout, end_turn
from sheetsync.service.rota import Rota
from sheetsync.service.schedules import Team, teams
from sheetsync.service.wiring import Runtime
from sheetsync.testing import Clock


@dataclass
class Simulation:
    """What a simulated run saw, in simulated seconds."""

    teams: list[Team]
    starts: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    """group key -> when each of its cycles started."""
    reads: list[tuple[float, int]] = field(default_factory=list)
    """(when a cycle started, the Sheets reads it took)."""
    turns: list[tuple[float, str, int, int]] = field(default_factory=list)
    """(when a cycle started, its group, the reads it took, the rows it triggered)."""
    cycles: Counter[str] = field(default_factory=Counter)
    """watch -> cycles run."""
    errors: list[str] = field(default_factory=list)
    looks: int = 0
    """Looks at Drive's changes feed."""

    @property
    def team(self) -> Team:
        """The only team (one identity)."""
        [team] = self.teams
        return team

    def intervals(self, key: str) -> list[float]:
        """Seconds between a group's consecutive cycles."""
        return [b - a for a, b in itertools.pairwise(self.starts[key])]


def simulate(
    clock: Clock,
    runtime: Runtime,
    *,
    duration: float,
    before: Callable[[float], None] = lambda _now: None,
) -> Simulation:
    """Run every identity's rota (and, with Drive change detection, its look at Drive each
    tick) for `duration` simulated seconds; `before(now)` is called before each event
    (people edit the sheets there)."""
    found = teams(runtime.config.watches, runtime.sheets, clock.now)
    google = runtime.config.google
    max_idle = google.max_idle_seconds if google.drive else None
    sim = Simulation(found)
    rotas = [team.rota(clock.now, max_idle) for team in found]
    lookouts = [
        Lookout(team, rota, ChangeFeed(team.identity.sheets))
        for team, rota in zip(found, rotas, strict=True)
    ]
    # (when, what: 0 a look at Drive, 1 a slot, which team, version); looks go first at
    # equal times; a slot event whose version is not the team's latest is stale
    versions = [0] * len(found)
    events = [(0.0, 0, index, 0) for index in range(len(found)) if max_idle is not None]

    def plan_slot(index: int) -> None:
        versions[index] += 1
        wake = rotas[index].wake_at(clock.now)
        if wake is not None:
            at = (wake - clock.start).total_seconds()
            heapq.heappush(events, (at, 1, index, versions[index]))

    for index in range(len(found)):
        plan_slot(index)
    heapq.heapify(events)
    while events and events[0][0] < duration:
        at, kind, index, version = heapq.heappop(events)
        if kind == 1 and version != versions[index]:
            continue
        clock.advance(max(0.0, at - clock.elapsed))
        before(clock.elapsed)
        if kind == 0:
            lookouts[index].look(clock.now)
            sim.looks += 1
            heapq.heappush(events, (at + found[index].tick, 0, index, 0))
        else:
            _slot(sim, runtime, found[index], rotas[index], clock)
        plan_slot(index)
    return sim


def _slot(sim: Simulation, runtime: Runtime, team: Team, rota: Rota, clock: Clock) -> None:
    key = rota.take(clock.now)
    if key is None:
        return
    watches, started, began = team.groups[key], clock.now, clock.elapsed
    reports = runtime.cycle_group(watches)
    for report in reports:
        sim.cycles[report.watch] += 1
        if report.error:
            sim.errors.append(f"{report.watch}: {report.error}")
    reads = runtime.sheets.reads_pending(watches[0].spreadsheet_id)
    end_turn(rota, runtime.sheets, runtime.journal, watches, reports, started)
    sim.starts[key].append(began)
    sim.reads.append((began, reads))
    sim.turns.append((began, key, reads, sum(r.triggered for r in reports)))
