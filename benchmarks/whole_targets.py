"""Issue 14's targets for every cycle that reads a big tab whole: the first cycle of the
sheet-size table, and the big-sheets and own-links cases (a crash, a batched first read,
a shared tab's first cycle, a PostgreSQL takeover, rows each with their own run link).

Peak RSS: at most 100 MB on 100,000 rows, 150 MB on 200,000. CPU: at most 3x the served
cycle the case stands beside: a crash or a batched first read, the same two-tab sheet's;
a shared tab's first cycle, the shared tab's own (the same two watches' work); rows with
their own links, theirs; a PostgreSQL takeover (a one-tab sheet), the sheet-size table's
SQLite served cycle of the same size when measured (no PostgreSQL `once` is served),
else the two-tab sheet's. A case whose runs failed is a row of its own, not met.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.cycles import SizeFigures
from benchmarks.harness import median_cpu
from benchmarks.processes import ProcessRun
from benchmarks.recovery import CaseFigures
from benchmarks.report import Section, met

PEAK_MB = {100_000: 100.0, 200_000: 150.0}
"""The issue's peak RSS targets by sheet size."""
RATIO = 3.0
"""The issue's CPU target: a cycle that reads whole against a served one."""

Runs = Sequence[ProcessRun]
Case = tuple[str, Runs, Runs]
"""A case's name, its runs and the served runs it stands beside."""


def first_cycle_rows(section: Section, rows: int, figures: SizeFigures | None) -> None:
    """The sheet-size table's targets at `rows`: every cycle's peak, the first's CPU."""
    limit = PEAK_MB[rows]
    if figures is None or not figures.first:
        section.add(f"{rows:,} rows: peak RSS <= {limit:.0f} MB", "not measured (--sizes)", "n/a")
        return
    peak = max(r.peak_rss_mb for r in [*figures.work, *figures.first, *figures.fallback])
    section.add(
        f"{rows:,} rows: peak RSS <= {limit:.0f} MB on every cycle, first included",
        f"{peak:.0f} MB (first {max(r.peak_rss_mb for r in figures.first):.0f} MB)",
        met(peak <= limit),
    )
    served, first = median_cpu(figures.work), median_cpu(figures.first)
    section.add(
        f"{rows:,} rows: first-cycle CPU <= {RATIO:.0f}x a served cycle",
        f"{first / served:.1f}x ({first:.2f} s / {served:.2f} s)",
        met(first <= RATIO * served),
    )


def cases(
    recovery: CaseFigures | None, own: tuple[Runs, Runs] | None, one_tab: Runs = ()
) -> list[Case]:
    """The whole-read cases measured at one size (`one_tab`: the sheet-size table's served
    runs of that size, beside which a PostgreSQL takeover of a one-tab sheet stands)."""
    found: list[Case] = []
    if recovery is not None:
        served = recovery.runs["served"]
        found += [
            ("crash", recovery.runs["crash"], served),
            ("batched", recovery.runs["batched"], served),
        ]
        if recovery.shared_first:
            found.append(("shared first", recovery.shared_first, recovery.shared))
        if isinstance(recovery.takeover, list) and recovery.takeover:
            found.append(("PostgreSQL", recovery.takeover, one_tab or served))
    if own is not None:
        found.append(("own links", own[0], own[1]))
    return found


def failed(recovery: CaseFigures | None) -> str | None:
    """Why the PostgreSQL case has no runs, when it was measured and failed."""
    if recovery is None or not isinstance(recovery.takeover, str):
        return None
    return None if recovery.takeover == "not measured" else recovery.takeover


def add_rows(section: Section, rows: int, found: list[Case], failure: str | None = None) -> None:
    """Two rows of `section` for the cases at `rows`: their largest peak and CPU ratio;
    a third, not met, when the PostgreSQL case failed (`failure`)."""
    if rows not in PEAK_MB:
        return
    if failure is not None:
        section.add(f"{rows:,} rows, PostgreSQL takeover", failure, "NO")
    if not found:
        return
    limit = PEAK_MB[rows]
    peaks = [(max(r.peak_rss_mb for r in runs), name) for name, runs, _ in found]
    ratios = [(median_cpu(runs) / median_cpu(served), name) for name, runs, served in found]
    (mb, heaviest), (ratio, slowest) = max(peaks), max(ratios)
    section.add(
        f"{rows:,} rows, other whole reads: peak RSS <= {limit:.0f} MB",
        f"{mb:.0f} MB ({heaviest}); " + ", ".join(f"{name} {v:.0f}" for v, name in peaks),
        met(mb <= limit),
    )
    section.add(
        f"{rows:,} rows, other whole reads: CPU <= {RATIO:.0f}x their served cycle",
        f"{ratio:.1f}x ({slowest}); " + ", ".join(f"{name} {v:.1f}x" for v, name in ratios),
        met(ratio <= RATIO),
    )
