"""The idle daemon: `sheetsync run` and the naive loop polling a tiny sheet every 5 s."""

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
    ProcSample,
    done_row,
    fmt_mb,
    fmt_s,
    sample,
    seed_journal,
    stop_process,
)
from benchmarks.report import Section

POLL_SECONDS = 5.0
WARMUP_SECONDS = 8.0
LABELS = {"sheetsync": "sheetsync run", "naive": "naive loop"}


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


def idle_daemons(bench: Bench, seconds: float) -> list[IdleFigures]:
    """Start both pollers, let them warm up, then sample /proc over `seconds`."""
    world = bench.world("idle")
    header = [*INPUTS, *RESULTS, ID_COLUMN]
    done = [done_row(i) for i in range(3)]
    world.sheet([header, *done])
    world.config({"interval_seconds": POLL_SECONDS})
    seed_journal(world, "w0", done)
    naive_world = bench.world("idle-naive")
    naive_world.sheet([header[:-1], *(r[:-1] for r in done)])
    logs = {name: world.folder / f"{name}.log" for name in LABELS}
    argv = {
        "sheetsync": bench.sheetsync_argv("run", world),
        "naive": bench.naive_argv(naive_world, "--every", f"{POLL_SECONDS:g}"),
    }
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
            LABELS[name], before[name], after[name], seconds, _polls(logs[name]) - polls[name]
        )
        for name in LABELS
    ]


def idle_section(figures: list[IdleFigures]) -> Section:
    """The idle table."""
    seconds = figures[0].seconds
    section = Section(
        f"Idle polling every {POLL_SECONDS:g} s (tiny sheet, {seconds:.0f} s measured)",
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
        f"After an {WARMUP_SECONDS:g} s warm-up: RSS, peak RSS (VmHWM) and threads from "
        "/proc/PID/status; CPU = the threads' run time in /proc/PID/task/*/schedstat over "
        "the window, times 3600 / window."
    )
    return section


def _polls(log: Path) -> int:
    text = log.read_text(errors="replace")
    return text.count(" rows seen,") + text.count("poll: ")
