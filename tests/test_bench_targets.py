"""The benchmark's issue 14 rows for the cycles that read a big tab whole."""

from __future__ import annotations

from benchmarks.processes import ProcessRun
from benchmarks.recovery import CaseFigures
from benchmarks.report import Section
from benchmarks.whole_targets import add_rows, cases


def runs(cpu: float, mb: float) -> list[ProcessRun]:
    return [ProcessRun(1.0, mb, cpu, 0, "", ""), ProcessRun(1.0, mb - 1, cpu * 2, 0, "", "")]


def test_each_case_stands_beside_its_own_served_cycle_and_the_worst_decides() -> None:
    figures = CaseFigures(200_000)
    figures.runs = {"served": runs(0.5, 90), "crash": runs(1.0, 138), "batched": runs(1.4, 114)}
    figures.shared, figures.shared_first = runs(0.8, 124), runs(2.0, 137)
    figures.takeover = runs(1.3, 124)
    section = Section("t", ["target", "measured", "met"])
    add_rows(section, 200_000, cases(figures, (runs(1.6, 151), runs(0.5, 91))))
    peak, cpu = section.rows
    assert peak[1].startswith("151 MB (own links)") and peak[2] == "NO"
    assert "crash 138" in peak[1] and "shared first 137" in peak[1]
    # medians: shared first 3.0 s against the shared tab's own 1.2 s, not the one-watch 0.75
    assert "shared first 2.5x" in cpu[1] and "PostgreSQL 2.6x" in cpu[1]
    assert cpu[1].startswith("3.2x (own links)") and cpu[2] == "NO"


def test_cases_within_the_targets_are_met_and_missing_ones_are_left_out() -> None:
    figures = CaseFigures(100_000)
    figures.runs = {"served": runs(0.5, 73), "crash": runs(0.7, 93), "batched": runs(0.9, 82)}
    figures.takeover = "not measured"
    section = Section("t", ["target", "measured", "met"])
    add_rows(section, 100_000, cases(figures, None))
    (peak, cpu) = section.rows
    assert peak[2] == cpu[2] == "yes"
    assert "PostgreSQL" not in cpu[1] and "own links" not in cpu[1]
    add_rows(section, 50_000, cases(figures, None))  # no target at that size
    assert len(section.rows) == 2
