"""The benchmark suite: every section in order, then the issue's targets beside the figures.

The emulators run in this process on 127.0.0.1 without quotas; sheetsync and the naive
loop run as child processes, so their time, CPU and memory are their own.

    requests   Sheets requests of a cycle with 0, 1, 100 and 10,000 new rows (and naive)
    sizes      `sheetsync once` on 1,000 / 10,000 / 100,000-row sheets with 10 new rows
    naive200   200 new rows: sheetsync's requests versus the naive loop's
    backlog    rows triggered per second, at a high axiom limit and at the default 90/min
    idle       `sheetsync run` and the naive loop polling every 5 s: RSS, CPU per hour
    drive      500 spreadsheets on one identity, Drive change detection against polling
               (emulated on a fake clock)
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from rich.console import Console

from benchmarks import backlog, cycles, drive, idle, naive_compare
from benchmarks.harness import Bench, machine, median
from benchmarks.report import Section, markdown, print_rich

SECTIONS = ("requests", "sizes", "naive200", "backlog", "idle", "drive")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections and print their tables (rich, or Markdown with --markdown)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="one repeat, shorter windows")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--save", type=Path, help="also write the Markdown tables to this file")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--repeats", type=int, help="runs per sheet size (default 5, quick 1)")
    args = parser.parse_args(argv)

    logging.disable(logging.INFO)  # in-process cycles would log one line each
    command = "python -m benchmarks.run" + (" --quick" if args.quick else "")
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sheetsync-bench-") as tmp:
        bench = Bench(Path(tmp))
        try:
            results = measure(bench, set(args.only or SECTIONS), args.quick, args.repeats)
        finally:
            bench.close()
    summary = results.targets()
    summary.notes.append(f"the whole benchmark took {time.monotonic() - began:.0f} s")
    sections = [*results.sections, summary]
    if args.save is not None:
        args.save.write_text(markdown(machine(), command, sections), encoding="utf-8")
    if args.markdown:
        print(markdown(machine(), command, sections))
    else:
        console = Console()
        if not console.is_terminal:
            console = Console(width=150)
        print_rich(console, machine(), command, sections)
    return 0


def measure(bench: Bench, chosen: set[str], quick: bool, repeats: int | None) -> Results:
    """Run the chosen sections in order; progress goes to stderr."""
    progress = Console(stderr=True)
    results = Results()
    if "requests" in chosen:
        progress.log("Sheets requests per cycle ...")
        results.sections.append(cycles.requests_per_cycle(bench))
    if "sizes" in chosen:
        runs = repeats or (1 if quick else 5)
        progress.log(f"sheet sizes, {runs} run(s) each ...")
        results.sizes = cycles.sheet_sizes(bench, runs)
        results.sections += cycles.sizes_sections(results.sizes, runs)
    if "naive200" in chosen:
        progress.log(f"{naive_compare.ROWS} new rows: sheetsync and the naive loop ...")
        results.naive200 = naive_compare.compare(bench)
        results.sections.append(results.naive200.section())
    paced = backlog.Paced.launch(bench) if "backlog" in chosen else None
    if "idle" in chosen:  # the paced backlog mostly waits: watch it meanwhile
        seconds = 20.0 if quick else 60.0
        progress.log(f"idle daemons, {seconds:.0f} s (and the paced backlog) ...")
        results.idle = idle.idle_daemons(bench, seconds)
        results.sections.append(idle.idle_section(results.idle))
    if paced is not None:
        progress.log("backlog at the default axiom limit ...")
        paced_section = paced.finish(10.0 if quick else 65.0)
        progress.log("backlog throughput ...")
        rows = 100 if quick else backlog.BACKLOG
        results.sections.append(backlog.backlog(bench, latency_rows=rows))
        results.sections.append(paced_section)
    if "drive" in chosen:
        progress.log("500 spreadsheets, Drive change detection and polling (simulated) ...")
        section, results.drive = drive.drive_section(quick)
        results.sections.append(section)
    return results


class Results:
    """What the sections measured, kept for the targets table."""

    def __init__(self) -> None:
        self.sections: list[Section] = []
        self.sizes: list[cycles.SizeFigures] = []
        self.naive200: naive_compare.Comparison | None = None
        self.idle: list[idle.IdleFigures] = []
        self.drive: list[drive.DriveFigures] = []

    def targets(self) -> Section:
        """The issue's targets beside the measured figures."""
        section = Section("Targets of issue 6", ["target", "measured", "met"])
        by_rows = {f.rows: f for f in self.sizes}
        big, small = by_rows.get(100_000), by_rows.get(1_000)
        if big is not None:
            cycle = big.cycle()
            section.add("100,000 rows, 10 new: cycle < 0.5 s", f"{cycle:.2f} s", _met(cycle < 0.5))
            if small is not None:
                ratios = sorted(
                    b.seconds / s.seconds for b, s in zip(big.work, small.work, strict=True)
                )
                ratio = median(ratios)
                spread = f"; runs {ratios[0]:.2f}-{ratios[-1]:.2f}x" if len(ratios) > 1 else ""
                section.add(
                    "100,000 rows: `sheetsync once` < 1.5x its 1,000-row time",
                    f"{ratio:.2f}x ({big.wall():.2f} s / {small.wall():.2f} s{spread})",
                    _met(ratio < 1.5),
                )
            rss = big.rss()
            section.add("100,000 rows: peak RSS < 100 MB", f"{rss:.0f} MB", _met(rss < 100))
        for figures in self.idle[:1]:
            rss = figures.after.rss_mb
            section.add("idle daemon RSS < 60 MB", f"{rss:.1f} MB", _met(rss < 60))
        if self.naive200 is not None:
            ratio = self.naive200.ratio()
            section.add(
                f"naive loop: >= 100x the Sheets requests for {naive_compare.ROWS} new rows",
                f"{ratio:.0f}x",
                _met(ratio >= 100),
            )
        return section


def _met(ok: bool) -> str:
    return "yes" if ok else "NO"
