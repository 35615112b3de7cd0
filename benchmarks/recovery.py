"""Whole reads that are not a sheet's first: a crash to recover from, a batched first read.

Issue 14 wants every cycle of a big sheet within its memory target, not only the served
one and the very first. Two cases a whole read still serves are measured here, each as
one `sheetsync once` (a child process) on a served sheet with 10 new rows:

    crash     the journal holds 10 claims whose claim write never landed (a crash came
              between the claim and its write): a claim not yet seen on its row
    batched   the big tab's watch is new to the journal (a first cycle), and another
              tab of the spreadsheet is read by its plan in the same request
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import pg_takeover, shared_tab
from benchmarks.cycles import FULL_HEADER, SIZE_NEW
from benchmarks.harness import (
    Bench,
    check_run,
    clear_results,
    done_row,
    fmt_mb,
    fmt_s,
    keep_journal,
    median_cpu,
    new_row,
    restore_journal,
    seed_journal,
)
from benchmarks.processes import ProcessRun
from benchmarks.report import Section
from sheetsync.adapters.store.journal import Journal
from sheetsync.core.plan import fingerprint
from sheetsync.testing import AUTOMATION, World

SIZES = (100_000, 200_000)
CASES = ("served", "crash", "batched")
SMALL = 3_000
"""Rows of the batched case's other tab: big enough to be read narrowly by a plan."""


@dataclass
class CaseFigures:
    """`sheetsync once` runs of each case on one sheet size."""

    rows: int
    runs: dict[str, list[ProcessRun]] = field(default_factory=lambda: {c: [] for c in CASES})
    shared: list[ProcessRun] = field(default_factory=list)
    """`once` on a tab two watches share (`shared_tab`)."""
    shared_first: list[ProcessRun] = field(default_factory=list)
    """The same with no journal: a first cycle."""
    takeover: list[ProcessRun] | str = field(default_factory=list)
    """`once` with the PostgreSQL store (a takeover each run), when measured."""


@dataclass
class _Sheet:
    world: World
    pristine: Path
    first_new: int
    last: int


def recovery_cases(bench: Bench, repeats: int, sizes: tuple[int, ...] = SIZES) -> list[CaseFigures]:
    """Each case at each size, the sizes and cases taking turns within a repeat."""
    sheets = [_sheet(bench, n) for n in sizes]
    results = [CaseFigures(n) for n in sizes]
    for _ in range(repeats):
        for sheet, figures in zip(sheets, results, strict=True):
            for case in CASES:
                figures.runs[case].append(_run(bench, sheet, case))
    for sheet in sheets:
        bench.google.delete_spreadsheet(sheet.world.spreadsheet_id)
    admin = pg_takeover.admin_url()
    for figures in results:
        figures.shared, figures.shared_first = shared_tab.shared_runs(bench, figures.rows, repeats)
        if admin is not None:
            figures.takeover = pg_takeover.takeover_runs(bench, admin, figures.rows, repeats)
    return results


def _sheet(bench: Bench, n: int) -> _Sheet:
    """Two tabs of `n` (Queue) and `SMALL` rows, both served (journal and read plans)
    before 10 new rows were typed at Queue's bottom; the journal as it was then."""
    world = bench.world(f"recovery-{n}")
    done = [done_row(i) for i in range(n - SIZE_NEW)]
    fresh = [new_row(i) for i in range(n - SIZE_NEW, n)]
    other = [done_row(n + i) for i in range(SMALL)]
    blank = [[""] * len(r) for r in fresh]
    tabs = {"Queue": [FULL_HEADER, *done, *blank], "Other": [FULL_HEADER, *other]}
    world.spreadsheet_id = bench.google.create_spreadsheet("Queue", tabs)
    world.tab = "Queue"
    world.config({"mode": "row"}, {"mode": "row", "worksheet": "Other"})
    seed_journal(world, "w0", done)
    seed_journal(world, "w1", other)
    check_run(bench.sheetsync("once", world), "sheetsync once (served before)")
    pristine = keep_journal(world)
    first_new, last = n - SIZE_NEW + 2, n + 1
    for offset, row in enumerate(fresh):
        for col, value in enumerate(row, start=1):
            world.google.set_cell(world.spreadsheet_id, world.tab, first_new + offset, col, value)
    return _Sheet(world, pristine, first_new, last)


