"""`sheetsync once` on a big sheet with the PostgreSQL store: every run is a takeover.

A `once` process acquires the spreadsheet's lease (the last run released it at its end):
that is a takeover (FLEET.md), whose recovery drops the read plans, so its cycle reads
the tab whole (kept lean) and compares every row's result cells with the journal
(`core.reprojection`). Measured against the real PostgreSQL named
by `SHEETSYNC_BENCH_PG` (an admin URL on 127.0.0.1, e.g.
`postgresql://postgres@127.0.0.1:5432/postgres`), in a fresh database dropped afterwards.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

from benchmarks.cycles import FULL_HEADER, SIZE_NEW
from benchmarks.harness import (
    Bench,
    clear_results,
    done_row,
    fmt_mb,
    fmt_s,
    median,
    median_cpu,
    new_row,
)
from benchmarks.processes import ProcessRun

ENV = "SHEETSYNC_BENCH_PG"


def admin_url() -> str | None:
    """The admin URL to create the benchmark's database with, if one is given."""
    return os.environ.get(ENV) or None


def takeover_runs(bench: Bench, admin: str, n: int, repeats: int) -> list[ProcessRun] | str:
    """`once` with 10 new rows on an `n`-row sheet served before by another `once`; or
    why a run failed (how long it ran, the end of its last line)."""
    import psycopg

    name = f"sheetsync_bench_{os.getpid()}_{n}"
    url = urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    try:
        world = bench.world(f"pg-{n}")
        done = [done_row(i) for i in range(n - SIZE_NEW)]
        fresh = [new_row(i) for i in range(n - SIZE_NEW, n)]
        world.sheet([FULL_HEADER, *done, *fresh])
        world.config({"mode": "row"}, state={"url": url})
        try:
            first = bench.sheetsync("once", world)
            if first.exit_code != 0:
                return _failed("the first once", first)
            runs = []
            for _ in range(repeats):
                clear_results(world, n - SIZE_NEW + 2, n + 1, len(FULL_HEADER))
                run = bench.sheetsync("once", world)
                if run.exit_code != 0:
                    return _failed("once", run)
                runs.append(run)
            return runs
        finally:
            bench.google.delete_spreadsheet(world.spreadsheet_id)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _failed(what: str, run: ProcessRun) -> str:
    """How long a failed run ran, and the end of its last line."""
    last = run.stderr.strip().splitlines()[-1][-160:] if run.stderr.strip() else ""
    return f"{what} failed after {run.seconds:.0f} s: {last}"


def cell(runs: list[ProcessRun]) -> str:
    """CPU / peak RSS of the runs, as the recovery table shows them."""
    cpu = median_cpu(runs)
    return f"{fmt_s(cpu)} / {fmt_mb(max(r.peak_rss_mb for r in runs))}"


def timed_cell(runs: list[ProcessRun]) -> str:
    """Wall time / CPU / peak RSS of the runs (medians; the largest peak RSS)."""
    return f"{fmt_s(median([r.seconds for r in runs]))} / {cell(runs)}"
