"""The daemon's rotas on a fake clock, for tests and benchmarks of many spreadsheets.

`simulate()` does what the daemon's slot jobs do (`sheetsync.daemon`): every identity's
rota is asked once a slot which group to start, and that group's cycle runs against the
emulators; with Drive change detection, every identity looks at Drive once a tick.
Cycles run one at a time and take no simulated time, except the pacers' waits, which
advance the same clock; slots a wait covers are coalesced into one, as APScheduler does.
Times are simulated seconds since the start.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sheetsync.drive import ChangeFeed, Lookout, end_turn
from sheetsync.rota import Rota
from sheetsync.runtime import Runtime
from sheetsync.schedules import Team, teams
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

    def most_reads(self, window: float) -> int:
        """The most Sheets reads that started within any `window` seconds."""
        times = sorted(t for t, n in self.reads for _ in range(n))
        return max(
            (bisect.bisect_right(times, t + window - 1e-9) - i for i, t in enumerate(times)),
            default=0,
        )


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
    # (when, what: 0 a look at Drive, 1 a slot, which team); looks go first at equal times
    events = [(0.0, 1, index) for index in range(len(found))]
    events += [(0.0, 0, index) for index in range(len(found)) if max_idle is not None]
    heapq.heapify(events)
    while events and events[0][0] < duration:
        at, kind, index = heapq.heappop(events)
        clock.advance(max(0.0, at - clock.elapsed))
        before(clock.elapsed)
        team = found[index]
        if kind == 0:
            lookouts[index].look(clock.now)
            sim.looks += 1
            step = team.tick
        else:
            _slot(sim, runtime, team, rotas[index], clock)
            step = team.spacing
        following = max(at + step, math.ceil(clock.elapsed / step - 1e-9) * step)
        heapq.heappush(events, (following, kind, index))
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