def _run(bench: Bench, sheet: _Sheet, case: str) -> ProcessRun:
    world = sheet.world
    restore_journal(world, sheet.pristine)
    clear_results(world, sheet.first_new, sheet.last, len(FULL_HEADER))
    if case == "crash":
        _lost_claims(world, sheet)
    elif case == "batched":
        _forget(world, "w0")
    return check_run(bench.sheetsync("once", world), f"sheetsync once ({case})")


def _lost_claims(world: World, sheet: _Sheet) -> None:
    """The 10 new rows claimed in the journal, their claim write never made."""
    journal = Journal(world.folder / "sheetsync.db")
    try:
        claims = []
        for number in range(sheet.first_new, sheet.last + 1):
            inputs = world.google.values(world.spreadsheet_id, world.tab)[number - 1][:2]
            claims.append((f"lost{number:08d}", fingerprint(inputs), AUTOMATION))
        journal.claim("w0", claims, datetime.now(UTC))
    finally:
        journal.close()


def _forget(world: World, watch: str) -> None:
    """The journal as if `watch` had just been added to the config (a first cycle)."""
    with sqlite3.connect(world.folder / "sheetsync.db") as db:
        for table in ("rows", "plans", "watches"):
            db.execute(f"DELETE FROM {table} WHERE watch = ?", (watch,))
    db.close()


def recovery_section(results: list[CaseFigures], repeats: int) -> Section:
    """The cases beside the served cycle of the same sheet."""
    section = Section(
        f"Big sheets: whole reads that are not a first cycle, {SIZE_NEW} new rows "
        f"(median of {repeats})",
        [
            "rows",
            *(f"{c}: CPU / peak RSS" for c in CASES),
            "crash / served CPU",
            "batched / served",
            "shared tab: CPU / peak RSS",
            "shared / served",
            "shared, first cycle: CPU / peak RSS",
            "shared first / served",
            "shared first / shared",
            "PostgreSQL once: wall / CPU / peak RSS",
            "PostgreSQL / served",
        ],
    )
    for f in results:
        cpu = {c: median_cpu(f.runs[c]) for c in CASES}
        cells = [
            f"{fmt_s(cpu[c])} / {fmt_mb(max(r.peak_rss_mb for r in f.runs[c]))}" for c in CASES
        ]
        ratios = [f"{cpu[c] / cpu['served']:.1f}x" for c in ("crash", "batched")]
        for runs in (f.shared, f.shared_first):
            shared = median_cpu(runs)
            ratios += [pg_takeover.cell(runs), f"{shared / cpu['served']:.1f}x"]
        ratios.append(f"{median_cpu(f.shared_first) / median_cpu(f.shared):.1f}x")
        pg = ["not measured", "n/a"]
        if isinstance(f.takeover, str):
            pg = [f.takeover, "n/a"]
        elif f.takeover:
            took = median_cpu(f.takeover)
            pg = [pg_takeover.timed_cell(f.takeover), f"{took / cpu['served']:.1f}x"]
        section.add(f"{f.rows:,}", *cells, *ratios, *pg)
    section.notes += [
        f"A spreadsheet with two served tabs: Queue (the size, 10 new rows) and Other "
        f"({SMALL:,} rows, watch w1). served = `sheetsync once`, both read by their plans. "
        "crash = the journal holds a claim of each new row whose claim write never landed. "
        "batched = Queue's watch is new to the journal: its first read (whole) is in the "
        "request that reads Other by its plan. Peak RSS is the largest of the runs; CPU "
        "is the whole process, start-up included.",
        "shared tab = `sheetsync once` on a tab of the size two watches share (each its "
        "own result columns), both served before, 10 rows new to both: each watch reads it "
        "by its own plan, in one request. shared, first cycle = the same with no journal: "
        "the tab read whole once, walked once for both watches, kept lean for each.",
        f"PostgreSQL once = `sheetsync once` with `[state] url` on a sheet of the size with "
        f"{SIZE_NEW} new rows, served by an earlier `once`: each run takes the spreadsheet "
        f"over (its lease was released), so its cycle reads the tab whole, keeps it lean and "
        f"compares every row's result cells with the journal (measured when "
        f"{pg_takeover.ENV} names a PostgreSQL admin URL). PostgreSQL / served sets it "
        f"beside this table's served cycle (two tabs); issue 14's targets set it beside the "
        f"sheet-size table's (one tab).",
    ]
    return section
