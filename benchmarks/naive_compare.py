"""200 new rows handled by sheetsync and by the naive loop: Sheets requests and time."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.harness import (
    INPUTS,
    RESULTS,
    Bench,
    Requests,
    check_run,
    fmt_s,
    new_row,
)
from benchmarks.processes import ProcessRun
from benchmarks.report import Section

ROWS = 200


@dataclass(frozen=True)
class Comparison:
    """One run of each on identical sheets."""

    sheetsync: ProcessRun
    sheetsync_requests: Requests
    naive: ProcessRun
    naive_requests: Requests

    def ratio(self) -> float:
        """How many times more Sheets requests the naive loop sent."""
        return self.naive_requests.total / self.sheetsync_requests.total

    def section(self) -> Section:
        """The comparison table."""
        section = Section(
            f"{ROWS} new rows, row mode: sheetsync versus the naive loop",
            ["", "Sheets requests", "of which metadata", "process wall", "peak RSS"],
        )
        for label, run, count in (
            ("sheetsync once", self.sheetsync, self.sheetsync_requests),
            ("naive loop", self.naive, self.naive_requests),
        ):
            section.add(
                label,
                f"{count.total} ({count})",
                count.metadata,
                fmt_s(run.seconds),
                f"{run.peak_rss_mb:.0f} MB",
            )
        section.add("naive / sheetsync", f"{self.ratio():.0f}x", "", "", "")
        section.notes.append(
            "Both start from the same sheet (header url, product, Status, Run link, Message); "
            "sheetsync's first cycle also adds its id column (one metadata read). At Google's "
            "60 writes a minute the naive loop's writes alone take "
            f"{self.naive_requests.writes / 60:.0f} minutes, or end in 429s."
        )
        return section


def compare(bench: Bench) -> Comparison:
    """sheetsync once (row mode, high axiom limit) and one naive poll, on twin sheets."""
    runs = []
    for name in ("sheetsync", "naive"):
        world = bench.world(f"{name}-{ROWS}")
        world.sheet([[*INPUTS, *RESULTS], *(new_row(i) for i in range(ROWS))])
        world.config({"mode": "row"}, axiom={"calls_per_minute": 6_000})
        before = bench.counters()
        if name == "sheetsync":
            run = bench.sheetsync("once", world)
        else:
            run = bench.run(bench.naive_argv(world))
        runs.append((check_run(run, name), bench.since(before)))
        bench.google.delete_spreadsheet(world.spreadsheet_id)
    (ours, our_count), (naive, naive_count) = runs
    return Comparison(ours, our_count, naive, naive_count)
