"""Backlog throughput: rows triggered per second, at a high axiom limit and at the default."""

from __future__ import annotations

import math
import subprocess
import time
from dataclasses import dataclass

from benchmarks.harness import INPUTS, RESULTS, Bench, fmt_s, new_row, stop_process
from benchmarks.report import Section
from sheetsync.emulator.axiom_runs import TriggerRecord, rolling_max
from sheetsync.testing import World

BACKLOG = 300
FAST_LIMIT = 6_000
DEFAULT_LIMIT = 90
LATENCY = 0.2
"""Seconds each /trigger answer is held in the latency run (axiom starting a browser run)."""


def _backlog_world(bench: Bench, name: str, rows: int, limit: int | None) -> World:
    world = bench.world(name)
    world.sheet([[*INPUTS, *RESULTS], *(new_row(i) for i in range(rows))])
    axiom = {"calls_per_minute": limit} if limit is not None else {}
    world.config({"mode": "row"}, axiom=axiom)
    return world


def _rate(records: list[TriggerRecord]) -> float:
    span = records[-1].at - records[0].at if len(records) > 1 else 0.0
    return (len(records) - 1) / span if span > 0 else float("nan")


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
            f"{rate:.1f}",
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
        f"{_rate(records):.1f}",
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
    """A `sheetsync once` over a backlog at the default limit, watched for a while."""

    bench: Bench
    proc: subprocess.Popen[bytes]
    start: int

    @classmethod
    def launch(cls, bench: Bench) -> Paced:
        """Start the child; the window opens at its first trigger."""
        world = _backlog_world(bench, "backlog-paced", BACKLOG, None)
        start = len(bench.axiom.triggers)
        proc = subprocess.Popen(
            bench.sheetsync_argv("once", world),
            env=bench.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return cls(bench, proc, start)

    def finish(self, window: float) -> Section:
        """Wait until `window` seconds after the first trigger, stop the child, tabulate."""
        try:
            deadline = time.monotonic() + 30
            while len(self.bench.axiom.triggers) == self.start and time.monotonic() < deadline:
                time.sleep(0.05)
            first = self.bench.axiom.triggers[self.start].at if self.sent() else time.monotonic()
            time.sleep(max(0.0, first + window - time.monotonic()))
        finally:
            stop_process(self.proc)
        times = [r.at for r in self.bench.axiom.triggers[self.start :]]
        section = Section(
            f"Default axiom limit ({DEFAULT_LIMIT}/min): a {BACKLOG}-row backlog, first "
            f"{window:.0f} s watched",
            ["first minute", "in", "after it", "most in any rolling 60 s", "sustained"],
        )
        burst = [t for t in times if t - times[0] < 60.0] if times else []
        section.add(
            f"{len(burst)} rows",
            fmt_s(burst[-1] - burst[0]) if burst else "n/a",
            f"{len(times) - len(burst)} rows",
            rolling_max(times),
            f"{DEFAULT_LIMIT / 60:.1f} rows/s",
        )
        section.notes.append(
            f"The pacer allows {DEFAULT_LIMIT} calls in any rolling minute: they go at once, "
            "the next ones as the first leave the minute, so "
            f"{BACKLOG} rows take about {(math.ceil(BACKLOG / DEFAULT_LIMIT) - 1) * 60} s "
            f"(computed from the limiter; the child is stopped after {window:.0f} s)."
        )
        return section

    def sent(self) -> int:
        """Triggers received so far."""
        return len(self.bench.axiom.triggers) - self.start
