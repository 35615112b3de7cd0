"""`sheetsync once` on a big tab whose rows each show a run link of their own, as row
mode leaves them. The other sections seed every handled row with one shared link (as
batch mode's rows show), which flatters a first cycle: here each link is a string of its
own to keep and to record.

    first    no journal (a lost one, or a sheet new to sheetsync that shows its ids): the
             tab is read whole once and every row is adopted with its own link
    served   the next `once`, 10 rows typed again: the journal knows every row
"""

from __future__ import annotations

from benchmarks.cycles import FULL_HEADER, SIZE_NEW, whole_figures
from benchmarks.harness import (
    DONE_LINK,
    Bench,
    check_run,
    clear_results,
    median_cpu,
    new_row,
    row_id,
)
from benchmarks.processes import ProcessRun
from benchmarks.report import Section


def own_row(i: int) -> list[str]:
    """A row sheetsync handled in row mode: its inputs, `triggered`, its own run link."""
    return [*new_row(i), "triggered", f"{DONE_LINK}/{row_id(i)}", "", row_id(i)]


FirstAndServed = tuple[list[ProcessRun], list[ProcessRun]]
"""(first, served) runs of one sheet size."""


def own_link_runs(bench: Bench, n: int, repeats: int) -> FirstAndServed:
    """(first, served) runs of `once` on an `n`-row tab, 10 of its rows new each time."""
    world = bench.world(f"own-links-{n}")
    rows = [
        *(own_row(i) for i in range(n - SIZE_NEW)),
        *(new_row(i) for i in range(n - SIZE_NEW, n)),
    ]
    world.sheet([FULL_HEADER, *rows])
    world.config({"mode": "row"})
    first_new, last = n - SIZE_NEW + 2, n + 1
    first: list[ProcessRun] = []
    served: list[ProcessRun] = []
    for _ in range(repeats):
        for extra in ("", "-wal", "-shm"):
            (world.folder / f"sheetsync.db{extra}").unlink(missing_ok=True)
        clear_results(world, first_new, last, len(FULL_HEADER))
        first.append(check_run(bench.sheetsync("once", world), "sheetsync once (own links, first)"))
        clear_results(world, first_new, last, len(FULL_HEADER))
        served.append(check_run(bench.sheetsync("once", world), "sheetsync once (own links)"))
    bench.google.delete_spreadsheet(world.spreadsheet_id)
    return first, served


def own_links_section(figures: dict[int, FirstAndServed], repeats: int) -> Section:
    """The table: each size's first and served cycles (`own_link_runs`), their CPU ratio."""
    section = Section(
        f"Big sheets whose rows each show their own run link (median of {repeats})",
        [
            "rows",
            "first cycle: wall / CPU / peak RSS",
            "served: wall / CPU / peak RSS",
            "first / served CPU",
        ],
    )
    for n, (first, served) in sorted(figures.items()):
        ratio = median_cpu(first) / median_cpu(served)
        section.add(f"{n:,}", whole_figures(first), whole_figures(served), f"{ratio:.1f}x")
    section.notes.append(
        "first = `sheetsync once` with no journal: every row is adopted with its own link "
        "(before 496e5c9, a transaction and a history line per row: 20,000 such rows took "
        "23 s in one in-process run); served = the next `once`, the 10 new rows cleared and "
        "typed again"
    )
    return section
