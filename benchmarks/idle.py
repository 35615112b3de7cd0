"""Idle daemons: `sheetsync run` every 1, 10 and 60 s on a tiny sheet and every 10 s on a
served 100,000-row sheet, and the naive loop every 5 s, side by side."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import (
    ID_COLUMN,
    INPUTS,
    RESULTS,
    Bench,
    check_run,
    done_row,
    fmt_mb,
    fmt_s,
    seed_journal,
)
from benchmarks.processes import ProcSample, sample, stop_process
from benchmarks.report import Section

POLL_SECONDS = 5.0
"""The naive loop's poll interval."""
WARMUP_SECONDS = 12.0
RUNS = (("run-1", 1.0, 3), ("run-10", 10.0, 3), ("run-60", 60.0, 3), ("run-big", 10.0, 100_000))
"""(name, interval_seconds, handled rows of its sheet)."""


@dataclass(frozen=True)
class IdleFigures:
    """One idle process over the measured window."""

    label: str
    before: ProcSample
    after: ProcSample
    seconds: float
    polls: int

    @property
    def cpu_per_hour(self) -> float:
        """CPU seconds an hour of this idling costs."""
        return (self.after.cpu_seconds - self.before.cpu_seconds) / self.seconds * 3600


def _served(bench: Bench, name: str, interval: float, rows: int) -> list[str]:
    """A sheet of `rows` handled rows, served once (its read plan saved); the run argv."""
    world = bench.world(f"idle-{name}")
    done = [done_row(i) for i in range(rows)]
    world.sheet([[*INPUTS, *RESULTS, ID_COLUMN], *done])
    world.config({"interval_seconds": interval})
    seed_journal(world, "w0", done)
    check_run(bench.sheetsync("once", world), "sheetsync once (served before)")
    return bench.sheetsync_argv("run", world)


def idle_daemons(bench: Bench, seconds: float) -> list[IdleFigures]:
    """Start every poller at once, let them warm up, then sample /proc over `seconds`."""
    argv = {name: _served(bench, name, interval, rows) for name, interval, rows in RUNS}
    labels = {
        name: f"sheetsync run, {rows:,} rows, every {interval:g} s" for name, interval, rows in RUNS
    }
    naive_world = bench.world("idle-naive")
    naive_world.sheet([[*INPUTS, *RESULTS], *(done_row(i)[:-1] for i in range(3))])
    argv["naive"] = bench.naive_argv(naive_world, "--every", f"{POLL_SECONDS:g}")
    labels["naive"] = f"naive loop, 3 rows, every {POLL_SECONDS:g} s"
    logs = {name: bench.folder / f"idle-{name}.log" for name in argv}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, args in argv.items():
            with logs[name].open("wb") as log:
                procs[name] = subprocess.Popen(
                    args, env=bench.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
                )
        time.sleep(WARMUP_SECONDS)
        before = {name: sample(p.pid) for name, p in procs.items()}
        polls = {name: _polls(logs[name]) for name in procs}
        time.sleep(seconds)
        after = {name: sample(p.pid) for name, p in procs.items()}
    finally:
        for proc in procs.values():
            stop_process(proc)
    return [
        IdleFigures(
            labels[name], before[name], after[name], seconds, _polls(logs[name]) - polls[name]
        )
        for name in argv
    ]


def idle_section(figures: list[IdleFigures]) -> Section:
    """The idle table."""
    seconds = figures[0].seconds
    section = Section(
        f"Idle polling ({seconds:.0f} s measured, all at once)",
        ["process", "RSS", "peak RSS", "threads", "CPU per hour", "polls measured"],
    )
    for f in figures:
        section.add(
            f.label,
            fmt_mb(f.after.rss_mb),
            fmt_mb(f.after.peak_rss_mb),
            f.after.threads,
            fmt_s(f.cpu_per_hour),
            f.polls,
        )
    section.notes.append(
        f"After a {WARMUP_SECONDS:g} s warm-up: RSS, peak RSS (VmHWM) and threads from "
        "/proc/PID/status; CPU = the threads' run time in /proc/PID/task/*/schedstat over "
        "the window, times 3600 / window. Every sheet was served before (journal, read "
        "plan), so every poll is an idle cycle. At 1 s the read budget (55 a minute) sets "
        "the pace: a poll every 1.1 s."
    )
    return section


def _polls(log: Path) -> int:
    text = log.read_text(errors="replace")
    return text.count(" rows seen,") + text.count("poll: ")
