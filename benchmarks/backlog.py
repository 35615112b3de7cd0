"""Backlog throughput: rows triggered per second, at a high axiom limit and at the default."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

from benchmarks.harness import INPUTS, RESULTS, Bench, fmt_s, new_row
from benchmarks.processes import stop_process
from benchmarks.report import Section
from sheetsync.emulator.axiom import AxiomEmulator
from sheetsync.emulator.axiom_runs import TriggerRecord, rolling_max
from sheetsync.testing import AUTOMATION, TEST_KEY, World

BACKLOG = 300
FAST_LIMIT = 6_000
DEFAULT_LIMIT = 90
AXIOM_LIMIT = 100
"""axiom's documented limit: calls per rolling minute per key."""
LATENCY = 0.2
"""Seconds each /trigger answer is held in the latency run (axiom starting a browser run)."""


def _backlog_world(bench: Bench, name: str, rows: int, limit: int | None) -> World:
    world = bench.world(name)
    world.sheet([[*INPUTS, *RESULTS], *(new_row(i) for i in range(rows))])
    axiom = {"calls_per_minute": limit} if limit is not None else {}
    world.config({"mode": "row"}, axiom=axiom)
    return world


def _rate(records: list[TriggerRecord]) -> str:
    """Triggers a second from the first to the last, or n/a over less than a second."""
    span = records[-1].at - records[0].at if len(records) > 1 else 0.0
    return f"{(len(records) - 1) / span:.1f}" if span >= 1.0 else "n/a (under 1 s)"


def backlog(bench: Bench, *, latency_rows: int) -> Section:
    """Row mode: a 300-row backlog at a high limit, with trigger latency, and the naive loop."""
    section = Section(
        "Backlog throughput: row mode, one `sheetsync once` (or naive poll) over new rows",
        ["run", "axiom limit", "rows", "rows/s while sending", "cycle"],
    )
    runs = [("no latency", BACKLOG, 0.0), (f"{LATENCY:g} s per trigger", latency_rows, LATENCY)]
    for label, rows, latency in runs:
        world = _backlog_world(bench, f"backlog-{rows}-{latency:g}", rows, FAST_LIMIT)
        if latency:
            bench.axiom.add_fault(path=r"/trigger$", delay=latency)
        start = len(bench.axiom.triggers)
        try:
            run = bench.sheetsync("once", world)
        finally:
            bench.axiom.clear_faults()
        records = bench.axiom.triggers[start:]
        rate = _rate(records)
        section.add(
            f"sheetsync, {label}",
            f"{FAST_LIMIT:,}/min",
            len(records),
            rate,
            fmt_s(run.cycle_seconds()),
        )
    naive_world = bench.world("backlog-naive")
    naive_world.sheet([[*INPUTS, *RESULTS], *(new_row(i) for i in range(BACKLOG))])
    start = len(bench.axiom.triggers)
    naive = bench.run(bench.naive_argv(naive_world))
    records = bench.axiom.triggers[start:]
    section.add(
        "naive loop, no latency",
        "none",
        len(records),
        _rate(records),
        fmt_s(naive.seconds),
    )
    section.notes += [
        "rows/s while sending = triggers from the first to the last as axiom's emulator got "
        "them; cycle = the time sheetsync logs (reads, claims, sends, write-back); for the "
        "naive loop the whole process. With latency, one trigger at a time would make "
        f"{1 / LATENCY:.0f} rows/s. The naive loop paces nothing: past 100 calls a minute "
        "real axiom answers 429.",
    ]
    return section


@dataclass
class Paced:
    """A 300-row backlog at the default axiom limit, against an axiom that enforces its
    documented 100 calls a minute: `sheetsync once` watched to its end, then the naive loop."""

    bench: Bench
    axiom: AxiomEmulator
    proc: subprocess.Popen[bytes]
    world: World
    began: float

    @classmethod
    def launch(cls, bench: Bench) -> Paced:
        """Start the child on its own rate-limited axiom emulator."""
        axiom = AxiomEmulator(api_key=TEST_KEY, automations=[AUTOMATION], rate_limit=AXIOM_LIMIT)
        axiom.start()
        world = bench.world("backlog-paced")
        world.sheet([[*INPUTS, *RESULTS], *(new_row(i) for i in range(BACKLOG))])
        world.config({"mode": "row"}, axiom={"base_url": axiom.root_url + "/api/v3"})
        proc = subprocess.Popen(
            bench.sheetsync_argv("once", world),
            env=bench.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return cls(bench, axiom, proc, world, time.monotonic())

    def finish(self, limit: float = 600.0) -> Section:
        """Wait for the child to end (at most `limit` s), then run the naive loop likewise."""
        try:
            self.proc.wait(limit)
        except subprocess.TimeoutExpired:
            pass
        finally:
            stop_process(self.proc)
        wall = time.monotonic() - self.began
        ours = [r for r in self.axiom.triggers if r.outcome == "started"]
        refused = sum(r.outcome == "rate_limit" for r in self.axiom.triggers)
        statuses = self.bench.google.values(self.world.spreadsheet_id, self.world.tab)
        done = sum(1 for row in statuses[1:] if len(row) > 2 and row[2] == "triggered")
        naive = self._naive()
        self.axiom.stop()
        section = Section(
            f"Default axiom limit ({DEFAULT_LIMIT}/min): a {BACKLOG}-row backlog to its end, "
            f"axiom enforcing {AXIOM_LIMIT} calls a minute",
            [
                "run",
                "triggered",
                "refused (429)",
                "rows shown triggered",
                "first 60 s",
                "to the last trigger",
                "most in any rolling 60 s",
            ],
        )
        section.add(
            "sheetsync once (90/min)",
            len(ours),
            refused,
            done,
            sum(1 for r in ours if r.at - ours[0].at < 60.0) if ours else 0,
            fmt_s(ours[-1].at - ours[0].at) if ours else "n/a",
            rolling_max([r.at for r in ours]),
        )
        section.add(*naive)
        section.notes.append(
            f"Measured to the end: the process ran {wall:.0f} s (start-up and the last write "
            "included). The naive loop paces nothing: past axiom's limit its triggers are "
            "refused with 429 and the rows end as errors, never retried."
        )
        return section

    def _naive(self) -> list[object]:
        world = self.bench.world("backlog-paced-naive")
        world.sheet([[*INPUTS, *RESULTS], *(new_row(i) for i in range(BACKLOG))])
        axiom = AxiomEmulator(api_key=TEST_KEY, automations=[AUTOMATION], rate_limit=AXIOM_LIMIT)
        axiom.start()  # its own: the paced run's last calls would still fill the window
        try:
            argv = self.bench.naive_argv(world)
            argv[argv.index("--axiom") + 1] = axiom.root_url + "/api/v3"
            self.bench.run(argv)
        finally:
            axiom.stop()
        records = axiom.triggers
        ok = [r for r in records if r.outcome == "started"]
        values = self.bench.google.values(world.spreadsheet_id, world.tab)
        shown = sum(1 for row in values[1:] if len(row) > 2 and row[2] == "triggered")
        return [
            "naive loop (no pacing)",
            len(ok),
            sum(r.outcome == "rate_limit" for r in records),
            shown,
            sum(1 for r in ok if r.at - ok[0].at < 60.0) if ok else 0,
            fmt_s(ok[-1].at - ok[0].at) if ok else "n/a",
            rolling_max([r.at for r in ok]),
        ]
