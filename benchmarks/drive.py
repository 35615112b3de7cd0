"""Many spreadsheets on one identity: Drive change detection against plain polling.

500 spreadsheets, one watch each at `interval_seconds = 10`, on one identity, and a
person adding a row to one of them every 12 s (5 edits a minute). The emulators meter
Google's 60 reads and 60 writes a minute; everything runs in this process on a fake
clock (`sheetsync.simulation`, the daemon's rota), so the figures are simulated minutes:
emulated, counted, not timed. The first minutes are the first round (every spreadsheet
read once at start); the table counts the minutes after it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.report import Section
from sheetsync.emulator.axiom import AxiomEmulator
from sheetsync.emulator.google import GoogleEmulator
from sheetsync.simulation import Simulation, simulate
from sheetsync.testing import AUTOMATION, KEY_ENV, TEST_KEY, Clock, World

SPREADSHEETS = 500
INTERVAL = 10.0
EDIT_EVERY = 12.0
HEADER = ["url", "product", "Status", "Run link", "Message", "sheetsync id"]


@dataclass
class DriveFigures:
    """One simulated run."""

    mode: str
    minutes: float
    sim: Simulation
    edits: dict[str, float]
    triggered: dict[str, float]
    quota_errors: int
    drive_calls: int
    first_round: float
    window: tuple[float, float] = (0.0, 0.0)
    kinds: dict[str, int] = field(default_factory=dict)

    def latencies(self, after: float = 0.0) -> list[float]:
        """Seconds from each edit (made after `after`) to its trigger, sorted."""
        return sorted(
            self.triggered[u] - t
            for u, t in self.edits.items()
            if t >= after and u in self.triggered
        )

    def per_minute(self, count: float) -> float:
        """A count in the window, per simulated minute."""
        start, end = self.window
        return count / ((end - start) / 60.0)


def run(mode: str, minutes: float) -> DriveFigures:
    """One simulated run of `minutes` with `change_detection = mode`."""
    clock = Clock()
    google = GoogleEmulator(reads_per_minute=60, writes_per_minute=60, clock=clock.monotonic)
    axiom = AxiomEmulator(api_key=TEST_KEY, automations=[AUTOMATION], clock=clock.monotonic)
    google.start()
    axiom.start()
    try:
        with tempfile.TemporaryDirectory(prefix="sheetsync-drive-") as tmp:
            world = World(Path(tmp), google, axiom, clock=clock, environ={KEY_ENV: TEST_KEY})
            google.write_service_account_file(Path(tmp) / "service-account.json")
            ids = [google.create_spreadsheet(f"B{i}", {"Q": [HEADER]}) for i in range(SPREADSHEETS)]
            world.config(
                *(
                    {
                        "name": f"w{i}",
                        "spreadsheet": s,
                        "worksheet": "Q",
                        "interval_seconds": INTERVAL,
                    }
                    for i, s in enumerate(ids)
                ),
                google={"change_detection": mode},
            )
            edits: dict[str, float] = {}

            def person(now: float) -> None:
                while EDIT_EVERY * (len(edits) + 1) <= now:
                    url = f"https://shop.example/edit{len(edits)}"
                    sid = ids[(len(edits) * 211) % SPREADSHEETS]
                    end = len(google.values(sid, "Q")) + 1
                    google.insert_rows(sid, "Q", end, values=[[url, "P"]])
                    edits[url] = now

            sim = simulate(clock, world.runtime(), duration=minutes * 60.0, before=person)
            world.close_runtime()
            drive = google.count("drive.changes.list") + google.count(
                "drive.changes.getStartPageToken"
            )
            figures = DriveFigures(
                mode,
                minutes,
                sim,
                edits,
                {t.data[1][0]: t.at for t in axiom.triggers},
                google.quota_rejections,
                drive,
                max(ts[0] for ts in sim.starts.values()),
            )
    finally:
        google.stop()
        axiom.stop()
    _classify(figures)
    return figures


def _classify(figures: DriveFigures) -> None:
    """Sort the reads after the first round into edits (the cycle with work and the one
    that confirms it), first reads and safety-net or polling reads."""
    start = figures.first_round + 60.0
    figures.window = (start, figures.minutes * 60.0)
    kinds = {"edit": 0, "confirm": 0, "first": 0, "other": 0}
    seen: set[str] = set()
    after_work: set[str] = set()
    for at, key, reads, triggered in figures.sim.turns:
        if key not in seen:
            kind = "first"
        elif triggered:
            kind = "edit"
        elif key in after_work and figures.mode == "drive":
            kind = "confirm"
        else:
            kind = "other"
        seen.add(key)
        after_work.discard(key)
        if triggered:
            after_work.add(key)
        if at >= start:
            kinds[kind] += reads
    figures.kinds = kinds


def _pct(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(share * len(values)))]


def drive_section(quick: bool) -> tuple[Section, list[DriveFigures]]:
    """Both modes side by side."""
    minutes = 20.0 if quick else 30.0
    results = [run("drive", minutes), run("poll", minutes)]
    section = Section(
        f"{SPREADSHEETS} spreadsheets at {INTERVAL:g} s on one identity, 5 edits a minute "
        f"(emulated, {minutes:g} simulated minutes)",
        [
            "change detection",
            "Sheets reads/min",
            "of which edits (work + confirm)",
            "safety net / polling",
            "Drive calls/min",
            "edit -> trigger p50 / p95 / max",
            "429s",
            "first round",
        ],
    )
    for f in results:
        lat = f.latencies(after=f.window[0])
        total = sum(f.kinds.values())
        section.add(
            f.mode,
            f"{f.per_minute(total):.1f}",
            f"{f.per_minute(f.kinds['edit'] + f.kinds['confirm']):.1f}",
            f"{f.per_minute(f.kinds['other']):.1f}",
            f"{f.drive_calls / f.minutes:.1f}",
            f"{_pct(lat, 0.5):.0f} / {_pct(lat, 0.95):.0f} / {_pct(lat, 1.0):.0f} s",
            f.quota_errors,
            f"{f.first_round:.0f} s",
        )
    section.notes += [
        "Counted in simulated time after the first round (every spreadsheet's first read at "
        "start, one per read slot) plus a minute; the edits of the first round are left out "
        "of the latencies (they wait for no first read, but for the look at Drive and a slot).",
        "drive: a spreadsheet nobody changed costs no Sheets read; an edited one costs its "
        "cycle with work (2 reads) and one read to confirm; the rest of the budget goes to "
        "the safety net (each spreadsheet read whole at least every max_idle_seconds = 300, "
        "stretched by the budget: 500 spreadsheets need 100 reads a minute). poll: every "
        "spreadsheet read in turn, about every 545 s.",
    ]
    return section, results
