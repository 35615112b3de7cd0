"""Cycle cost: Sheets requests by number of new rows, time and memory by sheet size."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.harness import (
    ID_COLUMN,
    INPUTS,
    RESULTS,
    Bench,
    Requests,
    check_run,
    clear_results,
    done_row,
    fmt_mb,
    fmt_s,
    keep_journal,
    median,
    median_cpu,
    new_row,
    restore_journal,
    seed_journal,
)
from benchmarks.processes import ProcessRun
from benchmarks.report import Section
from sheetsync.testing import World

SIZES = (1_000, 10_000, 100_000)
SIZE_NEW = 10
FULL_HEADER = [*INPUTS, *RESULTS, ID_COLUMN]


@dataclass
class SizeFigures:
    """Medians of repeated `sheetsync once` runs on one sheet size."""

    rows: int
    work: list[ProcessRun] = field(default_factory=list)
    idle: list[ProcessRun] = field(default_factory=list)
    requests: Requests | None = None
    busy: list[float] = field(default_factory=list)
    naive: ProcessRun | None = None
    naive_requests: Requests | None = None
    naive_busy: float = 0.0
    first: list[ProcessRun] = field(default_factory=list)
    """`once` on the sheet new to sheetsync (no journal): a whole read."""
    fallback: list[ProcessRun] = field(default_factory=list)
    """`once` on the served sheet after its header changed: a whole read."""
    first_requests: Requests | None = None
    fallback_requests: Requests | None = None

    def cycle(self) -> float:
        """Median cycle time with 10 new rows (as sheetsync logged it)."""
        return median([r.cycle_seconds() or float("nan") for r in self.work])

    def wall(self) -> float:
        """Median whole-process time with 10 new rows."""
        return median([r.seconds for r in self.work])

    def rss(self) -> float:
        """Largest peak RSS of the runs with work."""
        return max(r.peak_rss_mb for r in self.work)


def sheet_sizes(bench: Bench, repeats: int, sizes: tuple[int, ...] = SIZES) -> list[SizeFigures]:
    """`sheetsync once` (10 new rows, then idle) and the naive loop on 1k/10k/100k-row sheets.

    The sizes take turns within each repeat, so a burst of load from elsewhere on the
    machine falls on every size alike and the ratios between sizes pair runs of one turn.
    """
    prepared = [_served_sheet(bench, n) for n in sizes]
    results = [SizeFigures(n) for n in sizes]
    for _ in range(repeats):
        for (world, pristine, first_new, last), figures in zip(prepared, results, strict=True):
            restore_journal(world, pristine)
            clear_results(world, first_new, last, len(FULL_HEADER))
            before, busy = bench.counters(), bench.google.busy
            figures.work.append(check_run(bench.sheetsync("once", world), "sheetsync once"))
            figures.requests = bench.since(before)
            figures.busy.append(bench.google.busy - busy)
            figures.idle.append(check_run(bench.sheetsync("once", world), "sheetsync once (idle)"))
            _first_and_fallback(bench, world, pristine, (first_new, last), figures)
    for (world, _, first_new, last), figures in zip(prepared, results, strict=True):
        clear_results(world, first_new, last, len(FULL_HEADER))
        before, busy = bench.counters(), bench.google.busy
        figures.naive = check_run(bench.run(bench.naive_argv(world)), "naive loop")
        figures.naive_requests = bench.since(before)
        figures.naive_busy = bench.google.busy - busy
        bench.google.delete_spreadsheet(world.spreadsheet_id)
    return results


def _first_and_fallback(
    bench: Bench, world: World, pristine: Path, new: tuple[int, int], figures: SizeFigures
) -> None:
    """The cycles that read the whole tab: the first one (no journal), and one after the
    header changed (a column `note` appears); both with the same 10 new rows."""
    clear_results(world, *new, len(FULL_HEADER))
    for extra in ("", "-wal", "-shm"):
        (world.folder / f"sheetsync.db{extra}").unlink(missing_ok=True)
    before = bench.counters()
    figures.first.append(check_run(bench.sheetsync("once", world), "sheetsync once (first)"))
    figures.first_requests = bench.since(before)
    restore_journal(world, pristine)
    clear_results(world, *new, len(FULL_HEADER))
    note = len(FULL_HEADER) + 1
    world.google.set_cell(world.spreadsheet_id, world.tab, 1, note, "note")
    before = bench.counters()
    figures.fallback.append(check_run(bench.sheetsync("once", world), "sheetsync once (fallback)"))
    figures.fallback_requests = bench.since(before)
    world.google.set_cell(world.spreadsheet_id, world.tab, 1, note, "", raw=True)


def whole_read_section(results: list[SizeFigures], repeats: int) -> Section:
    """The cycles that read a tab whole, beside the served one."""
    section = Section(
        f"Sheet size: cycles that read the whole tab, {SIZE_NEW} new rows (median of {repeats})",
        [
            "rows",
            "served: CPU / peak RSS",
            "first cycle: wall / CPU / peak RSS",
            "fallback cycle: wall / CPU / peak RSS",
            "first / served CPU",
            "requests (first, fallback)",
        ],
    )
    for f in results:
        served = median_cpu(f.work)
        first_cpu = median_cpu(f.first)
        section.add(
            f"{f.rows:,}",
            f"{fmt_s(served)} / {fmt_mb(f.rss())}",
            whole_figures(f.first),
            whole_figures(f.fallback),
            f"{first_cpu / served:.1f}x",
            f"{f.first_requests}, {f.fallback_requests}",
        )
    section.notes += [
        "first = `sheetsync once` on the same sheet with no journal (a sheet new to "
        "sheetsync: its rows already handled by someone, 10 new), read whole in one "
        "request, of which a big tab keeps whole only the rows that may be new (every "
        "row's status, id and result cells: the lost journal adopts every row); fallback = "
        "the served sheet after its header changed (a column `note` added), which makes a "
        "cycle read the tab again, narrowly by the new header (a crash to recover from "
        "reads it whole and keeps it as a first read does: see the recovery section). "
        "Peak RSS is the largest of the runs; CPU is the whole process, start-up included.",
    ]
    return section


def whole_figures(runs: list[ProcessRun]) -> str:
    """Median wall and CPU, and the highest peak RSS, of `once` runs."""
    wall = median([r.seconds for r in runs])
    cpu = median_cpu(runs)
    return f"{fmt_s(wall)} / {fmt_s(cpu)} / {fmt_mb(max(r.peak_rss_mb for r in runs))}"


def _served_sheet(bench: Bench, n: int) -> tuple[World, Path, int, int]:
    """A sheet of `n` rows sheetsync has served for a while (its last cycle read it and
    saved its plan), then 10 new rows typed at the bottom; the journal as it was then."""
    world = bench.world(f"size-{n}")
    done = [done_row(i) for i in range(n - SIZE_NEW)]
    fresh = [new_row(i) for i in range(n - SIZE_NEW, n)]
    world.sheet([FULL_HEADER, *done, *([""] * len(r) for r in fresh)])
    world.config({"mode": "row"})
    seed_journal(world, "w0", done)
    check_run(bench.sheetsync("once", world), "sheetsync once (served before)")
    pristine = keep_journal(world)
    first_new, last = n - SIZE_NEW + 2, n + 1
    for offset, row in enumerate(fresh):
        for col, value in enumerate(row, start=1):
            world.google.set_cell(world.spreadsheet_id, world.tab, first_new + offset, col, value)
    return world, pristine, first_new, last


def sizes_sections(results: list[SizeFigures], repeats: int) -> list[Section]:
    """The sheet-size tables: sheetsync, then the naive loop on the same sheets."""
    ours = Section(
        f"Sheet size: `sheetsync once` with {SIZE_NEW} new rows, then idle (median of {repeats})",
        [
            "rows",
            "cycle",
            "process wall",
            "peak RSS",
            "CPU",
            "Sheets requests",
            "emulator busy",
            "idle cycle",
            "idle wall",
        ],
    )
    naive = Section(
        f"Sheet size: one naive poll with {SIZE_NEW} new rows",
        ["rows", "process wall", "peak RSS", "CPU", "Sheets requests", "emulator busy"],
    )
    for f in results:
        assert f.naive is not None and f.naive_requests is not None
        ours.add(
            f"{f.rows:,}",
            fmt_s(f.cycle()),
            fmt_s(f.wall()),
            fmt_mb(f.rss()),
            fmt_s(median_cpu(f.work)),
            str(f.requests),
            fmt_s(median(f.busy)),
            fmt_s(median([r.cycle_seconds() or float("nan") for r in f.idle])),
            fmt_s(median([r.seconds for r in f.idle])),
        )
        naive.add(
            f"{f.rows:,}",
            fmt_s(f.naive.seconds),
            fmt_mb(f.naive.peak_rss_mb),
            fmt_s(f.naive.cpu_seconds),
            str(f.naive_requests),
            fmt_s(f.naive_busy),
        )
    ours.notes += [
        "cycle = the time sheetsync logs for the cycle; process wall, peak RSS (wait4 "
        "ru_maxrss of the child alone) and CPU are the whole `sheetsync once` process, "
        "Python start-up included.",
        "emulator busy = seconds the in-process Google emulator spent answering, encoding "
        "(JSON, gzip) included: the work a real Google does on its side; the client's own "
        "time is about wall minus it.",
        "The other rows are already handled (status, link, id) and in the journal, as on a "
        "sheet sheetsync has served for a while. idle = the next `once`, nothing new.",
    ]
    naive.notes.append(
        "gspread get_all_records() (the whole sheet, uncompressed: gspread's User-Agent does "
        "not ask for gzip) then 3 update_cell() per new row, each its own write request."
    )
    return [ours, whole_read_section(results, repeats), naive]
