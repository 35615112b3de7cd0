"""`sheetsync once` on a big tab two watches share (each its own result columns, both
sending `url` and `product`), 10 rows new to both watches:

    served   both watches served the sheet before: each reads it by its own plan, in one
             request (a range both ask for, once)
    first    no journal (a sheet new to sheetsync, or a lost journal): the tab is read
             whole once, walked column by column once for both watches and kept lean for
             each
"""

from __future__ import annotations

from benchmarks.cycles import FULL_HEADER, SIZE_NEW
from benchmarks.harness import (
    DONE_LINK,
    INPUTS,
    Bench,
    check_run,
    clear_results,
    done_row,
    keep_journal,
    new_row,
    restore_journal,
    row_id,
    seed_journal,
)
from benchmarks.processes import ProcessRun

SECOND = ["Status 2", "Run link 2", "Message 2", "sheetsync id 2"]
"""The second watch's result columns, right of the first's."""


def shared_runs(bench: Bench, n: int, repeats: int) -> tuple[list[ProcessRun], list[ProcessRun]]:
    """`once` with 10 new rows on an `n`-row tab served by two watches; then the same
    with no journal (a first cycle)."""
    world = bench.world(f"shared-{n}")
    done = [done_row(i) for i in range(n - SIZE_NEW)]
    second = [[*r[:2], "triggered", DONE_LINK, "", row_id(i, "w1")] for i, r in enumerate(done)]
    rows = [[*a, *b[2:]] for a, b in zip(done, second, strict=True)]
    world.sheet([[*FULL_HEADER, *SECOND], *rows, *([""] * 2 for _ in range(SIZE_NEW))])
    columns = dict(zip(("status", "link", "message", "id"), SECOND, strict=True))
    world.config(
        {"mode": "row", "input_columns": INPUTS},
        {"mode": "row", "input_columns": INPUTS, "columns": columns},
    )
    seed_journal(world, "w0", done)
    seed_journal(world, "w1", second)
    check_run(bench.sheetsync("once", world), "sheetsync once (shared, served before)")
    pristine = keep_journal(world)
    first_new, last = n - SIZE_NEW + 2, n + 1
    for offset, row in enumerate(new_row(i) for i in range(n - SIZE_NEW, n)):
        for col, value in enumerate(row, start=1):
            world.google.set_cell(world.spreadsheet_id, world.tab, first_new + offset, col, value)
    runs: list[ProcessRun] = []
    first: list[ProcessRun] = []
    for _ in range(repeats):
        restore_journal(world, pristine)
        clear_results(world, first_new, last, len(FULL_HEADER) + len(SECOND))
        runs.append(check_run(bench.sheetsync("once", world), "sheetsync once (shared)"))
        clear_results(world, first_new, last, len(FULL_HEADER) + len(SECOND))
        for extra in ("", "-wal", "-shm"):
            (world.folder / f"sheetsync.db{extra}").unlink(missing_ok=True)
        first.append(check_run(bench.sheetsync("once", world), "sheetsync once (shared, first)"))
    bench.google.delete_spreadsheet(world.spreadsheet_id)
    return runs, first
