"""The daemon's rotas on a fake clock, for tests and benchmarks of many spreadsheets.

`simulate()` does what the daemon's slot jobs do (`sheetsync.daemon`): every identity's
rota is asked once a slot which group to start, and that group's cycle runs against the
emulators. Cycles run one at a time and take no simulated time, except the pacers'
waits, which advance the same clock; slots a wait covers are coalesced into one, as
APScheduler does. Times are simulated seconds since the start.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

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
    cycles: Counter[str] = field(default_factory=Counter)
    """watch -> cycles run."""
    errors: list[str] = field(default_factory=list)

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
    """Run every identity's rota for `duration` simulated seconds; `before(now)` is called
    before each slot (people edit the sheets there)."""
    found = teams(runtime.config.watches, runtime.sheets, clock.now)
    sim = Simulation(found)
    rotas = [team.rota(clock.now) for team in found]
    ticks = [(0.0, index) for index in range(len(found))]
    while ticks and ticks[0][0] < duration:
        at, index = heapq.heappop(ticks)
        clock.advance(max(0.0, at - clock.elapsed))
        before(clock.elapsed)
        _slot(sim, runtime, found[index], rotas[index], clock)
        spacing = found[index].spacing
        following = max(at + spacing, math.ceil(clock.elapsed / spacing - 1e-9) * spacing)
        heapq.heappush(ticks, (following, index))
    return sim


def _slot(sim: Simulation, runtime: Runtime, team: Team, rota: Rota, clock: Clock) -> None:
    key = rota.take(clock.now)
    if key is None:
        return
    watches, started, began = team.groups[key], clock.now, clock.elapsed
    for report in runtime.cycle_group(watches):
        sim.cycles[report.watch] += 1
        if report.error:
            sim.errors.append(f"{report.watch}: {report.error}")
    reads = runtime.sheets.take_reads(watches[0].spreadsheet_id)
    rota.finished(key, started, reads=reads)
    sim.starts[key].append(began)
    sim.reads.append((began, reads))
