"""Sheets requests of one cycle by the number of new rows: sheetsync beside the naive loop."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from benchmarks.cycles import FULL_HEADER
from benchmarks.harness import INPUTS, RESULTS, Bench, Requests, fmt_s, new_row
from benchmarks.naive import client, naive_cycle
from benchmarks.report import Section
from sheetsync.testing import TEST_KEY

NEW_ROWS = (1, 100, 10_000)


def requests_per_cycle(bench: Bench) -> Section:
    """Sheets requests of one cycle for 0, 1, 100 and 10,000 new rows, sheetsync and naive."""
    section = Section(
        "Sheets requests per cycle (batch mode; naive: one poll)",
        ["new rows", "sheetsync", "cycle", "naive loop", "naive time", "naive / sheetsync"],
    )
    figures: dict[int, tuple[Requests, float]] = {}
    idle: tuple[Requests, float] | None = None
    for n in NEW_ROWS:
        world = bench.world(f"requests-{n}")
        world.sheet([FULL_HEADER, *(new_row(i) for i in range(n))])
        world.config(
            {"mode": "batch", "max_rows_per_trigger": 10_000}, axiom={"calls_per_minute": 10_000}
        )
        figures[n] = _in_process(bench, world.once)
        if n == NEW_ROWS[-1]:
            idle = _in_process(bench, world.once)
        world.close_runtime()
        bench.google.delete_spreadsheet(world.spreadsheet_id)
    naive = _naive_requests(bench)
    assert idle is not None
    for n, (count, seconds) in [(0, idle), *figures.items()]:
        if n in naive:
            naive_count, naive_seconds = naive[n]
            naive_cells = [str(naive_count), fmt_s(naive_seconds)]
        else:  # 3 writes per row at the emulator's pace would take many minutes: computed
            naive_count = Requests(3, 3 * n, 2)
            naive_cells = [f"{naive_count} (computed)", "n/a"]
        ratio = f"{naive_count.total / count.total:,.0f}x"
        section.add(f"{n:,}", str(count), fmt_s(seconds), *naive_cells, ratio)
    section.notes += [
        "r = Sheets read requests, w = write requests, as counted by the Google emulator "
        "(metadata reads and grid resizes included; none happen here: the header already "
        "has the result columns).",
        "0 new rows: an idle cycle on the 10,000-row sheet after it was handled. sheetsync "
        "runs in-process here; the naive loop is gspread get_all_records() + 3 update_cell() "
        "per row (open_by_key and worksheet() each fetch metadata).",
    ]
    return section


def _in_process(bench: Bench, cycle: Callable[[], object]) -> tuple[Requests, float]:
    before = bench.counters()
    began = time.perf_counter()
    cycle()
    return bench.since(before), time.perf_counter() - began


def _naive_requests(bench: Bench) -> dict[int, tuple[Requests, float]]:
    out: dict[int, tuple[Requests, float]] = {}
    for n in (1, 100):
        world = bench.world(f"naive-requests-{n}")
        world.sheet([[*INPUTS, *RESULTS], *(new_row(i) for i in range(n))])
        gc = client(str(world.folder / "service-account.json"), bench.google.root_url)
        poll = functools.partial(
            naive_cycle,
            gc,
            world.spreadsheet_id,
            world.tab,
            bench.axiom.root_url + "/api/v3",
            TEST_KEY,
        )
        out[n] = _in_process(bench, poll)
        if n == 100:
            out[0] = _in_process(bench, poll)
        bench.google.delete_spreadsheet(world.spreadsheet_id)
    return out
